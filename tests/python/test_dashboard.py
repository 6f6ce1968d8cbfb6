"""The dashboard: its data preparation (by hand-worked cases and against the marts' own
columns) and the page in headless Chromium (every chart drawn with its data, no errors,
no request leaving the file)."""

from __future__ import annotations

import math
import os
import re
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from cx_value.dashboard import build_page, charts, data, write_dashboard
from cx_value.dashboard.data import NoData

ROOT = Path(__file__).resolve().parents[2]
Z95 = 1.959963984540054


def score_rows(rows: list[dict]) -> pd.DataFrame:
    """mart_stage_scores rows with every count 0 unless given."""
    base = {"stage_number": 3, "stage": "purchase", "segment": "consumer",
            "is_as_of_month": False, "nps_respondents": 0, "promoters": 0, "detractors": 0,
            "csat_respondents": 0, "csat_satisfied_count": 0, "ces_respondents": 0,
            "ces_easy_count": 0, "ces_mean": np.nan}
    frame = pd.DataFrame([{**base, **row} for row in rows])
    frame["month_start_date"] = pd.to_datetime(frame["month_start_date"]).dt.date
    return frame


def test_stage_scores_pool_counts_over_the_window_with_hand_worked_intervals() -> None:
    frame = score_rows([
        {"month_start_date": "2026-05-01", "nps_respondents": 6, "promoters": 4,
         "detractors": 1, "csat_respondents": 6, "csat_satisfied_count": 4},
        {"month_start_date": "2026-06-01", "segment": "smb", "is_as_of_month": True,
         "nps_respondents": 4, "promoters": 2, "detractors": 1, "csat_respondents": 4,
         "csat_satisfied_count": 3, "ces_respondents": 4, "ces_easy_count": 2, "ces_mean": 4.5},
        # 12 months before the observation month: outside the 12-month window
        {"month_start_date": "2025-06-01", "nps_respondents": 50, "promoters": 50},
    ])
    prepared = data.stage_scores(frame)
    assert isinstance(prepared, data.StageScores)
    row = prepared.frame.iloc[0]
    # P = 6, D = 2, n = 10: NPS 40; adjusted Wald n' = 13, p' = 6.75/13, d' = 2.75/13
    assert row["nps"] == pytest.approx(40.0)
    diff = 4.0 / 13
    half = Z95 * math.sqrt((9.5 / 13 - diff**2) / 13)
    assert row["nps_lower"] == pytest.approx(100 * (diff - half))  # -12.59
    assert row["nps_upper"] == pytest.approx(100 * (diff + half))  # 74.12
    # CSAT 7 of 10 with its Wilson interval
    p, n = 0.7, 10
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    spread = Z95 / (1 + Z95**2 / n) * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n**2))
    assert row["csat_share"] == pytest.approx(70.0)
    assert row["csat_share_lower"] == pytest.approx(100 * (centre - spread))
    assert row["csat_share_upper"] == pytest.approx(100 * (centre + spread))
    assert row["ces_share"] == pytest.approx(50.0)
    assert row["ces_mean"] == pytest.approx(4.5)
    assert bool(row["is_nps_too_small"])  # 10 answers < 30
    assert prepared.window == "Jul 2025 \u2013 Jun 2026"
    assert prepared.nps is None and prepared.csat is None and prepared.ces is None


def test_a_score_nobody_answered_is_no_data_and_not_a_zero() -> None:
    frame = score_rows([{"month_start_date": "2026-06-01", "is_as_of_month": True,
                         "nps_respondents": 40, "promoters": 20, "detractors": 10}])
    prepared = data.stage_scores(frame)
    assert isinstance(prepared, data.StageScores)
    assert prepared.nps is None
    assert prepared.csat == NoData("no CSAT answers in the last 12 months")
    assert prepared.ces == NoData("no CES answers in the last 12 months")
    assert math.isnan(prepared.frame.loc[0, "csat_share"])
    fig = charts.stage_scores(prepared)
    assert len(fig.data) == 1  # the NPS panel only
    notes = [a.text for a in fig.layout.annotations]
    assert "no data: no CSAT answers in the last 12 months" in notes
    # a company without surveys: the mart is empty, or every month has 0 answers
    assert data.stage_scores(frame.iloc[0:0]) == NoData(
        "mart_stage_scores has no rows: the export has no survey answers")
    silent = score_rows([{"month_start_date": "2026-06-01", "is_as_of_month": True}])
    assert data.stage_scores(silent) == NoData("no survey answers in the last 12 months")


