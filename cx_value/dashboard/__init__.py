"""A static, self-contained HTML dashboard of the published marts (``cx-value dashboard``)."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from cx_value.dashboard import charts, data
from cx_value.dashboard.data import NoData
from cx_value.dashboard.page import (
    UNKNOWN,
    Card,
    Column,
    Tile,
    date,
    fraction_percent,
    money,
    number,
    percent,
    render_page,
    table_html,
    text,
)

__all__ = ["build_page", "write_dashboard"]

REASONS = {"fresh_detractor": "new detractor", "open_complaint": "open complaint",
           "activity_drop": "activity drop"}
TYPES = {"b2c": "one-off buyers (B2C)", "b2b": "subscribers (B2B)"}


def write_dashboard(database: Path, out: Path) -> Path:
    """Read the public marts of ``database`` (read-only) and write the dashboard to ``out``.

    The file is written beside ``out`` and renamed onto it, so a reader never opens a
    half-written page. Returns ``out``.
    """
    page = build_page(data.read_marts(database), source=database.name)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    partial.write_text(page, encoding="utf-8")
    partial.replace(out)
    return out


def build_page(frames: dict[str, pd.DataFrame | None], source: str,
               generated_at: datetime | None = None) -> str:
    """The dashboard HTML from the mart frames of ``data.read_marts``."""
    generated_at = generated_at or datetime.now(UTC)
    stage = data.stage_scores(frames.get("mart_stage_scores"))
    roi = data.roi_monthly(frames.get("mart_cx_roi_monthly"))
    value = data.cx_value(frames.get("mart_cx_value"))
    warnings_all = frames.get("mart_early_warnings")
    tiles = [
        *_score_tiles(stage),
        *_roi_tiles(roi, frames.get("mart_cx_roi_monthly")),
        _stake_tile(value),
        _warning_tile(warnings_all),
    ]
    window = stage.window if isinstance(stage, data.StageScores) else "the last 12 months"
    cards = [
        Card("stage-scores", "How customers rate each journey stage",
             f"Survey answers of {window}, all segments pooled. The whiskers are 95 % "
             "intervals (adjusted Wald for NPS, Wilson for the shares); hollow points rest on "
             "fewer than 30 answers, too few to rely on.",
             charts.stage_scores(stage) if isinstance(stage, data.StageScores) else stage),
        _card("funnel", "The journey: who gets how far",
              "Customers with any touchpoint in a stage, and the share who then reached the "
              "next stage, per segment over the whole history. Customers still inside a "
              "stage count as not (yet) moved on.",
              data.funnel(frames.get("mart_stage_conversion")), charts.funnel),
        _card("friction", "Where the journey hurts",
              "Touchpoints with a survey attached, by the share of negative experiences "
              "(the mart's definition); colour = journey stage. Touchpoints without a "
              "survey are not scored, so they are not shown.",
              data.friction(frames.get("mart_touchpoint_friction")), charts.friction,
              wide=False),
        _card("cx-value", "What a better experience is worth",
              "Customers banded by their last relationship-survey answer before the year "
              "and followed through it. Whiskers: the mart's 95 % intervals; hollow bars "
              "rest on too few customers.",
              value, charts.cx_value, wide=False,
              facts=_value_facts(value) if not isinstance(value, NoData) else ""),
        _card("roi", "Return on customer experience, month by month",
              "Net revenue, the cost of discounts and the 12-month value of contracts "
              "lost, with NPS below. All segments added up; a month without the data is "
              "a gap, never a zero. Hollow points: the observation month, not over yet.",
              roi, charts.roi_monthly),
        _table_card("early-warnings", "Early warnings: who to call first",
                    "Customers showing a warning signal on the observation date, ranked by "
                    "the value at stake (the mart's priority).",
                    data.early_warnings(warnings_all), WARNING_COLUMNS,
                    facts=_warning_facts(warnings_all)),
        _card("cev", "Customer engagement value",
              "Customers by engagement value (lifetime, referral, influence, knowledge "
              "and visitor value of the next 12 months), stacked by value tier.",
              data.cev_histogram(frames.get("fct_customer_engagement_value")),
              charts.cev_histogram, wide=False,
              facts=_cev_facts(frames.get("fct_customer_engagement_value"))),
        _table_card("priority", "Priority list: customers to invest in",
                    "The top of the engagement-value priority list (value, social value, "
                    "recommendation and strategic potential).",
                    data.priority_list(frames.get("fct_customer_engagement_value")),
                    PRIORITY_COLUMNS, wide=False),
    ]
    as_of = _as_of(frames)
    subtitle = (f"Observation date {as_of} · published warehouse {source}" if as_of
                else f"Published warehouse {source}")
    footer = (f"Generated {generated_at:%Y-%m-%d %H:%M} UTC from the public marts of {source}. "
              "Amounts are in the reporting currency. Customers appear by id only.")
    return render_page("Customer experience and value", subtitle, tiles, cards, footer,
                       generated_at)


def _card(key: str, title: str, subtitle: str, prepared: pd.DataFrame | NoData, chart,
          wide: bool = True, facts: str = "") -> Card:
    body = prepared if isinstance(prepared, NoData) else chart(prepared)
    return Card(key, title, subtitle, body, wide, facts)


def _table_card(key: str, title: str, subtitle: str, prepared: pd.DataFrame | NoData,
                columns: list[Column], wide: bool = True, facts: str = "") -> Card:
    body = prepared if isinstance(prepared, NoData) else table_html(prepared, columns)
    return Card(key, title, subtitle, body, wide, facts)


WARNING_COLUMNS = [
    Column("#", "priority_rank", lambda v: number(v, 0), numeric=True),
    Column("Customer", "customer_id", text),
    Column("Signal", "reason", lambda v: REASONS.get(v, text(v))),
    Column("Since", "reason_date", date),
    Column("What happened", "detail", text),
    Column("Segment", "segment", text),
    Column("Value at stake", "value_at_stake", money, numeric=True),
    Column("Churn probability", "churn_probability", fraction_percent, numeric=True),
]
PRIORITY_COLUMNS = [
    Column("#", "priority_rank", lambda v: number(v, 0), numeric=True),
    Column("Customer", "customer_id", text),
    Column("Segment", "segment", text),
    Column("Tier", "value_tier", text),
    Column("CEV", "cev", money, numeric=True),
    Column("Latest NPS", "latest_nps_class", text),
    Column("Score", "priority_score", lambda v: number(v, 2), numeric=True),
]


def _missing_tile(label: str, reason: str) -> Tile:
    return Tile(label, "no data", reason, is_missing=True)


def _score_tiles(stage: data.StageScores | NoData) -> list[Tile]:
    if isinstance(stage, NoData):
        return [_missing_tile("NPS", stage.reason), _missing_tile("CSAT", stage.reason)]
    overall = data.overall_scores(stage)
    tiles = []
    if stage.nps is None:
        tiles.append(Tile("NPS, last 12 months", f"{overall['nps']:+.0f}",
                          f"95 % interval {overall['nps_lower']:+.0f} to "
                          f"{overall['nps_upper']:+.0f} · {overall['nps_respondents']:,.0f} "
                          "answers"))
    else:
        tiles.append(_missing_tile("NPS", stage.nps.reason))
    if stage.csat is None:
        tiles.append(Tile("Satisfied (CSAT)", percent(overall["csat_share"]),
                          f"answers 4\u20135 of 5 · {overall['csat_respondents']:,.0f} answers, "
                          "last 12 months"))
    else:
        tiles.append(_missing_tile("CSAT", stage.csat.reason))
    return tiles


def _roi_tiles(roi: pd.DataFrame | NoData, raw: pd.DataFrame | None) -> list[Tile]:
    if isinstance(roi, NoData):
        return [_missing_tile("Net revenue", roi.reason),
                _missing_tile("Contracts lost", roi.reason)]
    assert raw is not None
    recent = roi[data.window_months(roi["month_start_date"], roi["is_partial_month"],
                                    data.SCORE_WINDOW_MONTHS)]
    revenue, discount = (data.sum_known(recent["net_revenue"]),
                         data.sum_known(recent["discount_cost"]))
    churned = data.sum_known(recent["churned_customers"])
    churned_value = data.sum_known(recent["churned_contract_value_12m"])
    tiles = []
    if pd.isna(revenue):
        tiles.append(_missing_tile("Net revenue", "no orders in the export"))
    else:
        tiles.append(Tile("Net revenue, last 12 months", _compact(revenue),
                          f"discount cost {_compact(discount)}"))
    if pd.isna(churned):
        tiles.append(_missing_tile("Contracts lost", "no contract terms in the export"))
    else:
        tiles.append(Tile("Contracts lost, last 12 months", f"{churned:,.0f}",
                          f"worth {_compact(churned_value)} a year"))
    return tiles


def _stake_tile(value: pd.DataFrame | NoData) -> Tile:
    if isinstance(value, NoData):
        return _missing_tile("Revenue at stake", value.reason)
    per_type = data.type_level(value)
    total = data.sum_known(per_type["revenue_at_stake"])
    if pd.isna(total):
        return _missing_tile("Revenue at stake", "no band comparison possible")
    return Tile("Revenue at stake, per year", _compact(total),
                "if the worst CX band spent and renewed like the middle band")


def _warning_tile(warnings: pd.DataFrame | None) -> Tile:
    if warnings is None or warnings.empty:
        reason = ("mart_early_warnings is not in the database" if warnings is None
                  else "no warning signal on the observation date")
        return Tile("Early warnings", "0" if warnings is not None else "no data", reason,
                    is_missing=warnings is None)
    customers = warnings.drop_duplicates("customer_id")
    return Tile("Customers with a warning", f"{len(customers):,}",
                f"{_compact(data.sum_known(customers['value_at_stake']))} of value at stake")


def _warning_facts(warnings: pd.DataFrame | None) -> str:
    if warnings is None or warnings.empty:
        return ""
    counts = warnings["reason"].value_counts()
    parts = [f"<span><b>{n:,}</b> {html.escape(REASONS.get(r, r))}</span>"
             for r, n in counts.items()]
    return f'<div class="facts">{"".join(parts)}</div>'


def _value_facts(value: pd.DataFrame) -> str:
    parts = []
    for row in data.type_level(value).to_dict("records"):
        kind = TYPES.get(row["customer_type"], row["customer_type"])
        if row["customer_type"] == "b2b":
            diff = row["renewal_rate_difference_best_worst"]
            lead = ("renewal best vs worst: <b>" + (
                UNKNOWN if pd.isna(diff) else f"{100 * diff:+.0f} points") + "</b>")
        else:
            lead = ("spend best vs worst: <b>" + (
                UNKNOWN if pd.isna(row["spend_uplift_pct"]) else
                f"{row['spend_uplift_pct']:+.0f} %</b> (95 % interval "
                f"{row['spend_uplift_lower_pct']:+.0f} to "
                f"{row['spend_uplift_upper_pct']:+.0f} %)") + ("" if not pd.isna(
                    row["spend_uplift_pct"]) else "</b>"))
        stake = (UNKNOWN if pd.isna(row["revenue_at_stake"])
                 else _compact(row["revenue_at_stake"]))
        parts.append(f"<span>{html.escape(kind)}: {lead}; at stake <b>{stake}</b> a "
                     "year</span>")
    return f'<div class="facts">{"".join(parts)}</div>'


def _cev_facts(frame: pd.DataFrame | None) -> str:
    if frame is None or frame["cev"].notna().sum() == 0:
        return ""
    known = frame["cev"].dropna()
    unknown = int(frame["cev"].isna().sum())
    extra = f"; {unknown:,} without a known CEV, not shown" if unknown else ""
    return (f'<div class="facts"><span>median <b>{_compact(known.median())}</b></span>'
            f"<span>top 5 % hold <b>{_top_share(known, 0.05):.0f} %</b> of the total"
            f"</span><span>{len(known):,} customers{html.escape(extra)}</span></div>")


def _top_share(values: pd.Series, share: float) -> float:
    ordered = values.sort_values(ascending=False)
    top = ordered.head(max(1, round(len(ordered) * share)))
    total = ordered.sum()
    return float(100 * top.sum() / total) if total else float("nan")


def _compact(value: float) -> str:
    if pd.isna(value):
        return UNKNOWN
    sign = "\u2212" if value < 0 else ""
    value = abs(value)
    for size, suffix in ((1e9, "bn"), (1e6, "m"), (1e3, "k")):
        if value >= size:
            return f"{sign}{value / size:,.1f}{suffix}"
    return f"{sign}{value:,.0f}"


def _as_of(frames: dict[str, pd.DataFrame | None]) -> str | None:
    for mart in ("mart_early_warnings", "fct_customer_engagement_value", "mart_cx_roi_monthly"):
        frame = frames.get(mart)
        if frame is not None and not frame.empty and "as_of_date" in frame:
            return date(frame["as_of_date"].dropna().max())
    return None
