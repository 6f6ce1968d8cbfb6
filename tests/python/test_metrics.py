"""The metrics layer on the demo warehouse: `mf query` gives the marts' figures.

`make test` builds the demo data into CX_DUCKDB_PATH before these run. MetricFlow computes
its metrics from `models/semantic/_semantic__models.yml` (survey answers from
fct_journey_touchpoints, money from mart_cx_roi_monthly, health from mart_customer_health);
the expected figures are summed here in SQL from the additive columns of the marts, so a
metric defined as an average of ratios, a wrong threshold or a wrong time bucket fails.

One `dbt parse` and one `mf query` (about 8 s) serve every test of the module.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
QUERY_METRICS = (
    "nps", "nps_respondents", "csat_share", "ces_mean", "revenue", "price_realisation",
    "health_green_share",
)
TOLERANCE = 1e-9
# never linked into the scratch project: build output, local state, the other databases
LOCAL_ENTRIES = {".git", ".venv", ".data", "target", "logs", "dbt_packages", ".pytest_cache"}

Row = Mapping[str, str]


def _tool(name: str) -> str:
    """The venv's console script (dbt, mf) beside this interpreter, else the one on PATH."""
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    assert found, f"{name} is not installed (pip install -e '.[dev]')"
    return found


def _database_path(con: duckdb.DuckDBPyConnection) -> Path:
    """The file the demo_db fixture opened."""
    row = con.execute(
        "select path from duckdb_databases() where database_name = current_database()"
    ).fetchone()
    assert row is not None and row[0]
    return Path(row[0]).resolve()


def _scratch_project(directory: Path) -> Path:
    """The project linked file by file into `directory`: `mf` reads the semantic manifest
    from `<project>/target/`, so the test parses into a target of its own instead of
    overwriting the one the build left."""
    directory.mkdir(parents=True, exist_ok=True)
    for entry in ROOT.iterdir():
        if entry.name not in LOCAL_ENTRIES:
            (directory / entry.name).symlink_to(entry)
    return directory


