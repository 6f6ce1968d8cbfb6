"""Staging against the generator's planted truth, and the three ways to feed raw data.

These tests need dbt: `make test` runs them after `dbt build` has built the demo data
into CX_DUCKDB_PATH; the feed-mode tests run their own builds in temporary folders.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from conftest import PublishedDemo
from pii_scan import personal_values, scan_database, scan_files

from cx_value.contract import TABLES

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DEMO_TRUTH = ROOT / "seeds" / "demo" / "_truth"
NOT_REJECTED = {"duplicate", "normalised"}
SCRATCH_TARGET = ROOT / ".data" / "test" / "scratch-target"


def _ledger(truth_dir: Path) -> list[dict[str, str]]:
    return pq.read_table(truth_dir / "dirty_rows.parquet").to_pylist()


def _rejected_by_reason(con: duckdb.DuckDBPyConnection) -> Counter[tuple[str, str]]:
    rows = con.execute(
        "select source_table, reject_reason, count(*) from intermediate.int_rejected_rows_unioned"
        " group by all"
    ).fetchall()
    return Counter({(t.split(".")[1], r): n for t, r, n in rows})


def _expected_rejections(ledger: list[dict[str, str]]) -> Counter[tuple[str, str]]:
    return Counter(
        (row["table"], row["expected_reason"])
        for row in ledger
        if row["expected_reason"] not in NOT_REJECTED
    )


def test_demo_every_table_reconciles(demo_db: duckdb.DuckDBPyConnection) -> None:
    rows = demo_db.execute(
        "select source_table, raw_rows, staged_rows + rejected_rows + removed_duplicate_rows"
        " from intermediate.int_raw_rows_reconciled"
    ).fetchall()
    assert len(rows) == len(TABLES)
    for table, raw, accounted in rows:
        assert raw == accounted, table


def test_demo_rejections_match_the_planted_dirty_rows(demo_db: duckdb.DuckDBPyConnection) -> None:
    ledger = _ledger(DEMO_TRUTH)
    expected = _expected_rejections(ledger)
    assert sum(expected.values()) > 0
    assert _rejected_by_reason(demo_db) == expected


def test_demo_rejected_keys_are_the_planted_ones(demo_db: duckdb.DuckDBPyConnection) -> None:
    ledger = _ledger(DEMO_TRUTH)
    expected = sorted(
        (r["table"], r["key"] or "", r["expected_reason"])
        for r in ledger
        if r["expected_reason"] not in NOT_REJECTED
    )
    actual = sorted(
        (t.split(".")[1], k or "", r)
        for t, k, r in demo_db.execute(
            "select source_table, raw_key, reject_reason"
            " from intermediate.int_rejected_rows_unioned"
        ).fetchall()
    )
    # raw_key is trimmed text of the key as written; the ledger holds it as written
    assert actual == [(t, k.strip(), r) for t, k, r in expected]


def test_demo_duplicates_are_removed_not_rejected(demo_db: duckdb.DuckDBPyConnection) -> None:
    planted = Counter(r["table"] for r in _ledger(DEMO_TRUTH) if r["kind"] == "duplicate")
    removed = dict(
        (t.split(".")[1], n)
        for t, n in demo_db.execute(
            "select source_table, removed_duplicate_rows from intermediate.int_raw_rows_reconciled"
        ).fetchall()
    )
    assert {t: n for t, n in removed.items() if n} == dict(planted)


def test_demo_messy_ids_are_staged_normalised(demo_db: duckdb.DuckDBPyConnection) -> None:
    messy = [r for r in _ledger(DEMO_TRUTH) if r["kind"] == "id_whitespace_case"]
    assert messy
    keys = {t.name: t.primary_key for t in TABLES}
    for row in messy:
        if row["key"] is None:
            continue
        table = row["table"]
        source = next(t.source for t in TABLES if t.name == table)
        found = demo_db.execute(
            f"select count(*) from staging.stg_{source}__{table} where {keys[table]} = ?",
            [row["key"].strip().lower()],
        ).fetchone()[0]
        assert found == 1, row


def test_no_clear_personal_data_in_any_model(demo_db: duckdb.DuckDBPyConnection) -> None:
    text_columns = demo_db.execute(
        "select table_schema, table_name, column_name from information_schema.columns"
        " where table_schema in ('staging', 'intermediate', 'marts')"
        " and data_type = 'VARCHAR'"
    ).fetchall()
    assert text_columns
    for schema, table, column in text_columns:
        hits = demo_db.execute(
            f'select count(*) from {schema}.{table} where "{column}" like ? or "{column}" like ?',
            ["%@example.%", "%+358%"],
        ).fetchone()[0]
        assert hits == 0, f"{schema}.{table}.{column} holds clear e-mail or phone values"


def test_no_personal_value_of_the_demo_export_in_any_table_or_export(
    published_demo: PublishedDemo,
) -> None:
    """Every e-mail, phone and name of the demo export, in every column of every table of
    the published and the working database and of every Parquet export. The seeds'
    own schema is the export itself, loaded as it is (it is read, never published as a
    mart), so it is the one schema left out."""
    needles = personal_values(ROOT / "seeds" / "demo")
    assert len(needles.tokens) > 1000 and len(needles.names) > 100
    # the published database only: it is a byte copy of the working one (test_erasure.py
    # scans both), and every scan of the demo reads all of its ~100 tables
    scanned, found = scan_database(published_demo.published, needles,
                                   skip_schemas=("demo_raw",))
    assert scanned > 50
    assert found == {}
    exports = sorted((published_demo.publish_dir / "exports").rglob("*.parquet"))
    scanned, found = scan_files(exports, needles, "read_parquet")
    assert scanned >= 20
    assert found == {}
    # the scan finds them where they are
    _, raw = scan_database(published_demo.published, needles)
    assert raw.get("demo_raw.contacts", 0) > 1000


# ------------------------------------------------------------------ feed modes


def _cx_value(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # dbt artefacts go to a scratch target so the demo build's manifest stays intact
    # cautious: a selection builds its models and the tests on them only, not tests
    # that also read models outside the selection
    env = {"DBT_TARGET_PATH": str(SCRATCH_TARGET), "DBT_LOG_PATH": str(SCRATCH_TARGET),
           "DBT_INDIRECT_SELECTION": "cautious", **env}
    return subprocess.run(
        [sys.executable, "-m", "cx_value.cli", *args],
        cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, check=False,
    )


def _staged_and_rejected(database: Path) -> dict[str, tuple[int, int, int]]:
    con = duckdb.connect(str(database), read_only=True)
    try:
        return {
            t: (s, r, d)
            for t, s, r, d in con.execute(
                "select source_table, staged_rows, rejected_rows, removed_duplicate_rows"
                " from intermediate.int_raw_rows_reconciled"
            ).fetchall()
        }
    finally:
        con.close()


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("raw")
    out = {}
    for fmt in ("parquet", "csv"):
        folder = base / fmt
        result = _cx_value(
            ["generate", "--out", str(folder), "--customers", "300", "--seed", "11",
             "--format", fmt], {},
        )
        assert result.returncode == 0, result.stderr
        out[fmt] = folder
    return out


def test_files_and_tables_feed_the_same_staging(
    generated: dict[str, Path], tmp_path: Path
) -> None:
    results = {}
    for fmt, folder in generated.items():
        database = tmp_path / f"{fmt}.duckdb"
        run = _cx_value(
            ["build", "--raw-dir", str(folder), "--select", "staging intermediate.data_quality"],
            {"CX_DUCKDB_PATH": str(database)},
        )
        assert run.returncode == 0, run.stdout[-3000:]
        results[fmt] = _staged_and_rejected(database)

    database = tmp_path / "tables.duckdb"
    loaded = _cx_value(["load", str(generated["parquet"]), "--database", str(database)], {})
    assert loaded.returncode == 0, loaded.stderr
    run = _cx_value(
        ["build", "--select", "staging intermediate.data_quality"],
        {"CX_DUCKDB_PATH": str(database), "CX_RAW_MODE": "tables", "CX_RAW_SCHEMA": "raw"},
    )
    assert run.returncode == 0, run.stdout[-3000:]
    results["tables"] = _staged_and_rejected(database)

    assert results["parquet"] == results["csv"] == results["tables"]
    expected = _expected_rejections(_ledger(generated["parquet"] / "_truth"))
    rejected = {t.split(".")[1]: r for t, (_, r, _) in results["parquet"].items()}
    for table, count in rejected.items():
        assert count == sum(n for (t, _), n in expected.items() if t == table), table


def test_a_missing_column_fails_before_the_database_changes(
    generated: dict[str, Path], tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    for path in generated["csv"].glob("*.csv"):
        if path.name != "orders.csv":
            shutil.copy(path, broken / path.name)
            continue
        with path.open(newline="") as src, (broken / path.name).open("w", newline="") as dst:
            rows = list(csv.reader(src))
            index = rows[0].index("customer_id")
            csv.writer(dst).writerows([v for i, v in enumerate(r) if i != index] for r in rows)
    database = tmp_path / "untouched.duckdb"
    run = _cx_value(["build", "--raw-dir", str(broken)], {"CX_DUCKDB_PATH": str(database)})
    assert run.returncode == 2
    message = " ".join(run.stderr.split())
    assert "orders.csv: missing column customer_id" in message
    assert not database.exists()


def test_a_folder_named_with_quotes_and_a_semicolon_is_read_as_named(
    generated: dict[str, Path], tmp_path: Path
) -> None:
    folder = tmp_path / "cx export's \"final\"; dir"
    shutil.copytree(generated["parquet"], folder)
    database = tmp_path / "quoted.duckdb"
    run = _cx_value(
        ["build", "--raw-dir", str(folder), "--select", "staging intermediate.data_quality"],
        {"CX_DUCKDB_PATH": str(database)},
    )
    assert run.returncode == 0, run.stdout[-3000:]
    expected = _expected_rejections(_ledger(generated["parquet"] / "_truth"))
    rejected = {t.split(".")[1]: r for t, (_, r, _) in _staged_and_rejected(database).items()}
    assert len(rejected) == len(TABLES)
    for table, count in rejected.items():
        assert count == sum(n for (t, _), n in expected.items() if t == table), table


def test_the_salt_pseudonymises_and_is_written_nowhere(
    generated: dict[str, Path], tmp_path: Path
) -> None:
    salt = "s3cret-salt-for-this-test-only-7f1c"
    scratch = tmp_path / "dbt"
    database = tmp_path / "salted.duckdb"
    run = _cx_value(
        ["build", "--raw-dir", str(generated["parquet"]), "--select", "staging"],
        {"CX_DUCKDB_PATH": str(database), "CX_PII_SALT": salt,
         "DBT_TARGET_PATH": str(scratch / "target"), "DBT_LOG_PATH": str(scratch / "logs")},
    )
    assert run.returncode == 0, run.stdout[-3000:]

    # the pseudonym is sha256('<salt>|<address, trimmed, lower-cased>'), computed here
    contacts = duckdb.connect().execute(
        "select trim(contact_id), email from read_parquet(?) "
        "where nullif(trim(email), '') is not null "
        "qualify count(*) over (partition by trim(contact_id)) = 1 limit 20",
        [str(generated["parquet"] / "contacts.parquet")],
    ).fetchall()
    assert contacts
    con = duckdb.connect(str(database), read_only=True)
    try:
        for contact_id, email in contacts:
            expected = hashlib.sha256(f"{salt}|{email.strip().lower()}".encode()).hexdigest()
            staged = con.execute(
                "select email_hash from staging.base_crm__contacts where raw_key = ?",
                [contact_id],
            ).fetchall()
            assert staged and all(row[0] == expected for row in staged), contact_id
    finally:
        con.close()

    # nowhere on disk: compiled and run SQL, dbt's logs, the databases, the run's output
    files = [p for p in [*scratch.rglob("*"), *tmp_path.glob("*.duckdb*"),
                         *(tmp_path / "work").rglob("*")] if p.is_file()]
    assert len(files) > 100
    leaks = [str(p) for p in files if salt.encode() in p.read_bytes()]
    assert leaks == []
    assert salt not in run.stdout + run.stderr


@pytest.mark.parametrize(
    ("salt", "message"),
    [("", "CX_PII_SALT is not set"), ("cx-value-demo-salt", "the public demo salt"),
     ("short", "shorter than 16 characters")],
)
def test_generated_data_needs_a_secret_salt(
    generated: dict[str, Path], tmp_path: Path, salt: str, message: str
) -> None:
    database = tmp_path / "never.duckdb"
    run = _cx_value(["build", "--raw-dir", str(generated["parquet"])],
                    {"CX_DUCKDB_PATH": str(database), "CX_PII_SALT": salt})
    assert run.returncode == 2
    assert message in " ".join(run.stderr.split())
    assert not database.exists()


def test_every_model_and_column_is_described(
    demo_db: duckdb.DuckDBPyConnection, published_demo: PublishedDemo
) -> None:
    # the manifest of the build that made the demo database, kept beside it
    manifest = json.loads(published_demo.manifest.read_text())
    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    assert models
    for node in models:
        assert node["description"].strip(), f"{node['name']} has no description"
        built = [
            c for (c,) in demo_db.execute(
                "select column_name from information_schema.columns"
                " where table_schema = ? and table_name = ? order by ordinal_position",
                [node["schema"], node["alias"]],
            ).fetchall()
        ]
        assert built, f"{node['name']} is not in the demo database"
        documented = {
            name: col["description"].strip() for name, col in node["columns"].items()
        }
        assert set(built) == set(documented), (node["name"], set(built) ^ set(documented))
        assert all(documented.values()), f"{node['name']} has undocumented columns"