def test_a_page_without_any_mart_shows_a_no_data_panel_per_chart() -> None:
    frames = dict.fromkeys(data.MARTS)
    page = build_page(frames, source="empty.duckdb")
    assert page.count('class="no-data"') == 8
    assert "plotly-graph-div" not in page
    assert "mart_stage_scores is not in the database" in page
    assert "no data" in page


def test_roi_months_stay_unknown_where_every_segment_is_unknown() -> None:
    frame = pd.DataFrame({
        "month_start_date": ["2026-05-01", "2026-05-01", "2026-06-01", "2026-06-01"],
        "segment": ["smb", "consumer"] * 2,
        "is_partial_month": [False, False, True, True],
        "nps_respondents": [10, 0, 0, 0], "promoters": [5, 0, 0, 0],
        "detractors": [2, 0, 0, 0],
        "net_revenue": [100.0, 50.5, np.nan, np.nan],  # no order data in June
        "discount_cost": [1.0, np.nan, np.nan, np.nan], "margin": [1.0] * 4,
        "churned_customers": [1, 2, 0, 0], "churned_contract_value_12m": [10.0] * 4,
        "churned_revenue_12m": [10.0] * 4,
    })
    monthly = data.roi_monthly(frame)
    assert not isinstance(monthly, NoData)
    assert monthly["net_revenue"].tolist()[0] == pytest.approx(150.5)
    assert math.isnan(monthly["net_revenue"].tolist()[1])  # unknown, not 0
    assert monthly["discount_cost"].tolist()[0] == 1.0  # the known segment's value
    assert monthly["nps"].tolist()[0] == pytest.approx(30.0)
    assert math.isnan(monthly["nps"].tolist()[1])  # nobody answered
    assert monthly["is_partial_month"].tolist() == [False, True]


def test_nullable_counts_from_the_warehouse_become_plain_floats() -> None:
    """A count column with nulls arrives as a nullable integer (pd.NA); all unknown in a
    month it must still sum to unknown, not fail or give 0."""
    frame = data.plain_numbers(pd.DataFrame({
        "month_start_date": ["2026-06-01", "2026-06-01"], "segment": ["smb", "consumer"],
        "is_partial_month": [False, False],
        **{column: pd.array([None, None], dtype="Int64") for column in data.ROI_SUMS},
    }))
    assert all(frame[column].dtype == "float64" for column in data.ROI_SUMS)
    assert data.roi_monthly(frame) == NoData(
        "no orders, survey answers or contract terms in the export")
    frame.loc[0, "net_revenue"] = 10.0
    monthly = data.roi_monthly(frame)
    assert not isinstance(monthly, NoData)
    assert monthly["net_revenue"].tolist() == [10.0]
    assert math.isnan(monthly["nps"].iloc[0])
    fig = charts.roi_monthly(monthly)  # money only: one panel and a note for NPS
    assert [t.name for t in fig.data] == ["net revenue"]
    assert any("NPS: no survey answers" in a.text for a in fig.layout.annotations)


def test_cx_value_whiskers_are_the_marts_own_intervals() -> None:
    frame = pd.DataFrame({
        "customer_type": ["b2c", "b2c", "b2b"], "cx_band": ["worst", "best", "worst"],
        "cx_band_number": [1, 3, 1], "is_too_small": [False, True, False],
        "customers": [80, 20, 30], "terms_decided": [0, 0, 30],
        "mean_spend": [20.0, 36.0, np.nan], "mean_spend_lower": [10.0, 14.0, np.nan],
        "mean_spend_upper": [41.0, 57.0, np.nan],
        "renewal_rate": [np.nan, np.nan, 0.44], "renewal_rate_lower": [np.nan, np.nan, 0.3],
        "renewal_rate_upper": [np.nan, np.nan, 0.6],
    })
    fig = charts.cx_value(data.cx_value(frame))
    spend, renewal = fig.data
    assert list(spend.y) == [20.0, 36.0]
    assert list(spend.error_y.array) == [21.0, 21.0]  # upper - mean
    assert list(spend.error_y.arrayminus) == [10.0, 22.0]  # mean - lower
    assert list(renewal.y) == pytest.approx([44.0])
    assert list(renewal.error_y.array) == pytest.approx([16.0])
    assert spend.marker.color[1] == "white"  # too small: hollow


