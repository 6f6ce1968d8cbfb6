"""The scale benchmark's pure helpers and its "one day of new data" writer."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from cx_value.contract import TABLES
from cx_value.generate import generate

ROOT = Path(__file__).resolve().parents[2]


def _load_scale():
    spec = importlib.util.spec_from_file_location("bench_scale", ROOT / "benchmarks" / "scale.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_scale"] = module
    spec.loader.exec_module(module)
    return module


scale = _load_scale()


# ------------------------------------------------------------------ pure helpers


def test_parse_sizes_reads_plain_and_suffixed_counts():
    assert scale.parse_sizes("10000,100k, 1M") == [10_000, 100_000, 1_000_000]


def test_growth_exponent_is_the_slope_on_log_log_axes():
    # 10x the customers: 10x the time is linear (1), 100x quadratic (2), 1x flat (0)
    assert scale.growth_exponent(30.0, 300.0, 100_000, 1_000_000) == pytest.approx(1.0)
    assert scale.growth_exponent(30.0, 3000.0, 100_000, 1_000_000) == pytest.approx(2.0)
    assert scale.growth_exponent(30.0, 30.0, 10_000, 100_000) == pytest.approx(0.0)
    # 2x the time for 10x the customers: log10(2)
    assert scale.growth_exponent(5.0, 10.0, 10_000, 100_000) == pytest.approx(0.30103, 1e-4)
    assert scale.growth_exponent(None, 10.0, 10_000, 100_000) is None


def test_median_ignores_runs_that_measured_nothing():
    assert scale.median([3.0, None, 1.0, 2.0]) == 2.0
    assert scale.median([None]) is None


def test_profile_settings_render_env_defaults_and_overrides():
    profile = """
cx_value:
  outputs:
    duckdb:
      type: duckdb
      threads: "{{ env_var('CX_THREADS', '2') | int }}"
      settings:
        memory_limit: "{{ env_var('CX_MEMORY', '6GB') }}"
    other:
      threads: 8
