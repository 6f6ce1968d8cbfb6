"""Web sessions: identity stitching against the planted identities, and incremental runs
that give exactly what a full refresh gives.

The incremental test exports the generated raw data in two batches by `loaded_at`, as a
nightly export would: batch 1 holds every row loaded before a cut-off, batch 2 everything.
Events are exported up to a day after they happen and not in order, so batch 2 brings
late events into sessions batch 1 already built, customers whose earlier events batch 1
had to reject, and logins that attribute a visitor's earlier sessions.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from conftest import ROOT, GeneratedWarehouse, query_rows, run_cx_value

from cx_value.contract import TABLES

pytestmark = pytest.mark.integration

SESSIONS = "select * from marts.fct_web_sessions order by session_id"
SELECT = "+fct_web_sessions"


def _identity_errors(database: Path, identities: Path) -> dict[str, int]:
    """Sessions of planted devices attributed to anyone but their planted customer."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        con.register("planted", pq.read_table(identities))
        row = con.execute(
            """
            select
                count(*) as sessions,
                count(*) filter (where planted.identified) as identified_sessions,
                count(*) filter (
                    where planted.identified
                    and sessions.customer_id is distinct from planted.customer_id
                ) as wrong_identified,
                count(*) filter (
                    where not planted.identified and sessions.customer_id is not null
                ) as wrongly_attributed_anonymous
            from marts.fct_web_sessions as sessions
            inner join planted
                on sessions.anonymous_id = planted.anonymous_id
            """
        ).fetchone()
        unknown = con.execute(
            """
            select count(*) from marts.fct_web_sessions as sessions
            where sessions.anonymous_id is not null
              and sessions.anonymous_id not in (select anonymous_id from planted)
            """
        ).fetchone()[0]
    finally:
        con.close()
    sessions, identified, wrong, wrong_anonymous = row
    return {"sessions": sessions, "identified_sessions": identified, "wrong": wrong,
            "wrong_anonymous": wrong_anonymous, "unknown_devices": unknown}


def test_demo_sessions_are_attributed_to_their_planted_customer() -> None:
    database = Path(os.environ.get("CX_DUCKDB_PATH", ROOT / ".data/cx_value.duckdb"))
    result = _identity_errors(database, ROOT / "seeds/demo/_truth/identities.parquet")
    assert result["identified_sessions"] > 1000
    assert result == {**result, "wrong": 0, "wrong_anonymous": 0, "unknown_devices": 0}


def test_generated_sessions_are_attributed_to_their_planted_customer(
    journey_warehouse: GeneratedWarehouse,
) -> None:
    result = _identity_errors(
        journey_warehouse.database, journey_warehouse.truth_dir / "identities.parquet"
    )
    assert result["identified_sessions"] > 100_000
    assert result == {**result, "wrong": 0, "wrong_anonymous": 0, "unknown_devices": 0}


def test_sessionisation_recovers_the_planted_sessions(
    journey_warehouse: GeneratedWarehouse,
) -> None:
    """Planted sessions start at least 4 hours apart and dirty rows are added, never
    taken from clean data, so the 30-minute rule must find exactly the planted sessions:
    in total, with a login, and per customer never more than planted."""
    web = json.loads((journey_warehouse.truth_dir / "truth.json").read_text())["web"]
    con = duckdb.connect(str(journey_warehouse.database), read_only=True)
    try:
        con.register("planted", pq.read_table(journey_warehouse.truth_dir / "customers.parquet"))
        total, logged_in = con.execute(
            "select count(*), count(*) filter (where attribution = 'logged_in')"
            " from marts.fct_web_sessions"
        ).fetchone()
        planted_logged_in, customers_over = con.execute(
            """
            with found as (
                select customer_id, count(*) as sessions
                from marts.fct_web_sessions
                where customer_id is not null
                group by customer_id
            )
            select
                sum(planted.planted_logged_in_sessions),
                count(*) filter (where coalesce(found.sessions, 0) > planted.planted_sessions)
            from planted
            left join found
                on planted.customer_id = found.customer_id
            """
        ).fetchone()
    finally:
        con.close()
    assert total == web["planted_sessions_total"] + web["planted_visitor_sessions"]
    assert logged_in == planted_logged_in
    assert customers_over == 0


# ----------------------------------------------------------------- incremental