def test_cev_ranges_grow_tenfold_and_unknown_cev_is_not_counted() -> None:
    frame = pd.DataFrame({
        "cev": [0.0, 0.4, 5.0, 7.0, 55.0, 4500.0, np.nan],
        "value_tier": ["bronze", "bronze", "bronze", "silver", "gold", "platinum", "unknown"],
    })
    counts = data.cev_histogram(frame)
    assert not isinstance(counts, NoData)
    assert counts.attrs["ranges"] == ["0", "under 1", "1\u201310", "10\u2013100",
                                      "100\u20131k", "1k\u201310k"]
    got = {(str(r), t): n for r, t, n in counts.itertuples(index=False)}
    assert got == {("0", "bronze"): 1, ("under 1", "bronze"): 1, ("1\u201310", "bronze"): 1,
                   ("1\u201310", "silver"): 1, ("10\u2013100", "gold"): 1,
                   ("1k\u201310k", "platinum"): 1}
    assert counts.attrs["unknown_customers"] == 1


def test_friction_leaves_unscored_touchpoints_out() -> None:
    frame = pd.DataFrame({
        "stage": ["service", "purchase", "usage"], "touchpoint_type": ["survey", "order",
                                                                         "survey"],
        "touchpoint_name": ["ticket_closed", "completed", "in_app_pulse"],
        "scored_touchpoints": [276, np.nan, 145], "negative_share": [83.7, np.nan, 20.0],
        "detractor_share": [36.6, np.nan, 20.0], "expectation_gap_mean": [-0.9, np.nan, np.nan],
    })
    prepared = data.friction(frame)
    assert not isinstance(prepared, NoData)
    assert prepared["touchpoint_name"].tolist() == ["in_app_pulse", "ticket_closed"]
    assert data.friction(frame.iloc[1:2]) == NoData(
        "no touchpoint carries a survey score (no survey answers)")


# --- against the built demo warehouse -------------------------------------------------


@pytest.fixture(scope="module")
def demo_path(demo_db: duckdb.DuckDBPyConnection) -> Path:
    """The demo warehouse file of the demo_db fixture (which fails when it is missing)."""
    return Path(os.environ.get("CX_DUCKDB_PATH", ROOT / ".data/cx_value.duckdb"))


@pytest.mark.integration
def test_pooled_stage_scores_equal_the_marts_own_columns(demo_path: Path) -> None:
    """One segment and one month pooled is one mart row: the dashboard's scores and
    intervals (Python twins) equal the ones the SQL macros wrote into the mart."""
    mart = data.read_marts(demo_path, ("mart_stage_scores",))["mart_stage_scores"]
    assert mart is not None
    busiest = (mart.groupby(["month_start_date", "segment"])["nps_respondents"].sum()
               .idxmax())
    rows = mart[(mart["month_start_date"] == busiest[0]) & (mart["segment"] == busiest[1])]
    prepared = data.stage_scores(rows.assign(is_as_of_month=True), months=1)
    assert isinstance(prepared, data.StageScores)
    got = prepared.frame.set_index("stage")
    want = rows.set_index("stage").loc[got.index]
    assert (want["nps_respondents"] > 0).sum() >= 3
    for column in ("nps", "nps_lower", "nps_upper", "csat_share", "csat_share_lower",
                   "csat_share_upper", "ces_share", "ces_mean"):
        np.testing.assert_allclose(got[column], want[column], rtol=1e-9, atol=1e-9,
                                   err_msg=column)


def expected_points(frames: dict[str, pd.DataFrame | None]) -> dict[str, int]:
    """Marks each chart must draw: one per known value of its prepared data."""
    scores = data.stage_scores(frames["mart_stage_scores"])
    funnel = data.funnel(frames["mart_stage_conversion"])
    friction = data.friction(frames["mart_touchpoint_friction"])
    value = data.cx_value(frames["mart_cx_value"])
    roi = data.roi_monthly(frames["mart_cx_roi_monthly"])
    cev = data.cev_histogram(frames["fct_customer_engagement_value"])
    for prepared in (scores, funnel, friction, value, roi, cev):
        assert not isinstance(prepared, NoData), prepared
    money = ["net_revenue", "discount_cost", "churned_contract_value_12m"]
    return {
        "chart-stage-scores": int(scores.frame[["nps", "csat_share", "ces_share"]]
                                  .notna().to_numpy().sum()),
        "chart-funnel": int(funnel["customers_reached"].notna().sum()
                            + funnel["conversion_rate"].notna().sum()),
        "chart-friction": len(friction),
        "chart-cx-value": int(value[value["customer_type"] == "b2c"]["mean_spend"].notna().sum()
                              + value[value["customer_type"] == "b2b"]["renewal_rate"]
                              .notna().sum()),
        "chart-roi": int(roi[money].notna().to_numpy().sum() + roi["nps"].notna().sum()),
        "chart-cev": len(cev),
    }


DRAWN_JS = """() => Array.from(document.querySelectorAll('.plotly-graph-div')).map(gd => {
    const marks = Array.from(gd.querySelectorAll('.point'));
    return {id: gd.id, traces: (gd.data || []).length, marks: marks.length,
            sized: marks.filter(m => { const b = m.getBBox();
                                        return b.width > 0 || b.height > 0; }).length};
})"""


