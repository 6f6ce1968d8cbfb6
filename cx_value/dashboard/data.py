"""The dashboard's data: the public marts read from the published database, and the
small preparations each chart needs.

Every figure comes from a mart column or from counts summed over a mart's rows. Where
counts are pooled (several months or segments into one stage), the score and its
interval are recomputed with ``cx_value.scores``, the Python twin of the SQL macros the
marts use, so the dashboard and the marts share one definition. A chart whose data is
absent gets a ``NoData`` with the reason instead of a frame: unobserved is never drawn
as 0.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from cx_value import scores

MART_SCHEMA = "marts"
MARTS = (
    "mart_stage_scores",
    "mart_stage_conversion",
    "mart_touchpoint_friction",
    "mart_cx_value",
    "mart_cx_roi_monthly",
    "mart_early_warnings",
    "fct_customer_engagement_value",
)
SCORE_WINDOW_MONTHS = 12
TOP_ROWS = 15


@dataclass(frozen=True)
class NoData:
    """Why a chart has nothing to show, in words a reader understands."""

    reason: str


def read_marts(database: Path, marts: tuple[str, ...] = MARTS) -> dict[str, pd.DataFrame | None]:
    """Each mart as a frame (None when the database has no such table), read through a
    read-only connection so a running dashboard never locks a build out."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        present = {
            name for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = ?",
                [MART_SCHEMA],
            ).fetchall()
        }
        frames: dict[str, pd.DataFrame | None] = {}
        for mart in marts:
            if mart not in present:
                frames[mart] = None
                continue
            frame = con.execute(f'select * from "{MART_SCHEMA}"."{mart}"').df()
            frames[mart] = plain_numbers(frame)
        return frames
    finally:
        con.close()


def plain_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """Numbers as float64 with NaN for unknown. Money arrives as Python Decimals (exact in
    the warehouse) and a count column with nulls as a nullable integer whose pd.NA numpy
    cannot compute with; charts and the score functions need plain floats."""
    for column in frame.columns:
        values = frame[column]
        is_decimal = values.dtype == object and values.map(
            lambda v: v.__class__.__name__ == "Decimal").any()
        is_nullable_number = (isinstance(values.dtype, pd.api.extensions.ExtensionDtype)
                              and pd.api.types.is_numeric_dtype(values.dtype)
                              and not pd.api.types.is_bool_dtype(values.dtype))
        if is_decimal or is_nullable_number:
            frame[column] = pd.to_numeric(values, errors="coerce").astype("float64")
    return frame


def _missing(frame: pd.DataFrame | None, mart: str, needs: str) -> NoData | None:
    if frame is None:
        return NoData(f"{mart} is not in the database")
    if frame.empty:
        return NoData(f"{mart} has no rows: the export has no {needs}")
    return None


def sum_known(series: pd.Series) -> float:
    """Sum that stays unknown (NaN) when every value is unknown, instead of pandas' 0."""
    total = series.sum(min_count=1)
    return float("nan") if pd.isna(total) else float(total)