@pytest.fixture(scope="module")
def metricflow_months(
    demo_db: duckdb.DuckDBPyConnection, tmp_path_factory: pytest.TempPathFactory
) -> dict[date, Row]:
    """`mf query --metrics … --group-by metric_time__month` on the demo warehouse, by month."""
    base = tmp_path_factory.mktemp("metrics")
    project = _scratch_project(base / "project")
    env = {
        **os.environ,
        # the profile's read-only target on the warehouse under test: the demo_db fixture
        # (like a BI tool) holds it open, and DuckDB refuses a writer beside a reader
        "CX_TARGET": "published",
        "CX_DUCKDB_PATH": str(_database_path(demo_db)),
        "DBT_PROFILES_DIR": str(project),
    }
    for variable in ("DBT_TARGET_PATH", "DBT_LOG_PATH", "DBT_PROJECT_DIR"):
        env.pop(variable, None)
    parsed = subprocess.run(
        [_tool("dbt"), "parse", "--project-dir", str(project)],
        cwd=project, env=env, capture_output=True, text=True, check=False,
    )
    assert parsed.returncode == 0, parsed.stdout[-4000:]
    out = base / "by_month.csv"
    queried = subprocess.run(
        [_tool("mf"), "query", "--metrics", ",".join(QUERY_METRICS),
         "--group-by", "metric_time__month", "--csv", str(out), "--quiet"],
        cwd=project, env=env, capture_output=True, text=True, check=False,
    )
    assert queried.returncode == 0, (queried.stdout + queried.stderr)[-4000:]
    with open(out, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    months = {date.fromisoformat(row["metric_time__month"][:10]): row for row in rows}
    assert len(months) == len(rows), "one row per month"
    return months


def _number(text: str) -> float | None:
    return float(text) if text != "" else None


def _close(actual: float | None, expected: float | None) -> bool:
    if actual is None or expected is None:
        return actual is None and expected is None
    return abs(actual - expected) <= TOLERANCE


def test_nps_by_month_is_the_marts_ratio_of_sums(
    metricflow_months: dict[date, Row], demo_db: duckdb.DuckDBPyConnection
) -> None:
    """NPS and its respondents per month equal 100 x (promoters - detractors) / respondents
    summed over the stages and segments of mart_stage_scores, and over the segments of
    mart_cx_roi_monthly (the same answers counted from the staged survey responses)."""
    sums = {
        mart: {
            month: (int(promoters), int(detractors), int(respondents))
            for month, promoters, detractors, respondents in demo_db.execute(f"""
                select month_start_date, sum(promoters), sum(detractors), sum(nps_respondents)
                from marts.{mart} group by month_start_date
            """).fetchall()
        }
        for mart in ("mart_stage_scores", "mart_cx_roi_monthly")
    }
    answered = {month for month, (_, _, n) in sums["mart_stage_scores"].items() if n > 0}
    assert len(answered) >= 12, "the demo data has answers in at least a year of months"
    assert {m for m, (_, _, n) in sums["mart_cx_roi_monthly"].items() if n > 0} == answered
    mf_answered = {m for m, row in metricflow_months.items() if int(row["nps_respondents"]) > 0}
    assert mf_answered == answered

    mismatches = []
    for month in sorted(answered):
        promoters, detractors, respondents = sums["mart_stage_scores"][month]
        assert sums["mart_cx_roi_monthly"][month] == (promoters, detractors, respondents)
        expected = 100.0 * (promoters - detractors) / respondents
        row = metricflow_months[month]
        if int(row["nps_respondents"]) != respondents or not _close(_number(row["nps"]), expected):
            mismatches.append((month, row["nps"], row["nps_respondents"], expected, respondents))
    assert not mismatches, mismatches
    # a month without answers has no NPS (null), not 0
    assert all(row["nps"] == "" for m, row in metricflow_months.items() if m not in answered)


def test_csat_share_and_ces_mean_by_month_equal_stage_scores(
    metricflow_months: dict[date, Row], demo_db: duckdb.DuckDBPyConnection
) -> None:
    """CSAT share = 100 x satisfied / respondents and CES mean = score sum / respondents,
    from the additive columns of mart_stage_scores (its CES sum is mean x respondents)."""
    expected = {
        month: (csat, ces)
        for month, csat, ces in demo_db.execute("""
            select
                month_start_date,
                100.0 * sum(csat_satisfied_count) / nullif(sum(csat_respondents), 0),
                sum(coalesce(ces_mean, 0) * ces_respondents) / nullif(sum(ces_respondents), 0)
            from marts.mart_stage_scores
            group by month_start_date
        """).fetchall()
    }
    assert sum(csat is not None for csat, _ in expected.values()) >= 12
    mismatches = [
        (month, row["csat_share"], row["ces_mean"], expected.get(month))
        for month, row in metricflow_months.items()
        if not (
            _close(_number(row["csat_share"]), expected.get(month, (None, None))[0])
            and _close(_number(row["ces_mean"]), expected.get(month, (None, None))[1])
        )
    ]
    assert not mismatches, mismatches


def test_revenue_price_realisation_and_health_share_equal_the_marts(
    metricflow_months: dict[date, Row], demo_db: duckdb.DuckDBPyConnection
) -> None:
    """Revenue per month to the cent and price realisation (revenue / list value) from
    mart_cx_roi_monthly; revenue over all months equals the customers' net revenue in
    fct_customer_revenue; the green health share in the observation month equals the
    share of green customers in mart_customer_health."""
    roi = {
        month: (revenue, list_value)
        for month, revenue, list_value in demo_db.execute("""
            select month_start_date, sum(net_revenue), sum(list_value)
            from marts.mart_cx_roi_monthly group by month_start_date
        """).fetchall()
    }
    assert sum(revenue > 0 for revenue, _ in roi.values()) >= 12
    for month, (revenue, list_value) in roi.items():
        row = metricflow_months[month]
        assert Decimal(row["revenue"]) == revenue, (month, row["revenue"], revenue)
        realisation = float(revenue) / float(list_value) if list_value > 0 else None
        assert _close(_number(row["price_realisation"]), realisation), (month, row)
    # no revenue outside the mart's months
    assert all(row["revenue"] == "" for m, row in metricflow_months.items() if m not in roi)
    mf_total = sum(Decimal(row["revenue"]) for row in metricflow_months.values() if row["revenue"])
    customers_total = demo_db.execute(
        "select sum(net_revenue) from marts.fct_customer_revenue"
    ).fetchone()
    assert customers_total is not None and mf_total == customers_total[0]

    health = demo_db.execute("""
        select
            cast(date_trunc('month', max(as_of_date)) as date),
            100.0 * count(*) filter (where health_band = 'green') / count(*)
        from marts.mart_customer_health
    """).fetchone()
    assert health is not None
    as_of_month, green_share = health
    shares = {m: row["health_green_share"] for m, row in metricflow_months.items()
              if row["health_green_share"]}
    assert list(shares) == [as_of_month]
    assert _close(float(shares[as_of_month]), green_share)
