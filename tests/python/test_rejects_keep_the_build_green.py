"""Any share of rejected rows leaves the build green: the models and tests downstream work
on the rows that remain, and a table whose rejected share is above var
cx_max_rejected_share is flagged in mart_data_coverage, the summary and last_run.json.

One generated export (300 customers) carries three defects that do not interact, so one
build serves every test here:

- every money value of order_lines written in a European locale ("37,69"): every line
  rejected invalid_number, so the CLV fits have no purchase history;
- a monthly fee of NaN, inf or 1e308 on some subscriptions, among them terms that a
  later term renews: the renewal chains have gaps;
- every survey answer scored 11: every survey row rejected.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import query_rows, run_cx_value

pytestmark = pytest.mark.integration

BAD_FEES = ("NaN", "inf", "1e308")


@dataclass(frozen=True)
class DefectBuild:
    database: Path
    build_output: str
    summary_output: str
    status: dict
    run_results: dict
    rejected_fee_ids: frozenset[str]
    renewed_rejected_ids: frozenset[str]


def _edit_csv(path: Path, edit: Callable[[int, dict[str, str]], None]) -> None:
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    for number, row in enumerate(rows):
        edit(number, row)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture(scope="module")
def defect_build(tmp_path_factory: pytest.TempPathFactory) -> DefectBuild:
    base = tmp_path_factory.mktemp("rejects")
    raw = base / "raw"
    generated = run_cx_value(
        ["generate", "--out", str(raw), "--customers", "300", "--seed", "7", "--format",
         "csv"], {}, base,
    )
    assert generated.returncode == 0, generated.stderr[-3000:]

    def european(_: int, row: dict[str, str]) -> None:
        for column in ("list_price", "realised_price", "unit_cost"):
            row[column] = row[column].replace(".", ",")

    _edit_csv(raw / "order_lines.csv", european)

    with (raw / "subscriptions.csv").open(newline="") as handle:
        subscriptions = list(csv.DictReader(handle))
    renewed = {row["previous_subscription_id"] for row in subscriptions
               if row["previous_subscription_id"]}
    # every third renewed term and every tenth other one get a fee that is no amount
    renewed_ids = sorted(renewed)[::3]
    other_ids = sorted({row["subscription_id"] for row in subscriptions} - renewed)[::10]
    bad = set(renewed_ids) | set(other_ids)

    def fees(_: int, row: dict[str, str]) -> None:
        if row["subscription_id"] in bad:
            row["monthly_fee"] = BAD_FEES[int(row["subscription_id"][-1]) % 3]

    _edit_csv(raw / "subscriptions.csv", fees)

    def out_of_scale(_: int, row: dict[str, str]) -> None:
        row["score"] = "11"

    _edit_csv(raw / "survey_responses.csv", out_of_scale)

    database = base / "warehouse.duckdb"
    env = {"CX_DUCKDB_PATH": str(database)}
    built = run_cx_value(["build", "--raw-dir", str(raw)], env, base)
    assert built.returncode == 0, built.stdout[-5000:]
    summary = run_cx_value(["summary"], {**env, "COLUMNS": "250"}, base)
    assert summary.returncode == 0, summary.stdout[-3000:]
    return DefectBuild(
        database=database,
        build_output=built.stdout,
        summary_output=summary.stdout,
        status=json.loads((base / "last_run.json").read_text()),
        run_results=json.loads((base / "target" / "run_results.json").read_text()),
        rejected_fee_ids=frozenset(bad),
        renewed_rejected_ids=frozenset(renewed_ids),
    )


def test_the_coverage_mart_flags_the_tables_with_a_large_rejected_share(
    defect_build: DefectBuild,
) -> None:
    rows = {table: rest for table, *rest in query_rows(
        defect_build.database,
        "select source_table, raw_rows, rejected_rows, rejected_share,"
        " is_rejected_share_high, rejected_share_warning, observation_status"
        " from marts.mart_data_coverage",
    )}
    flagged = {table for table, row in rows.items() if row[3]}
    # the generator's own dirty rows stay below 5 % of every table
    assert flagged == {"crm.order_lines", "crm.subscriptions", "surveys.survey_responses"}
    for table in ("crm.order_lines", "surveys.survey_responses"):
        raw_rows, rejected, share, _, warning, status = rows[table]
        assert rejected == raw_rows > 0
        assert share == 1.0
        assert status == "all_rows_rejected"
        assert f"staging rejected {raw_rows} of {raw_rows} rows" in warning
        assert f"stg_{table.replace('.', '__')}_rejected" in warning
    raw_rows, rejected, share, *_ = rows["crm.subscriptions"]
    assert rejected >= len(defect_build.rejected_fee_ids)
    assert share == pytest.approx(rejected / raw_rows)
    # a table below the threshold has a share and no warning
    assert rows["crm.customers"][2] < 0.05
    assert rows["crm.customers"][3] is False and rows["crm.customers"][4] is None


def test_the_summary_and_the_run_status_show_the_warnings(defect_build: DefectBuild) -> None:
    summary = defect_build.summary_output
    for table in ("crm.order_lines", "crm.subscriptions", "surveys.survey_responses"):
        assert f"warning: {table}: staging rejected" in summary, summary[-4000:]
        assert any(table in message and "cx_max_rejected_share" in message
                   for message in defect_build.status["validation"]["messages"])
    assert "warning: crm.customers" not in summary
    assert defect_build.status["published"] is True


def test_european_prices_leave_the_clv_fits_not_fitted_with_a_reason(
    defect_build: DefectBuild,
) -> None:
    rejected = query_rows(
        defect_build.database,
        "select reject_reason, count(*) from intermediate.int_rejected_rows_unioned"
        " where source_table = 'crm.order_lines' group by 1",
    )
    assert dict(rejected)["invalid_number"] >= 2000
    fits = query_rows(
        defect_build.database,
        "select model, status, count(estimate), min(status_reason)"
        " from marts.clv_bgnbd_parameters group by 1, 2 order by 1",
    )
    assert [(model, status, estimates) for model, status, estimates, _ in fits] == [
        ("bgnbd", "not_enough_data", 0), ("gamma_gamma", "not_enough_data", 0)]
    assert all("repeat buyers" in reason for *_, reason in fits)
    diagnostics = dict(query_rows(
        defect_build.database,
        "select model, warning from marts.mart_model_diagnostics"
        " where model in ('bgnbd', 'gamma_gamma')",
    ))
    assert "not fitted, not enough data" in diagnostics["bgnbd"]
    # no line staged, so no purchase history: no customer to score, and the summary says
    # the mart is empty because its raw tables are not in the data
    assert query_rows(defect_build.database,
                      "select count(*) from marts.fct_customer_clv") == [(0,)]
    assert query_rows(defect_build.database,
                      "select count(*) from marts.clv_customer_predictions") == [(0,)]
    assert "not fitted, not enough data" in defect_build.summary_output
    assert any("fct_customer_clv" in line and "needs orders and order_lines" in line
               for line in defect_build.summary_output.splitlines())


def test_rejected_terms_leave_gaps_the_chain_test_accepts(defect_build: DefectBuild) -> None:
    rejected = {key: reason for key, reason in query_rows(
        defect_build.database,
        "select raw_key, reject_reason from staging.stg_crm__subscriptions_rejected",
    )}
    assert {key: rejected.get(key) for key in defect_build.rejected_fee_ids} == {
        key: "invalid_number" for key in defect_build.rejected_fee_ids}
    # renewals of a rejected term remain, pointing at a term the chain cannot hold (a
    # renewal starting after the observation date, or itself rejected, is not a term)
    gaps = query_rows(
        defect_build.database,
        "select subscription_id, previous_subscription_id, term_number"
        " from intermediate.int_subscription_terms_renewed"
        " where previous_subscription_id in ("
        + ", ".join(f"'{key}'" for key in sorted(defect_build.renewed_rejected_ids)) + ")",
    )
    assert len(gaps) >= len(defect_build.renewed_rejected_ids) // 2 > 3
    chain_tests = [result for result in defect_build.run_results["results"]
                   if result["unique_id"].startswith(
                       "test.cx_value.assert_retention_one_chain_per_customer")]
    assert [result["status"] for result in chain_tests] == ["pass"]
    (skipped,), = query_rows(
        defect_build.database,
        "select skipped from meta.dbt_runs where command = 'build'"
        " order by finished_at desc limit 1",
    )
    assert skipped == 0