def _export_batches(raw: Path, out: Path) -> tuple[Path, Path]:
    """Batch 1: rows loaded before the cut-off; batch 2: all rows."""
    first, second = out / "batch1", out / "batch2"
    first.mkdir(parents=True)
    second.mkdir(parents=True)
    con = duckdb.connect()
    try:
        cutoff = con.execute(
            f"select quantile_disc(try_cast(loaded_at as timestamp), 0.7)"
            f" from read_parquet('{raw / 'events.parquet'}')"
        ).fetchone()[0]
        for table in TABLES:
            source = f"read_parquet('{raw / (table.name + '.parquet')}')"
            # A tenth of the events and customers loaded in the 12 hours before the
            # cut-off miss batch 1 and arrive with batch 2 (a slow export): only the
            # lookback window lets an incremental run see them.
            held_back = (
                f"try_cast(loaded_at as timestamp) > ? - interval 12 hour"
                f" and hash({table.primary_key}) % 10 = 0"
                if table.name in ("events", "customers") else "false"
            )
            con.execute(
                f"copy (select * from {source}"
                # rows whose loaded_at cannot be read are rejected in both batches
                f" where coalesce(try_cast(loaded_at as timestamp) <= ?, true)"
                f" and not coalesce({held_back}, false))"
                f" to '{first / (table.name + '.parquet')}' (format parquet)",
                [cutoff, cutoff] if table.name in ("events", "customers") else [cutoff],
            )
            con.execute(
                f"copy (select * from {source}) to '{second / (table.name + '.parquet')}'"
                f" (format parquet)"
            )
    finally:
        con.close()
    return first, second


