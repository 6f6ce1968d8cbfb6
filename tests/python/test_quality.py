"""The data-quality gate: each layer's expectations catch planted defects, by name.

A tiny warehouse is built here with DuckDB: the few tables the suites read, clean, and
a copy with one planted defect per check. The tiny warehouse declares no dbt
properties of its own, so the yml-derived checks are switched off with a monkeypatch;
everything else (contract, hand-written checks, GE, Data Docs) runs as in a build.
"""

from __future__ import annotations

import csv
import os
import shutil
import time
from pathlib import Path

import duckdb
import pytest

from cx_value.contract import TABLES
from cx_value.quality import gx_duckdb, suites, validate, validate_database
from cx_value.raw_files import RawDataError, check_folder

NO_MANIFEST = Path("/nonexistent/manifest.json")


def _tiny_warehouse(path: Path) -> None:
    con = duckdb.connect(str(path))
    con.execute("create schema staging; create schema intermediate; create schema marts")
    con.execute("""
        create table staging.stg_crm__customers as
        select * from (values ('c1', timestamp '2026-01-01 10:00', timestamp '2026-06-30'),
                              ('c2', timestamp '2026-02-01 10:00', timestamp '2026-06-30'))
            as t(customer_id, created_at, loaded_at)""")
    con.execute("""
        create table staging.stg_surveys__survey_responses as
        select * from (values
            ('r1', 'c1', 'nps', 10, timestamp '2026-03-01', timestamp '2026-06-30'),
            ('r2', 'c2', 'nps', 3, timestamp '2026-03-02', timestamp '2026-06-30'),
            ('r3', 'c2', 'csat', 4, timestamp '2026-03-02', timestamp '2026-06-30'))
            as t(response_id, customer_id, question_type, score, answered_at, loaded_at)""")
    con.execute("""
        create table intermediate.int_observation_date as
        select date '2026-07-01' as as_of_date, timestamp '2026-07-02' as as_of_end_at""")
    con.execute("""
        create table intermediate.int_raw_tables_observed as
        select * from (values ('crm.customers', 100, 98, 2, 0),
                              ('surveys.survey_responses', 50, 50, 0, 0))
            as t(source_table, raw_rows, staged_rows, rejected_rows, erased_rows)""")
    # 2 NPS answers: one promoter, one detractor -> NPS 0
    con.execute("""
        create table marts.mart_stage_scores as
        select * from (values ('usage', 'smb', 2, 1, 0, 1, 0.0::double))
            as t(stage, segment, nps_respondents, promoters, passives, detractors, nps)""")
    con.execute("""
        create table marts.dim_customers as
        select * from (values ('c1', 'smb'), ('c2', 'enterprise')) as t(customer_id, segment)""")
    con.close()


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("gate")
    clean = base / "clean.duckdb"
    _tiny_warehouse(clean)
    bad = base / "bad.duckdb"
    shutil.copy(clean, bad)
    con = duckdb.connect(str(bad))
    con.execute("update marts.mart_stage_scores set nps = 120")  # off the NPS scale
    con.execute("update marts.mart_stage_scores set passives = 1")  # 1 + 1 + 1 <> 2
    con.execute("update marts.dim_customers set segment = 'ann.smith@example.com' "
                "where customer_id = 'c2'")
    con.execute("insert into staging.stg_surveys__survey_responses values "
                "('r4', 'c9', 'ces', 9, timestamp '2100-01-01', timestamp '2026-06-30')")
    # a third NPS answer before the observation date that the mart does not count, and
    # one after it that the mart rightly leaves out
    con.execute("insert into staging.stg_surveys__survey_responses values "
                "('r5', 'c1', 'nps', 8, timestamp '2026-03-05', timestamp '2026-06-30'), "
                "('r6', 'c1', 'nps', 8, timestamp '2026-07-02 12:00', timestamp '2026-07-02')")
    con.execute("update intermediate.int_raw_tables_observed set rejected_rows = 10, "
                "staged_rows = 90 where source_table = 'crm.customers'")  # 10 % > 5 %
    con.close()
    return {"clean": clean, "bad": bad}