"""
    assert scale.duckdb_profile_settings(profile, {}) == {"threads": 2, "memory_limit": "6GB"}
    assert scale.duckdb_profile_settings(profile, {"CX_THREADS": "1"})["threads"] == 1


def test_profile_settings_of_the_project_profile_use_two_threads_by_default():
    text = (ROOT / "profiles.yml").read_text()
    assert scale.duckdb_profile_settings(text, {})["threads"] == 2


def test_floor_query_groups_each_table_by_its_customer_key(tmp_path):
    # planted: two customers' events (one by user id, one anonymous device), and an
    # order line grouped by its order
    con = duckdb.connect()
    events = tmp_path / "events.parquet"
    con.execute(
        "copy (select * from (values ('e1', 'a1', 'c1'), ('e2', 'a2', 'c1'), "
        "('e3', 'a3', null), ('e4', 'a3', null), ('e5', 'a3', null)) "
        f"as t(event_id, anonymous_id, user_id)) to '{events}' (format parquet)"
    )
    con.execute(scale.floor_query("events", events, ["event_id", "anonymous_id", "user_id"]))
    rows = con.execute(
        'select customer_key, row_count, "n_user_id" from floor_events order by 1').fetchall()
    assert rows == [("a3", 3, 0), ("c1", 2, 2)]
    assert scale.customer_key("order_lines") == "order_id"
    assert scale.customer_key("orders") == "customer_id"


def _line(customers: int, **overrides) -> dict:
    line = {
        "date": "2026-11-29T12:00:00+00:00",
        "customers": customers,
        "repeat": 3,
        "git_commit": "0123456789abcdef",
        "machine": {"cpu": "Test CPU", "cores": 2, "ram_gb": 24.0},
        "versions": {"python": "3.11.7", "dbt-core": "1.11.16", "dbt-duckdb": "1.11.1",
                     "duckdb": "2.0.0", "great-expectations": "1.24.1"},
        "rows": {"events": 377_891},
        "one_day": {"late_events": 567},
        "medians": {"floor_seconds": 0.5, "full_seconds": 60.0, "no_tests_seconds": 40.0,
                    "validation_seconds": 3.25, "incremental_seconds": 12.0},
        "peak_rss_mb": 2048.0,
        "incremental_check": None,
    }
    line.update(overrides)
    return line


def test_render_results_table_ratios_and_missing_sizes():
    check = {"passed": True, "tables_compared": 25, "incremental_models": ["fct_web_sessions"],
             "differences": []}
    lines = [
        _line(10_000, medians={"floor_seconds": 9.0, "full_seconds": 999.0}),  # superseded
        _line(10_000, incremental_check=check),
        _line(1_000_000, rows={"events": 38_144_455},
              medians={"floor_seconds": 74.0, "full_seconds": 740.0,
                       "no_tests_seconds": 500.0, "validation_seconds": 30.0,
                       "incremental_seconds": 37.0},
              peak_rss_mb=6000.0),
    ]
    text = scale.render_results(lines)
    # hand-computed: 60 / 0.5 = 120x, 12 / 60 = 20 %; 740 / 74 = 10x, 37 / 740 = 5 %
    assert ("| 10,000 | 377,891 | 0.50 s | 60.0 s | 40.0 s | 3.25 s | 12.0 s | 2.0 GB "
            "| 120.0x | 20% |") in text
    assert "| 100,000 | not run |" in text
    assert ("| 1,000,000 | 38,144,455 | 74.0 s | 740 s | 500 s | 30.0 s | 37.0 s | 5.9 GB "
            "| 10.0x | 5% |") in text
    # no 100k line: neither exponent can be computed
    assert "- 100,000 → 1,000,000: k = not run" in text
    assert "- 10,000 → 100,000: k = not run" in text
    assert "10,000 customers: holds — 25 tables compared (fct_web_sessions incremental)" in text
    assert "567 late-arriving events" in text
    assert ("| 10,000 | 2026-11-29T12:00:00+00:00 | 0123456789 "
            "| Test CPU, 2 cores, 24 GB RAM") in text
    assert "make bench SIZES=10000" in text
    assert "999" not in text


def test_render_results_growth_exponent_and_a_failed_check():
    check = {"passed": False, "tables_compared": 25, "incremental_models": ["fct_web_sessions"],
             "differences": ["fct_web_sessions: row count: 10 != 11"]}
    lines = [
        _line(100_000, medians={"floor_seconds": 5.0, "full_seconds": 100.0},
              incremental_check=check),
        _line(1_000_000, medians={"floor_seconds": 50.0, "full_seconds": 1000.0}),
    ]
    lines[1]["failed"] = {"incremental": ["test.cx_value.some_test.3fa1b3ca75"]}
    lines[1]["load_average"] = {"before": 1.25, "after": 3.5}
    text = scale.render_results(lines)
    assert "- 100,000 → 1,000,000: k = 1.00" in text
    assert "| 1,000 s | not run | not run | not run † |" in text
    assert "- 1,000,000, incremental: `some_test`" in text
    assert "| 1.2 / 3.5 |" in text
    assert "100,000 customers: FAILS" in text
    assert "  - fct_web_sessions: row count: 10 != 11" in text
    json.dumps(lines)  # the lines the renderer reads are plain JSON


# ------------------------------------------------------------------ one day of new data


@pytest.fixture(scope="module")
def one_day(tmp_path_factory):
    base = tmp_path_factory.mktemp("base")
    generate(base, customers=400, seed=3, fmt="parquet")
    out = tmp_path_factory.mktemp("day") / "one_day"
    return base, out, scale.write_one_day(base, out, seed=3)


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_one_day_adds_one_percent_new_events_with_new_unique_ids(one_day):
    base, out, _ = one_day
    con = duckdb.connect()
    base_ids = {r[0] for r in con.execute(
        f"select event_id from read_parquet('{base}/events.parquet')").fetchall()}
    all_ids = [r[0] for r in con.execute(
        f"select event_id from read_parquet('{out}/events.parquet')").fetchall()]
    new_ids = [i for i in all_ids if i not in base_ids]
    base_rows = con.execute(
        f"select count(*) from read_parquet('{base}/events.parquet')").fetchone()[0]
    # every base row is still there, plus about 1 % of new ones
    assert len(all_ids) - len(new_ids) == base_rows
    assert len(new_ids) == round(base_rows * 0.01)
    assert len(set(new_ids)) == len(new_ids)
    assert not set(new_ids) & base_ids


def test_one_day_loaded_at_and_event_times(one_day):
    base, out, day = one_day
    con = duckdb.connect()
    base_max_loaded = max(
        con.execute(f"select max(try_cast(loaded_at as timestamp)) from "
                    f"read_parquet('{base}/{t.name}.parquet')").fetchone()[0]
        for t in TABLES
    )
    base_max_event = con.execute(
        f"select max(try_cast(event_at as timestamp)) from read_parquet('{base}/events.parquet')"
        " where try_cast(event_at as timestamp) <= try_cast(loaded_at as timestamp)"
    ).fetchone()[0]
    new = con.execute(
        f"select cast(event_at as timestamp), cast(loaded_at as timestamp), anonymous_id, "
        f"user_id from read_parquet('{out}/events.parquet') as o "
        f"anti join read_parquet('{base}/events.parquet') as b on o.event_id = b.event_id "
        "where o.event_id is not null"
    ).fetchall()
    assert {r[1] for r in new} == {base_max_loaded + timedelta(days=1)}
    assert day.loaded_at == str(base_max_loaded + timedelta(days=1))
    late = [r for r in new if r[0] <= base_max_event - timedelta(days=1)]
    on_time = [r for r in new if base_max_loaded < r[0] <= base_max_loaded + timedelta(days=1)]
    # everything is either in the new day or one to five days late; 15 % late
    assert len(late) + len(on_time) == len(new)
    assert len(late) == round(len(new) * 0.15) == day.late_events
    assert all(r[0] >= base_max_event - timedelta(days=5) for r in late)
    # late events belong to visitors the base already knows
    visitors = {r[0] for r in con.execute(
        f"select coalesce(anonymous_id, user_id) from read_parquet('{base}/events.parquet')"
    ).fetchall()}
    assert all((r[2] or r[3]) in visitors for r in late)


def test_one_day_adds_orders_lines_and_answers_and_links_the_rest(one_day):
    base, out, day = one_day
    con = duckdb.connect()
    for table, key in (("orders", "order_id"), ("order_lines", "order_line_id"),
                       ("survey_responses", "response_id")):
        base_count, base_keys = con.execute(
            f"select count(*), count(distinct {key}) from read_parquet('{base}/{table}.parquet')"
        ).fetchone()
        count, keys = con.execute(
            f"select count(*), count(distinct {key}) from read_parquet('{out}/{table}.parquet')"
        ).fetchone()
        assert count - base_count == day.new_rows[table] > 0
        assert keys - base_keys == day.new_rows[table]  # new ids, all distinct and new
    orders = con.execute(
        f"select count(*) from read_parquet('{base}/orders.parquet')").fetchone()[0]
    assert day.new_rows["orders"] == round(orders * 0.01)
    # every new line belongs to a new order
    new_lines = con.execute(
        f"select l.order_id from read_parquet('{out}/order_lines.parquet') as l "
        f"anti join read_parquet('{base}/order_lines.parquet') as b "
        "on l.order_line_id = b.order_line_id where l.order_line_id is not null"
    ).fetchall()
    new_orders = {r[0] for r in con.execute(
        f"select order_id from read_parquet('{out}/orders.parquet') as o "
        f"anti join read_parquet('{base}/orders.parquet') as b on o.order_id = b.order_id "
        "where o.order_id is not null"
    ).fetchall()}
    assert len(new_lines) == day.new_rows["order_lines"]
    assert {r[0] for r in new_lines} == new_orders
    # columns and their order are the base file's
    for table in TABLES:
        columns = [r[0] for r in con.execute(
            f"describe select * from read_parquet('{out}/{table.name}.parquet')").fetchall()]
        base_columns = [r[0] for r in con.execute(
            f"describe select * from read_parquet('{base}/{table.name}.parquet')").fetchall()]
        assert columns == base_columns
    assert (out / "customers.parquet").stat().st_ino == (base / "customers.parquet").stat().st_ino


def test_one_day_is_deterministic_for_a_seed(one_day, tmp_path):
    base, out, _ = one_day
    again = scale.write_one_day(base, tmp_path / "again", seed=3)
    con = duckdb.connect()
    for table in ("events", "orders", "order_lines", "survey_responses"):
        query = "select * from read_parquet('{}/" + table + ".parquet') order by all"
        assert con.execute(query.format(out)).fetchall() == con.execute(
            query.format(again.folder)).fetchall()


def test_one_day_never_repeats_a_row_under_two_new_ids(one_day, tmp_path):
    # a row exported twice under one id is one template: its copy must not come back
    # as a second, distinct event or order (answers come as whole questionnaires: see
    # the next test). Half of every table is picked, so the generator's duplicated rows
    # are certainly among the templates.
    base, _, _ = one_day
    out = tmp_path / "half"
    day = scale.write_one_day(base, out, seed=3, share=0.5)
    con = duckdb.connect()
    duplicated = con.execute(
        f"select count(*) - count(distinct event_id) "
        f"from read_parquet('{base}/events.parquet')").fetchone()[0]
    assert duplicated > 0
    for table, key, content in (
        ("events", "event_id",
         "anonymous_id, user_id, event_type, event_at, page_url, referrer, campaign"),
        ("orders", "order_id", "customer_id, ordered_at"),
    ):
        rows, distinct = con.execute(
            f"select count(*), count(distinct ({content})) "
            f"from read_parquet('{out}/{table}.parquet') as o "
            f"anti join read_parquet('{base}/{table}.parquet') as b on o.{key} = b.{key} "
            f"where o.{key} is not null"
        ).fetchone()
        assert rows == distinct == day.new_rows[table]


def test_one_day_adds_whole_questionnaires(one_day, tmp_path):
    # answers given together come together: every new questionnaire holds the answers
    # (question types, repeats included) some questionnaire of the base holds, never a
    # lone expectation answer, say. Half of them are picked, so that questionnaires
    # whose answers carry their time in different forms are among them.
    base, _, _ = one_day
    out = tmp_path / "half"
    day = scale.write_one_day(base, out, seed=3, share=0.5)
    con = duckdb.connect()

    con.execute("set timezone = 'UTC'")

    def kinds(folder: Path, where: str) -> set[str]:
        # grouped as staging groups answers: the instant in UTC (one answer of a
        # questionnaire may carry an offset), not the text
        return {r[0] for r in con.execute(
            f"select string_agg(question_type, ',' order by question_type) "
            f"from read_parquet('{folder}/survey_responses.parquet') where {where} "
            "group by lower(trim(customer_id)), survey_id, touchpoint, "
            "cast(try_cast(answered_at as timestamptz) as timestamp)").fetchall()}

    new = kinds(out, f"loaded_at = '{day.loaded_at}'")
    assert new
    assert new <= kinds(base, "true")
    responses = con.execute(
        f"select count(*) from read_parquet('{base}/survey_responses.parquet')").fetchone()[0]
    assert 0.4 * responses < day.new_rows["survey_responses"] < 0.6 * responses


def test_short_node_drops_project_and_hash_and_cuts_long_names():
    assert scale.short_node("test.cx_value.not_null_x_id.3fa1b3ca75") == "not_null_x_id"
    assert scale.short_node("model.cx_value.fct_web_sessions") == "fct_web_sessions"
    long = scale.short_node("test.cx_value." + "a" * 300 + ".0123456789", width=20)
    assert long == "a" * 19 + "…"


def test_time_split_takes_the_tests_and_the_rest_by_difference():
    # hand-worked: 100 s wall = dbt 70 (of which 40 without tests) + gate 10 + publish 5
    split = scale.time_split({
        "full_seconds": 100.0, "full_dbt_seconds": 70.0, "no_tests_dbt_seconds": 40.0,
        "validation_seconds": 10.0, "publish_seconds": 5.0,
    })
    assert split == {"models": 40.0, "tests": 30.0, "validation": 10.0, "publish": 5.0,
                     "rest": 15.0}
    assert scale.time_split({"full_seconds": 100.0})["tests"] is None


def test_time_split_table_names_the_slowest_nodes():
    line = {"medians": {"full_seconds": 100.0, "full_dbt_seconds": 70.0,
                        "no_tests_dbt_seconds": 40.0, "validation_seconds": 10.0,
                        "publish_seconds": 5.0},
            "runs": [{"full": {"slowest": {"model.cx_value.base_web__events": 12.3}}}]}
    rows = scale.render_time_split({10_000: line})
    assert rows[-1] == ("| 10,000 | 40.0 s | 30.0 s | 10.0 s | 5.00 s | 15.0 s "
                        "| `base_web__events` 12 s |")


def test_peak_memory_is_the_child_s_own_not_the_benchmark_s(tmp_path):
    # the benchmark process grows first (as it does generating data), then measures a
    # child that touches 120 MB: the child's peak is about 120 MB plus Python, never the
    # parent's 400 MB
    ballast = bytearray(400 * 1024 * 1024)
    ballast[::4096] = b"x" * len(ballast[::4096])
    child = [sys.executable, "-c",
             "b = bytearray(120 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096])"]
    measured = scale.run_measured(child, dict(os.environ), tmp_path / "child.log")
    assert measured.returncode == 0
    assert 120 <= measured.max_rss_mb < 250, measured
    del ballast
