"""Plotly figures of the dashboard, one function per chart, from prepared frames.

One look throughout: a colour per journey stage, per segment, per CX band and per
money measure, the same wherever it appears; hollow markers for figures on fewer than
``cx_value.scores.MIN_SAMPLE_SIZE`` answers.
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cx_value.dashboard.data import StageScores
from cx_value.dashboard.page import UNKNOWN

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
STAGE_COLOURS = {
    "awareness": "#56B4E9", "consideration": "#0072B2", "purchase": "#009E73",
    "onboarding": "#E69F00", "usage": "#CC79A7", "service": "#D55E00", "renewal": "#7F7F7F",
}
SEGMENT_COLOURS = {"consumer": "#56B4E9", "smb": "#E69F00", "enterprise": "#0072B2"}
BAND_COLOURS = {"worst": "#D55E00", "middle": "#B0B0B0", "best": "#009E73"}
MEASURE_COLOURS = {
    "net_revenue": "#0072B2", "discount_cost": "#E69F00", "churned": "#D55E00",
    "nps": "#6A3D9A",
}
TIER_COLOURS = {"bronze": "#C08552", "silver": "#9E9E9E", "gold": "#E6B800",
                "platinum": "#4B6C8F", "unknown": "#DDDDDD"}
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
GRID = "#E5E7EB"


def _style(fig: go.Figure, height: int, top: int = 40) -> go.Figure:
    fig.update_layout(
        height=height, margin={"l": 60, "r": 20, "t": top, "b": 50},
        font={"family": FONT, "size": 13, "color": "#1F2937"},
        paper_bgcolor="white", plot_bgcolor="white",
        # the legend sits in the top margin, above any subplot title
        legend={"orientation": "h", "yref": "container", "yanchor": "top", "y": 0.995,
                "x": 0},
        hoverlabel={"font": {"family": FONT}},
    )
    fig.update_xaxes(showgrid=False, linecolor="#9CA3AF", ticks="outside")
    fig.update_yaxes(gridcolor=GRID, zerolinecolor="#9CA3AF")
    return fig


def _sub_title_size(fig: go.Figure) -> None:
    for annotation in fig.layout.annotations:
        annotation.font = {"size": 14, "family": FONT, "color": "#374151"}


def stage_scores(prepared: StageScores) -> go.Figure:
    """Three panels, NPS, CSAT and CES per stage, each point with its 95 % interval."""
    panels = (
        ("nps", "NPS (\u2212100 to 100)", "nps_respondents", "is_nps_too_small", prepared.nps),
        ("csat_share", "CSAT: satisfied, % (4\u20135 of 5)", "csat_respondents",
         "is_csat_too_small", prepared.csat),
        ("ces_share", "CES: found it easy, % (5\u20137 of 7)", "ces_respondents",
         "is_ces_too_small", prepared.ces),
    )
    fig = make_subplots(rows=1, cols=3, subplot_titles=[p[1] for p in panels],
                        horizontal_spacing=0.07)
    frame = prepared.frame
    stages = list(frame["stage"])
    for col, (column, _title, n_column, small_column, absent) in enumerate(panels, start=1):
        if absent is not None:
            _panel_note(fig, col, f"no data: {absent.reason}")
            continue
        lower, upper = frame[f"{column}_lower"], frame[f"{column}_upper"]
        if column == "nps":
            lower, upper = frame["nps_lower"], frame["nps_upper"]
        hover = [
            f"<b>{s}</b><br>{_fmt(v, 1)} (95 % interval {_fmt(lo, 1)} to {_fmt(hi, 1)})"
            f"<br>{int(n):,} answers" + (" — too few to rely on" if small else "")
            for s, v, lo, hi, n, small in zip(stages, frame[column], lower, upper,
                                              frame[n_column], frame[small_column],
                                              strict=True)
        ]
        colours = [STAGE_COLOURS.get(s, "#555") for s in stages]
        fig.add_trace(go.Scatter(
            x=stages, y=frame[column], mode="markers", name=_title,
            error_y={"type": "data", "symmetric": False, "array": upper - frame[column],
                     "arrayminus": frame[column] - lower, "color": "#6B7280",
                     "thickness": 1.5, "width": 6},
            marker={"size": 12, "color": ["white" if s else c for s, c in
                                          zip(frame[small_column], colours, strict=True)],
                    "line": {"width": 2.5, "color": colours}},
            hovertext=hover, hoverinfo="text", showlegend=False,
        ), row=1, col=col)
        # a stage nobody was asked about is named, not drawn at 0
        for stage, n in zip(stages, frame[n_column], strict=True):
            if n == 0:
                fig.add_annotation(x=stage, y=0 if column == "nps" else 50, text="not asked",
                                   showarrow=False, textangle=-90,
                                   font={"size": 11, "color": "#9CA3AF"}, row=1, col=col)
    fig.update_yaxes(range=[-100, 100], row=1, col=1)
    fig.update_yaxes(range=[0, 100], ticksuffix=" %", row=1, col=2)
    fig.update_yaxes(range=[0, 100], ticksuffix=" %", row=1, col=3)
    fig.update_xaxes(categoryorder="array", categoryarray=stages, tickangle=-35)
    _style(fig, 380)
    _sub_title_size(fig)
    return fig


def _panel_note(fig: go.Figure, col: int, text: str) -> None:
    suffix = "" if col == 1 else str(col)
    fig.add_annotation(x=0.5, y=0.5, xref=f"x{suffix} domain", yref=f"y{suffix} domain",
                       text=text, showarrow=False, font={"size": 13, "color": "#6B7280"})
    fig.update_xaxes(visible=False, row=1, col=col)
    fig.update_yaxes(visible=False, row=1, col=col)


def funnel(frame: pd.DataFrame) -> go.Figure:
    """Left: customers reaching each stage; right: the share who moved on to the next."""
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1, subplot_titles=(
        "Customers who reached the stage", "Moved on to the next stage, %"))
    steps = list(dict.fromkeys(frame["step"]))
    stages = list(dict.fromkeys(frame["stage"]))
    for segment in _ordered(frame["segment"], SEGMENT_COLOURS):
        rows = frame[frame["segment"] == segment]
        colour = SEGMENT_COLOURS.get(segment, "#555")
        fig.add_trace(go.Bar(
            x=rows["stage"], y=rows["customers_reached"], name=segment,
            marker_color=colour, legendgroup=segment,
            hovertemplate="%{x}: %{y:,} " + segment + " customers<extra></extra>",
        ), row=1, col=1)
        median_days = rows["days_to_next_stage_median"]
        fig.add_trace(go.Bar(
            x=rows["step"], y=rows["conversion_rate"] * 100, name=segment,
            marker_color=colour, legendgroup=segment, showlegend=False,
            customdata=list(zip(rows["customers_converted"], rows["customers_reached"],
                                median_days.map(lambda d: _fmt(d, 0)), strict=True)),
            hovertemplate=("%{x} (" + segment + "): %{y:.1f} %<br>%{customdata[0]:,} of "
                           "%{customdata[1]:,}; median %{customdata[2]} days<extra></extra>"),
        ), row=1, col=2)
    fig.update_xaxes(categoryorder="array", categoryarray=stages, row=1, col=1)
    fig.update_xaxes(categoryorder="array", categoryarray=steps, tickangle=-30, row=1, col=2)
    fig.update_yaxes(title_text="customers", row=1, col=1)
    fig.update_yaxes(range=[0, 100], ticksuffix=" %", row=1, col=2)
    fig.update_layout(barmode="group")
    _style(fig, 420, top=80)
    _sub_title_size(fig)
    return fig


def friction(frame: pd.DataFrame) -> go.Figure:
    """Share of negative experiences per scored touchpoint, worst at the top."""
    labels = [f"{s} · {(n or t).replace('_', ' ')}" for s, t, n in
              zip(frame["stage"], frame["touchpoint_type"], frame["touchpoint_name"],
                  strict=True)]
    colours = [STAGE_COLOURS.get(s, "#555") for s in frame["stage"]]
    fig = go.Figure(go.Bar(
        y=labels, x=frame["negative_share"], orientation="h", marker_color=colours,
        text=[f"{v:.0f} %" for v in frame["negative_share"]], textposition="outside",
        customdata=list(zip(frame["scored_touchpoints"],
                            frame["detractor_share"].map(lambda v: _fmt(v, 0)),
                            frame["expectation_gap_mean"].map(lambda v: _fmt(v, 2)),
                            strict=True)),
        hovertemplate=("%{y}: %{x:.1f} % negative<br>%{customdata[0]:,} scored touchpoints; "
                       "detractors %{customdata[1]} %; expectation gap %{customdata[2]}"
                       "<extra></extra>"),
        showlegend=False,
    ))
    fig.update_xaxes(title_text="negative experiences, % of scored touchpoints",
                     range=[0, 105], ticksuffix=" %", showgrid=True, gridcolor=GRID)
    _style(fig, max(260, 60 + 34 * len(frame)))
    fig.update_layout(margin={"l": 230})
    return fig


def cx_value(frame: pd.DataFrame) -> go.Figure:
    """Spend of one-off buyers and renewal of subscribers per CX band, with the mart's
    95 % intervals; bands on too few customers hollow."""
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.12, subplot_titles=(
        "B2C: mean spend per customer", "B2B: contracts renewed, %"))
    panels = (
        ("b2c", "mean_spend", "mean_spend_lower", "mean_spend_upper", 1.0, "customers"),
        ("b2b", "renewal_rate", "renewal_rate_lower", "renewal_rate_upper", 100.0,
         "terms_decided"),
    )
    for col, (kind, value, low, high, scale, n_column) in enumerate(panels, start=1):
        rows = frame[(frame["customer_type"] == kind) & frame[value].notna()]
        if rows.empty:
            _panel_note(fig, col, f"no data: no {kind.upper()} customer banded by a "
                        "relationship survey" if kind == "b2c" else
                        "no data: no contract term decided in the window")
            continue
        y = rows[value] * scale
        colours = [BAND_COLOURS.get(b, "#555") for b in rows["cx_band"]]
        fig.add_trace(go.Bar(
            x=rows["cx_band"].map(_band_label), y=y,
            marker={"color": ["white" if small else c for small, c in
                              zip(rows["is_too_small"], colours, strict=True)],
                    "line": {"color": colours, "width": 2}},
            error_y={"type": "data", "symmetric": False, "array": rows[high] * scale - y,
                     "arrayminus": y - rows[low] * scale, "color": "#374151", "width": 8},
            customdata=list(zip(rows[n_column], rows[low] * scale, rows[high] * scale,
                                strict=True)),
            hovertemplate=("%{x}: %{y:,.1f} (95 % interval %{customdata[1]:,.1f} to "
                           "%{customdata[2]:,.1f})<br>n = %{customdata[0]:,}<extra></extra>"),
            showlegend=False,
        ), row=1, col=col)
    fig.update_yaxes(title_text="spend", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(range=[0, 100], ticksuffix=" %", row=1, col=2)
    _style(fig, 360)
    _sub_title_size(fig)
    return fig


def _band_label(band: str) -> str:
    return {"worst": "detractors (worst)", "middle": "passives (middle)",
            "best": "promoters (best)"}.get(band, band)


ROI_MONEY = (
    ("net_revenue", "net revenue", MEASURE_COLOURS["net_revenue"]),
    ("discount_cost", "discount cost", MEASURE_COLOURS["discount_cost"]),
    ("churned_contract_value_12m", "churned contract value (12 months)",
     MEASURE_COLOURS["churned"]),
)


def roi_monthly(frame: pd.DataFrame) -> go.Figure:
    """Top: net revenue, discount cost and churned contract value per month; bottom: NPS
    per month with its interval band. Unknown months are gaps, not zeros; a panel with no
    data at all is left out and named in a note."""
    money = [m for m in ROI_MONEY if frame[m[0]].notna().any()]
    has_nps = bool(frame["nps"].notna().any())
    panels = (["money"] if money else []) + (["nps"] if has_nps else [])
    titles = {"money": "Money per month", "nps": "NPS per month, with its 95 % interval"}
    fig = make_subplots(rows=max(1, len(panels)), cols=1, shared_xaxes=True,
                        vertical_spacing=0.09,
                        row_heights=[0.6, 0.4] if len(panels) == 2 else None,
                        subplot_titles=[titles[p] for p in panels] or None)
    x = pd.to_datetime(frame["month_start_date"])
    partial = frame["is_partial_month"].fillna(False).astype(bool)
    for column, name, colour in money:
        # the observation month is not over: its point stands apart, hollow, so a month
        # just begun does not read as a collapse
        fig.add_trace(go.Scatter(
            x=x, y=frame[column].where(~partial), name=name, mode="lines+markers",
            line={"color": colour, "width": 2.5}, marker={"size": 5}, legendgroup=name,
            hovertemplate="%{x|%b %Y}: %{y:,.0f}<extra>" + name + "</extra>",
        ), row=1, col=1)
        if partial.any():
            fig.add_trace(go.Scatter(
                x=x[partial], y=frame[column][partial], name=name, mode="markers",
                marker={"size": 8, "color": "white", "line": {"color": colour, "width": 2}},
                legendgroup=name, showlegend=False,
                hovertemplate=("%{x|%b %Y} so far (partial month): %{y:,.0f}<extra>"
                               + name + "</extra>"),
            ), row=1, col=1)
    if money:
        fig.update_yaxes(title_text="amount", rangemode="tozero", row=1, col=1)
    if has_nps:
        row = panels.index("nps") + 1
        band_x = list(x) + list(x[::-1])
        band_y = list(frame["nps_upper"]) + list(frame["nps_lower"][::-1])
        fig.add_trace(go.Scatter(
            x=band_x, y=band_y, fill="toself", fillcolor="rgba(106,61,154,0.15)",
            line={"width": 0}, hoverinfo="skip", name="95 % interval", showlegend=False,
        ), row=row, col=1)
        fig.add_trace(go.Scatter(
            x=x, y=frame["nps"], name="NPS", mode="lines+markers",
            line={"color": MEASURE_COLOURS["nps"], "width": 2.5}, marker={"size": 5},
            customdata=frame[["nps_respondents", "promoters"]].fillna(0).astype(int),
            hovertemplate=("%{x|%b %Y}: NPS %{y:.0f}<br>%{customdata[0]:,} answers, "
                           "%{customdata[1]:,} promoters<extra></extra>"),
        ), row=row, col=1)
        fig.update_yaxes(title_text="NPS", range=[-100, 100], row=row, col=1)
    missing = ([] if money else ["money: no orders or contract terms"]) + (
        [] if has_nps else ["NPS: no survey answers"])
    if missing:
        fig.add_annotation(x=1, y=1, xref="paper", yref="paper", xanchor="right",
                           yanchor="bottom", showarrow=False,
                           text="no data \u2013 " + "; ".join(missing),
                           font={"size": 12, "color": "#6B7280"})
    _style(fig, 540 if len(panels) == 2 else 360, top=80)
    _sub_title_size(fig)
    return fig


def cev_histogram(frame: pd.DataFrame) -> go.Figure:
    """Customers per CEV range, stacked by value tier."""
    fig = go.Figure()
    ranges = frame.attrs.get("ranges", list(frame["cev_range"].astype(str).unique()))
    for tier in _ordered(frame["value_tier"], TIER_COLOURS):
        rows = frame[frame["value_tier"] == tier]
        fig.add_trace(go.Bar(
            x=rows["cev_range"].astype(str), y=rows["customers"], name=tier,
            marker_color=TIER_COLOURS.get(tier, "#555"),
            hovertemplate="CEV %{x}: %{y:,} " + tier + " customers<extra></extra>",
        ))
    fig.update_layout(barmode="stack")
    fig.update_xaxes(title_text="customer engagement value, next 12 months (ranges grow "
                     "tenfold)", categoryorder="array", categoryarray=ranges)
    fig.update_yaxes(title_text="customers")
    return _style(fig, 380, top=60)


def _ordered(values: pd.Series, order: dict[str, str]) -> list[str]:
    present = list(dict.fromkeys(values.dropna()))
    return [v for v in order if v in present] + [v for v in present if v not in order]


def _fmt(value: float | None, digits: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return UNKNOWN
    return f"{value:,.{digits}f}"