@pytest.fixture(autouse=True)
def _no_yml_properties(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(suites, "model_properties", lambda _root: {})


def _by(report: validate.ValidationReport, expectation: str, table: str) -> list[validate.Finding]:
    return [f for f in report.failures + report.warnings
            if f.expectation == expectation and f.table == table]


def test_the_duckdb_workaround_keeps_one_connection() -> None:
    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine

    gx_duckdb.keep_duckdb_connections_open()
    gx_duckdb.keep_duckdb_connections_open()
    names = [getattr(d, "value", d) for d in engine._PERSISTED_CONNECTION_DIALECTS]
    assert names.count("duckdb") == 1
    assert engine._dialect_requires_persisted_connection(connection_string="duckdb:///x.db")


def test_a_clean_warehouse_passes_and_writes_data_docs(
    warehouses: dict[str, Path], tmp_path: Path
) -> None:
    report = validate_database(warehouses["clean"], docs_dir=tmp_path / "docs",
                               manifest_path=NO_MANIFEST)
    assert report.success, report.messages()
    assert report.failures == [] and report.warnings == []
    assert report.docs_index == tmp_path / "docs" / "index.html"
    assert report.docs_index.is_file()
    # raw tables are not in this warehouse: skipped, not failed
    assert "raw demo_raw.customers" in report.skipped
    assert report.expectations > 10
    # the file is released: it opens for writing again at once
    duckdb.connect(str(warehouses["clean"])).close()


def test_each_planted_defect_is_named(warehouses: dict[str, Path], tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    report = validate_database(warehouses["bad"], docs_dir=docs, manifest_path=NO_MANIFEST)
    assert not report.success
    # Data Docs are written on failure too
    assert (docs / "index.html").is_file()

    (nps,) = [f for f in _by(report, "expect_column_values_to_be_between",
                             "marts.mart_stage_scores") if f.column == "nps"]
    assert nps.severity == "critical" and nps.examples == [120.0]
    message = nps.message()
    assert all(word in message for word in (
        "expect_column_values_to_be_between", "marts.mart_stage_scores", "column nps", "120"))

    (identity,) = [f for f in _by(report, "unexpected_rows_expectation",
                                  "marts.mart_stage_scores")
                   if "promoters + passives" in (f.description or "")]
    assert identity.examples[0]["passives"] == 1

    (personal,) = _by(report, "unexpected_rows_expectation", "marts.dim_customers")
    assert personal.column == "segment"
    assert personal.examples[0]["value"] == "ann.smith@example.com"

    # staging: the CES of 9 is off its 1-7 scale, its customer c9 was never staged and
    # it was answered in 2100
    staged = "staging.stg_surveys__survey_responses"
    scale = [f for f in _by(report, "unexpected_rows_expectation", staged) if f.column == "score"]
    assert scale[0].examples[0]["score"] == 9
    orphan = [f for f in _by(report, "unexpected_rows_expectation", staged)
              if f.column == "customer_id"]
    assert orphan[0].examples == [{"customer_id": "c9"}]
    future = [f for f in _by(report, "expect_column_values_to_be_between", staged)
              if f.column == "answered_at"]
    assert str(future[0].examples[0]).startswith("2100-01-01")

    # the mart counts 2 NPS answers, staging has 3 up to the observation date (r6 is later)
    (counts,) = [f for f in _by(report, "unexpected_rows_expectation", "marts.mart_stage_scores")
                 if "staged NPS answers" in (f.description or "")]
    assert counts.examples == [{"mart_nps_respondents": 2, "staged_nps_answers": 3}]

    # 10 % rejected > 5 %: a warning by default
    (share,) = [f for f in report.warnings if f.column == "rejected_rows"]
    assert share.examples[0]["source_table"] == "crm.customers"
    assert share.examples[0]["rejected_share"] == pytest.approx(0.1)
    assert all(f.severity == "critical" for f in report.failures)


def test_the_rejected_share_fails_when_the_var_says_so(warehouses: dict[str, Path]) -> None:
    report = validate_database(
        warehouses["bad"], docs_dir=None, manifest_path=NO_MANIFEST,
        dbt_vars={"cx_rejected_share_severity": "failure", "cx_max_rejected_share": 0.2})
    # 10 % is under a 20 % threshold: nothing
    assert not [f for f in report.failures + report.warnings if f.column == "rejected_rows"]
    report = validate_database(
        warehouses["bad"], docs_dir=None, manifest_path=NO_MANIFEST,
        dbt_vars={"cx_rejected_share_severity": "failure"})
    assert [f for f in report.failures if f.column == "rejected_rows"]


def _contract_folder(folder: Path, rows: int = 20) -> None:
    for table in TABLES:
        with (folder / f"{table.name}.csv").open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(table.column_names)
            for i in range(rows):
                writer.writerow([_value(table.name, c.name, c.type, i) for c in table.columns])


def _value(table: str, column: str, kind: str, i: int) -> str:
    if (table, column) in suites.VOCABULARIES:
        return suites.VOCABULARIES[(table, column)][0]
    return {"integer": "1", "decimal": "1.5", "boolean": "true", "date": "2026-01-01",
            "timestamp": "2026-01-01 10:00:00"}.get(kind, f"v{i}")


def test_check_names_file_and_column_and_notes_unparseable_rows(tmp_path: Path) -> None:
    _contract_folder(tmp_path)
    path = tmp_path / "order_lines.csv"
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    at = header.index("quantity")
    # 2 rows of 20 (10 %) have text where a whole number belongs
    for row in (1, 2):
        cells = lines[row].split(",")
        cells[at] = "twelve"
        lines[row] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    checked = {c.table.name: c for c in check_folder(tmp_path)}
    (note,) = checked["order_lines"].warnings
    assert "expect_column_values_to_match_regex" in note and "column quantity" in note
    assert "'twelve'" in note
    assert all(c.warnings == () for name, c in checked.items() if name != "order_lines")
    # what a build runs: the file-level part, with no row-level notes
    file_level = {c.table.name: c for c in check_folder(tmp_path, row_level=False)}
    assert all(c.warnings == () for c in file_level.values())
    assert file_level["order_lines"].rows == checked["order_lines"].rows == 20

    # drop a required column: the file and the column are named
    tickets = tmp_path / "tickets.csv"
    with tickets.open() as f:
        table = list(csv.reader(f))
    drop = table[0].index("opened_at")
    with tickets.open("w", newline="") as f:
        csv.writer(f).writerows([r[:drop] + r[drop + 1:] for r in table])
    for row_level in (True, False):
        with pytest.raises(RawDataError) as err:
            check_folder(tmp_path, row_level=row_level)
        assert err.value.problems == [
            f"{tickets}: missing column opened_at (raw table crm.tickets)"]


@pytest.mark.integration
def test_the_demo_warehouse_passes_the_gate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    monkeypatch.undo()  # the real dbt properties
    database = Path(os.environ.get("CX_DUCKDB_PATH",
                                   validate.PROJECT_ROOT / ".data/cx_value.duckdb"))
    if not database.exists():
        pytest.fail(f"{database} does not exist: run dbt build first (make test does)")
    # a copy under the same name (views name their catalog, the file's stem): this
    # process may hold the file open with another configuration (the demo_db fixture)
    copy = tmp_path / "copy" / database.name
    copy.parent.mkdir()
    shutil.copyfile(database, copy)
    started = time.perf_counter()
    report = validate_database(copy, docs_dir=tmp_path / "docs")
    seconds = time.perf_counter() - started
    assert report.failures == [], report.messages()
    assert (tmp_path / "docs" / "index.html").is_file()
    assert set(report.layer_seconds) == {"raw", "staging", "marts"}
    print(f"gate on {database}: {seconds:.1f} s, "
          + ", ".join(f"{k} {v:.1f} s" for k, v in report.layer_seconds.items()))