def window_bounds(months: pd.Series, as_of_flags: pd.Series | None, size: int
                  ) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last month of the ``size`` calendar months ending with the observation
    month (the row flagged as such, else the latest month)."""
    month = pd.to_datetime(months)
    if as_of_flags is not None and bool(as_of_flags.fillna(False).any()):
        last = month[as_of_flags.fillna(False).astype(bool)].max()
    else:
        last = month.max()
    return last - pd.DateOffset(months=size - 1), last


def window_months(months: pd.Series, as_of_flags: pd.Series | None, size: int) -> pd.Series:
    """Rows of the window of ``window_bounds``."""
    first, last = window_bounds(months, as_of_flags, size)
    month = pd.to_datetime(months)
    return (month >= first) & (month <= last)


@dataclass(frozen=True)
class StageScores:
    """NPS, CSAT share and CES easy share per journey stage, pooled over the window, with
    their 95 % intervals; a metric nobody answered in the window is a NoData."""

    frame: pd.DataFrame
    window: str
    nps: NoData | None
    csat: NoData | None
    ces: NoData | None


def stage_scores(frame: pd.DataFrame | None, months: int = SCORE_WINDOW_MONTHS
                 ) -> StageScores | NoData:
    """Pool mart_stage_scores' counts per stage over the last ``months`` months."""
    missing = _missing(frame, "mart_stage_scores", "survey answers")
    if missing:
        return missing
    assert frame is not None
    recent = frame[window_months(frame["month_start_date"], frame.get("is_as_of_month"), months)]
    counts = ["nps_respondents", "promoters", "detractors", "csat_respondents",
              "csat_satisfied_count", "ces_respondents", "ces_easy_count"]
    recent = recent.assign(ces_sum=recent["ces_mean"].fillna(0) * recent["ces_respondents"])
    pooled = (recent.groupby(["stage_number", "stage"], as_index=False)[[*counts, "ces_sum"]]
              .sum().sort_values("stage_number"))
    if pooled[["nps_respondents", "csat_respondents", "ces_respondents"]].to_numpy().sum() == 0:
        return NoData(f"no survey answers in the last {months} months")
    interval = scores.nps_interval(pooled["promoters"], pooled["detractors"],
                                   pooled["nps_respondents"])
    csat_ci = scores.wilson_interval(pooled["csat_satisfied_count"], pooled["csat_respondents"])
    ces_ci = scores.wilson_interval(pooled["ces_easy_count"], pooled["ces_respondents"])
    pooled = pooled.assign(
        nps=scores.nps(pooled["promoters"], pooled["detractors"], pooled["nps_respondents"]),
        nps_lower=interval.lower, nps_upper=interval.upper,
        csat_share=scores.csat_share(pooled["csat_satisfied_count"], pooled["csat_respondents"]),
        csat_share_lower=csat_ci.lower, csat_share_upper=csat_ci.upper,
        ces_share=scores.ces_share(pooled["ces_easy_count"], pooled["ces_respondents"]),
        ces_share_lower=ces_ci.lower, ces_share_upper=ces_ci.upper,
        ces_mean=scores.score_mean(pooled["ces_sum"], pooled["ces_respondents"]),
        is_nps_too_small=pooled["nps_respondents"] < scores.MIN_SAMPLE_SIZE,
        is_csat_too_small=pooled["csat_respondents"] < scores.MIN_SAMPLE_SIZE,
        is_ces_too_small=pooled["ces_respondents"] < scores.MIN_SAMPLE_SIZE,
    ).drop(columns="ces_sum")
    first, last = window_bounds(frame["month_start_date"], frame.get("is_as_of_month"), months)
    window = f"{first:%b %Y} \u2013 {last:%b %Y}"

    def absent(column: str, what: str) -> NoData | None:
        if pooled[column].sum() == 0:
            return NoData(f"no {what} answers in the last {months} months")
        return None

    return StageScores(pooled.reset_index(drop=True), window,
                       absent("nps_respondents", "NPS"), absent("csat_respondents", "CSAT"),
                       absent("ces_respondents", "CES"))


def overall_scores(prepared: StageScores) -> dict[str, float]:
    """NPS and CSAT share over every stage of the window, with the NPS interval."""
    f = prepared.frame
    p, d, n = f["promoters"].sum(), f["detractors"].sum(), f["nps_respondents"].sum()
    interval = scores.nps_interval(p, d, n)
    c_s, c_n = f["csat_satisfied_count"].sum(), f["csat_respondents"].sum()
    return {
        "nps": float(scores.nps(p, d, n)), "nps_lower": float(interval.lower),
        "nps_upper": float(interval.upper), "nps_respondents": float(n),
        "csat_share": float(scores.csat_share(c_s, c_n)), "csat_respondents": float(c_n),
    }


def funnel(frame: pd.DataFrame | None) -> pd.DataFrame | NoData:
    """mart_stage_conversion as it is (one row per stage pair and segment), in journey
    order; conversion stays null where nobody reached the stage."""
    missing = _missing(frame, "mart_stage_conversion", "two adjacent journey stages")
    if missing:
        return missing
    assert frame is not None
    out = frame.sort_values(["stage_number", "segment"]).reset_index(drop=True)
    return out.assign(step=out["stage"] + " → " + out["next_stage"])


def friction(frame: pd.DataFrame | None) -> pd.DataFrame | NoData:
    """Touchpoints that carry scores, worst first. Unscored touchpoints (no survey tied to
    them) have no negative share and are left out, not drawn as 0 %."""
    missing = _missing(frame, "mart_touchpoint_friction", "touchpoints")
    if missing:
        return missing
    assert frame is not None
    scored = frame[frame["scored_touchpoints"].fillna(0) > 0]
    if scored.empty:
        return NoData("no touchpoint carries a survey score (no survey answers)")
    return scored.sort_values("negative_share", ascending=True).reset_index(drop=True)


def cx_value(frame: pd.DataFrame | None) -> pd.DataFrame | NoData:
    """mart_cx_value in band order; its intervals are the mart's own columns."""
    missing = _missing(frame, "mart_cx_value", "relationship-survey answers before the window")
    if missing:
        return missing
    assert frame is not None
    return frame.sort_values(["customer_type", "cx_band_number"]).reset_index(drop=True)