def open_in_chromium(page_file: Path) -> dict:
    """Load ``page_file`` in the system's headless Chromium; what it drew and what went
    wrong (console errors, page errors, requests leaving the file)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed: pip install -e '.[dev]'")
    from cx_value.dashboard.browser import BrowserMissingError, launch

    seen: dict = {"console_errors": [], "page_errors": [], "requests": []}
    with sync_playwright() as playwright:
        try:
            browser = launch(playwright)
        except BrowserMissingError as exc:
            pytest.fail(f"{exc}; the dashboard test needs headless Chromium")
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 900})
            page.on("console", lambda m: m.type == "error"
                    and seen["console_errors"].append(m.text))
            page.on("pageerror", lambda e: seen["page_errors"].append(str(e)))
            page.on("request", lambda r: seen["requests"].append(r.url))
            page.goto(page_file.resolve().as_uri(), wait_until="load")
            page.wait_for_timeout(300)  # let plotly finish its deferred drawing
            seen["charts"] = {c["id"]: c for c in page.evaluate(DRAWN_JS)}
            seen["table_rows"] = page.evaluate("""() => Object.fromEntries(
                Array.from(document.querySelectorAll('section')).map(s =>
                    [s.id, s.querySelectorAll('table tbody tr').length]))""")
            seen["no_data"] = page.eval_on_selector_all(
                ".no-data", "els => els.map(e => e.innerText)")
            seen["missing_tiles"] = page.eval_on_selector_all(
                ".tile.missing", "els => els.map(e => e.innerText)")
        finally:
            browser.close()
    return seen


@pytest.mark.integration
def test_dashboard_renders_every_chart_with_its_data_in_chromium(
    demo_path: Path, tmp_path: Path
) -> None:
    out = write_dashboard(demo_path, tmp_path / "dashboard.html")
    size_mb = out.stat().st_size / 1e6
    assert size_mb < 8, f"{size_mb:.1f} MB"
    started = time.perf_counter()
    seen = open_in_chromium(out)
    seconds = time.perf_counter() - started
    print(f"dashboard {size_mb:.2f} MB rendered and checked in {seconds:.1f} s")

    assert seen["page_errors"] == []
    assert seen["console_errors"] == []
    # self-contained: nothing but the file itself (and inline data) was requested
    assert [u for u in seen["requests"] if not u.startswith(("file:", "data:", "blob:"))] == []
    assert seen["no_data"] == [] and seen["missing_tiles"] == []

    frames = data.read_marts(demo_path)
    expected = expected_points(frames)
    assert set(seen["charts"]) == set(expected)
    for chart_id, marks in expected.items():
        drawn = seen["charts"][chart_id]
        assert marks > 0, chart_id
        assert drawn["marks"] == marks, (chart_id, drawn, marks)
        assert drawn["sized"] > 0, (chart_id, drawn)
    warnings = frames["mart_early_warnings"]
    assert warnings is not None and len(warnings) > 0
    assert seen["table_rows"]["early-warnings"] == min(data.TOP_ROWS, len(warnings))
    assert seen["table_rows"]["priority"] == data.TOP_ROWS


@pytest.mark.integration
def test_a_dashboard_without_data_says_so_in_chromium(tmp_path: Path) -> None:
    out = tmp_path / "empty.html"
    out.write_text(build_page(dict.fromkeys(data.MARTS), source="empty.duckdb"))
    seen = open_in_chromium(out)
    assert seen["page_errors"] == [] and seen["console_errors"] == []
    assert seen["charts"] == {}
    assert len(seen["no_data"]) == 8
    assert all(text.startswith("No data") for text in seen["no_data"])
    assert len(seen["missing_tiles"]) == 6


@pytest.mark.integration
def test_cli_writes_the_page_beside_the_database_by_default(demo_path: Path,
                                                           tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from cx_value.cli import app

    database = tmp_path / "published.duckdb"
    database.write_bytes(demo_path.read_bytes())
    result = CliRunner().invoke(app, ["dashboard", "--database", str(database)])
    assert result.exit_code == 0, result.output
    page = tmp_path / "dashboard.html"
    assert result.output.strip() == str(page)
    text = page.read_text()
    # plotly.js inline: no script is loaded from anywhere
    assert "<script" in text and not re.search(r"<script[^>]*\ssrc=", text)
    assert not list(tmp_path.glob(".*.partial"))
    missing = CliRunner().invoke(app, ["dashboard", "--database", str(tmp_path / "none.duckdb")])
    assert missing.exit_code == 1