def test_incremental_run_equals_full_refresh(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    generated = run_cx_value(
        ["generate", "--out", str(raw), "--customers", "2000", "--seed", "5",
         "--format", "parquet"], {}, tmp_path / "scratch",
    )
    assert generated.returncode == 0, generated.stderr[-3000:]
    batch1, batch2 = _export_batches(raw, tmp_path)

    incremental = tmp_path / "incremental.duckdb"
    scratch = tmp_path / "scratch"
    for batch in (batch1, batch2):
        run = run_cx_value(["build", "--raw-dir", str(batch), "--select", SELECT],
                           {"CX_DUCKDB_PATH": str(incremental)}, scratch)
        assert run.returncode == 0, run.stdout[-5000:]
        if batch == batch1:
            after_batch1 = query_rows(incremental, SESSIONS)
    compiled = next((scratch / "target" / "compiled").rglob("fct_web_sessions.sql")).read_text()
    assert "reread_from" in compiled, "the second run was not incremental"

    full = tmp_path / "full.duckdb"
    run = run_cx_value(["build", "--raw-dir", str(batch2), "--select", SELECT],
                       {"CX_DUCKDB_PATH": str(full)}, tmp_path / "scratch-full")
    assert run.returncode == 0, run.stdout[-5000:]

    incremental_rows = query_rows(incremental, SESSIONS)
    full_rows = query_rows(full, SESSIONS)
    assert len(full_rows) > len(after_batch1) > 1000
    assert incremental_rows == full_rows

    # the second batch really reworked sessions of the first, not only appended new ones
    changed = set(after_batch1) - set(full_rows)
    assert len(changed) > 100


# ------------------------------------------------------------ rows that vanish


def _export_fixed(raw: Path, bad: Path, fixed: Path) -> dict[str, int]:
    """``bad``: the export with an event loaded in year 9999 and an order placed in 1900
    added. ``fixed``: the export as the next night delivers it: both removed, a fiftieth
    of the other events deleted (fixed at the source) and every event of three anonymous
    visitors withdrawn. Returns what was removed."""
    bad.mkdir(parents=True)
    fixed.mkdir(parents=True)
    con = duckdb.connect()
    try:
        def source(table: str) -> str:
            return f"read_csv('{raw / (table + '.csv')}', all_varchar = true)"

        gone_visitors = [row[0] for row in con.execute(
            f"select anonymous_id from {source('events')} where anonymous_id is not null"
            " group by anonymous_id having count(*) >= 3 order by anonymous_id limit 3"
        ).fetchall()]
        gone = ", ".join(f"'{visitor}'" for visitor in gone_visitors)
        keep = (f"hash(event_id) % 50 != 0 and coalesce(anonymous_id not in ({gone}), true)")
        deleted, = con.execute(
            f"select count(*) from {source('events')} where not ({keep})").fetchone()
        for table in TABLES:
            query = f"select * from {source(table.name)}"
            injected = ""
            if table.name == "events":
                injected = (f" union all select * replace ('e_from_9999' as event_id,"
                            f" '9999-12-31 00:00:00' as loaded_at) from ({query} limit 1)")
                fixed_query = f"{query} where {keep}"
            else:
                fixed_query = query
            if table.name == "orders":
                injected = (f" union all select * replace ('o_from_1900' as order_id,"
                            f" '1900-01-01 00:00:00' as ordered_at) from ({query} limit 1)")
            for folder, select in ((bad, query + injected), (fixed, fixed_query)):
                con.execute(f"copy ({select}) to '{folder / (table.name + '.csv')}'"
                            " (header, format csv)")
    finally:
        con.close()
    return {"deleted_events": deleted, "withdrawn_visitors": len(gone_visitors)}


# the web sessions, everything the journey builds on them and on the orders, and the
# rejected rows of every table
JOURNEY = "+tag:journey +int_rejected_rows_unioned"


def _build_journey(raw_dir: Path, database: Path, scratch: Path) -> None:
    run = run_cx_value(["build", "--raw-dir", str(raw_dir), "--select", JOURNEY],
                       {"CX_DUCKDB_PATH": str(database)}, scratch)
    assert run.returncode == 0, run.stdout[-5000:]


def _tables(database: Path) -> list[str]:
    return [f"{schema}.{name}" for schema, name in query_rows(
        database,
        "select table_schema, table_name from information_schema.tables"
        # the run log and the published run's id are per run, not data
        " where table_type = 'BASE TABLE'"
        " and table_schema not in ('meta', 'main', '_cx_publish')"
        " order by 1, 2",
    )]


def test_an_incremental_run_drops_what_the_export_no_longer_holds(tmp_path: Path) -> None:
    """A build of an export with a year-9999 loaded_at and a 1900 order, then an
    incremental build of the fixed export (those rows removed, events deleted, visitors
    withdrawn) gives every table a full refresh of the fixed export gives."""
    from cx_value.compare import compare_column_names, compare_rows

    raw = tmp_path / "raw"
    generated = run_cx_value(
        ["generate", "--out", str(raw), "--customers", "300", "--seed", "5",
         "--format", "csv"], {}, tmp_path / "scratch",
    )
    assert generated.returncode == 0, generated.stderr[-3000:]
    bad, fixed = tmp_path / "bad", tmp_path / "fixed"
    removed = _export_fixed(raw, bad, fixed)
    assert removed["deleted_events"] > 50

    incremental = tmp_path / "incremental.duckdb"
    scratch = tmp_path / "scratch"
    _build_journey(bad, incremental, scratch)
    # staging rejects both planted rows: the 9999 export time lies after the build's clock
    assert sorted(query_rows(incremental, """
        select raw_key, reject_reason from intermediate.int_rejected_rows_unioned
        where raw_key in ('e_from_9999', 'o_from_1900') order by 1""")) == [
        ("e_from_9999", "invalid_timestamp"), ("o_from_1900", "invalid_timestamp")]
    sessions_before = query_rows(incremental, SESSIONS)
    # a state written before staging rejected export times from the future: the run
    # still re-reads (the watermark never passes the build's clock) and rebuilds it
    working = incremental.parent / "work" / incremental.name
    con = duckdb.connect(str(working))
    try:
        con.execute("""
            update marts.fct_web_sessions set last_loaded_at = timestamp '9999-12-31'
            where session_id = (select min(session_id) from marts.fct_web_sessions)""")
    finally:
        con.close()

    _build_journey(fixed, incremental, scratch)
    compiled = next((scratch / "target" / "compiled").rglob("fct_web_sessions.sql")).read_text()
    assert "reread_from" in compiled, "the second run was not incremental"

    full = tmp_path / "full.duckdb"
    _build_journey(fixed, full, tmp_path / "scratch-full")

    tables = _tables(full)
    assert {"marts.fct_web_sessions", "marts.fct_journey_touchpoints",
            "marts.mart_early_warnings"} <= set(tables)
    assert len(tables) > 30
    assert _tables(incremental) == tables
    differences = []
    for table in tables:
        left = duckdb.connect(str(incremental), read_only=True)
        right = duckdb.connect(str(full), read_only=True)
        try:
            left_result = left.execute(f"select * from {table}")
            right_result = right.execute(f"select * from {table}")
            left_columns = [d[0] for d in left_result.description]
            differences += compare_column_names(
                table, left_columns, [d[0] for d in right_result.description])
            differences += compare_rows(
                table, left_columns, left_result.fetchall(), right_result.fetchall())
        finally:
            left.close()
            right.close()
    assert differences == [], "\n".join(map(str, differences))
    # the fixed export really changed the sessions the first build made
    assert len(set(sessions_before) - set(query_rows(full, SESSIONS))) > 20