def type_level(frame: pd.DataFrame) -> pd.DataFrame:
    """The per-type figures (uplift, revenue at stake): the same on every band row of a
    type, so one row per type."""
    columns = ["customer_type", "spend_uplift_pct", "spend_uplift_lower_pct",
               "spend_uplift_upper_pct", "spend_uplift_per_customer",
               "renewal_rate_difference_best_worst", "spend_at_stake", "renewal_at_stake",
               "revenue_at_stake", "banded_customers", "unbanded_customers",
               "window_start_date", "window_end_date"]
    return frame[columns].drop_duplicates("customer_type").reset_index(drop=True)


ROI_SUMS = ("nps_respondents", "promoters", "detractors", "net_revenue", "discount_cost",
            "margin", "churned_customers", "churned_contract_value_12m", "churned_revenue_12m")


def roi_monthly(frame: pd.DataFrame | None) -> pd.DataFrame | NoData:
    """mart_cx_roi_monthly summed over segments per month (its counts and money add up);
    a column unknown in every segment of a month stays unknown. NPS per month is
    recomputed from the summed counts with its interval."""
    missing = _missing(frame, "mart_cx_roi_monthly", "orders, survey answers or contracts")
    if missing:
        return missing
    assert frame is not None
    grouped = frame.groupby("month_start_date")
    monthly = pd.DataFrame({column: grouped[column].agg(sum_known) for column in ROI_SUMS})
    if monthly.isna().all().all():
        return NoData("no orders, survey answers or contract terms in the export")
    monthly["is_partial_month"] = grouped["is_partial_month"].any()
    monthly = monthly.reset_index().sort_values("month_start_date")
    interval = scores.nps_interval(monthly["promoters"], monthly["detractors"],
                                   monthly["nps_respondents"])
    monthly["nps"] = scores.nps(monthly["promoters"], monthly["detractors"],
                                monthly["nps_respondents"])
    monthly["nps_lower"] = interval.lower
    monthly["nps_upper"] = interval.upper
    return monthly.reset_index(drop=True)


def _first_by_priority(frame: pd.DataFrame | None, mart: str, what: str,
                       top: int) -> pd.DataFrame | NoData:
    """The first ``top`` rows of ``mart`` by its ``priority_rank``."""
    missing = _missing(frame, mart, what)
    if missing:
        return missing
    assert frame is not None
    return frame.sort_values("priority_rank").head(top).reset_index(drop=True)


def early_warnings(frame: pd.DataFrame | None, top: int = TOP_ROWS) -> pd.DataFrame | NoData:
    """The first ``top`` warnings by the mart's priority rank."""
    return _first_by_priority(frame, "mart_early_warnings",
                              "warning signals on the observation date", top)


def cev_histogram(frame: pd.DataFrame | None) -> pd.DataFrame | NoData:
    """Customers per CEV range and value tier. CEV spans orders of magnitude, so the ranges
    grow tenfold (0, under 1, 1 to 10, 10 to 100, ...); customers without a known CEV are not in
    any range."""
    missing = _missing(frame, "fct_customer_engagement_value", "customers")
    if missing:
        return missing
    assert frame is not None
    known = frame[frame["cev"].notna()]
    if known.empty:
        return NoData("no customer has a known engagement value")
    top = max(1, int(np.ceil(np.log10(max(known["cev"].max(), 1.0)))))
    edges = [10.0**k for k in range(0, top + 1)]
    labels = ["0", "under 1"] + [_range_label(lo, hi) for lo, hi in itertools.pairwise(edges)]

    def bin_of(value: float) -> str:
        if value == 0:
            return "0"
        if value < 1:
            return "under 1"
        k = min(int(np.floor(np.log10(value))), top - 1)
        return labels[2 + k]

    binned = known.assign(cev_range=known["cev"].map(bin_of))
    counts = (binned.groupby(["cev_range", "value_tier"]).size().rename("customers")
              .reset_index())
    counts["cev_range"] = pd.Categorical(counts["cev_range"], categories=labels, ordered=True)
    counts = counts.sort_values("cev_range").reset_index(drop=True)
    counts.attrs["unknown_customers"] = int(frame["cev"].isna().sum())
    counts.attrs["ranges"] = labels
    return counts


def _range_label(low: float, high: float) -> str:
    return f"{_short(low)}\u2013{_short(high)}"


def _short(value: float) -> str:
    for size, suffix in ((1e9, "bn"), (1e6, "m"), (1e3, "k")):
        if value >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"


def priority_list(frame: pd.DataFrame | None, top: int = TOP_ROWS) -> pd.DataFrame | NoData:
    """The first ``top`` customers of the engagement-value priority list."""
    return _first_by_priority(frame, "fct_customer_engagement_value", "customers", top)
