"""Scale benchmark: full build, incremental run and floor at 10k, 100k and 1M customers.

Usage: python benchmarks/scale.py [--sizes 10000,100000,1000000] [--repeat 3]
       [--repeat-large 1] [--seed 7] [--check-incremental-at 100000] [--cache-dir DIR]

For each size it generates (or reuses) a Parquet data set and "one day of new data" on
top of it, then measures, as medians over ``--repeat`` runs each in a fresh folder:

- the floor: DuckDB reads every raw file once and aggregates it per customer, one
  grouped query per raw table, with the dbt profile's threads and memory settings;
- `cx-value build` with tests (dbt build, validation gate, publish) and without tests;
- an incremental `cx-value build` of the one-day folder on top of the full build;
- the peak memory (max RSS) of each measured process.

At ``--check-incremental-at`` sizes the incremental database is compared row for row
with a full refresh of the same folder (every public mart and every incremental model);
a difference makes the run exit 1. One JSON line per size goes to
benchmarks/results/scale.jsonl and benchmarks/results.md is rendered from the latest
line of each size.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import duckdb

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    # run as a script from a checkout: import this checkout's package
    sys.path.insert(0, str(ROOT))

from cx_value.contract import EVENT_TYPES, ORDER_STATUSES, TABLES  # noqa: E402
from cx_value.profiles import duckdb_settings  # noqa: E402
from cx_value.sql_text import literal  # noqa: E402

RESULTS_JSONL = ROOT / "benchmarks" / "results" / "scale.jsonl"
BENCH_SALT = "cx-value-benchmark-salt"
RESULTS_MD = ROOT / "benchmarks" / "results.md"
DEFAULT_CACHE = ROOT / ".data" / "bench"
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
# sizes from which on --repeat-large applies: a 1M build takes most of an hour
LARGE_SIZE = 1_000_000
# dbt's two kinds of tests: data tests and unit tests
NO_TESTS = "resource_type:test resource_type:unit_test"
VERSIONED = ("dbt-core", "dbt-duckdb", "duckdb", "great-expectations")
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


# ------------------------------------------------------------------ pure helpers


def customer_key(table: str) -> str:
    """The SQL expression that groups one raw table per customer for the floor.

    Order lines carry no customer, only their order; web events carry a customer once
    the visitor logged in, else only the device id, which is what sessions group by.
    """
    if table == "events":
        return "coalesce(user_id, anonymous_id)"
    if table == "order_lines":
        return "order_id"
    if table == "referrals":
        return "referrer_customer_id"
    return "customer_id"


def floor_query(table: str, path: Path, columns: Sequence[str]) -> str:
    """One grouped query reading every column of one raw file, materialised as a temp
    table so that DuckDB cannot skip any of the work."""
    counts = ", ".join(f'count("{c}") as "n_{c}"' for c in columns)
    source = "read_parquet(" + literal(str(path)) + ")"
    return (
        f'create or replace temp table "floor_{table}" as '
        f"select {customer_key(table)} as customer_key, count(*) as row_count, {counts} "
        f"from {source} group by customer_key"
    )


def duckdb_profile_settings(profile_text: str, env: Mapping[str, str]) -> dict[str, Any]:
    """The threads and DuckDB settings of the profile's ``duckdb`` target, rendered the
    way dbt renders profiles.yml (``env_var`` with its default), so the floor runs with
    what the build runs with."""
    settings: dict[str, Any] = dict(duckdb_settings(env, profile_text))
    settings["threads"] = int(settings["threads"])
    return settings


def median(values: Iterable[float | None]) -> float | None:
    """Median of the values that were measured (None when none was)."""
    measured = [v for v in values if v is not None]
    return round(statistics.median(measured), 3) if measured else None


def growth_exponent(small_seconds: float | None, large_seconds: float | None,
                    small_size: int, large_size: int) -> float | None:
    """k in time ~ size^k between two sizes: 1 is linear, below 1 better than linear."""
    if not small_seconds or not large_seconds:
        return None
    return math.log(large_seconds / small_seconds) / math.log(large_size / small_size)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def parse_sizes(text: str) -> list[int]:
    """`10000,100000` (also `10k`, `1M`) as a list of customer counts."""
    sizes = []
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        factor = {"k": 1_000, "m": 1_000_000}.get(part[-1].lower(), 1)
        number = part[:-1] if factor != 1 else part
        sizes.append(int(float(number) * factor))
    return sizes


def dataset_dir(cache: Path, seed: int, customers: int) -> Path:
    return cache / f"seed{seed}-{customers}"


def latest_per_size(lines: Iterable[Mapping[str, Any]]) -> dict[int, Mapping[str, Any]]:
    """The last recorded line of each size (lines in file order)."""
    latest: dict[int, Mapping[str, Any]] = {}
    for line in lines:
        latest[int(line["customers"])] = line
    return latest


def _fmt_seconds(value: float | None) -> str:
    if value is None:
        return "not run"
    if value < 10:
        return f"{value:.2f} s"
    if value < 100:
        return f"{value:.1f} s"
    return f"{value:,.0f} s"


def _fmt_ratio(value: float | None, unit: str = "x") -> str:
    return "-" if value is None else f"{value:.1f}{unit}"


def _fmt_share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _fmt_mb(value: float | None) -> str:
    if value is None:
        return "not run"
    return f"{value / 1024:.1f} GB" if value >= 1024 else f"{value:,.0f} MB"


def _fmt_load(load: Mapping[str, float] | None) -> str:
    if not load:
        return "-"
    return f"{load['before']:.1f} / {load['after']:.1f}"


def _fmt_exponent(value: float | None) -> str:
    return "not run" if value is None else f"{value:.2f}"


def time_split(medians: Mapping[str, Any]) -> dict[str, float | None]:
    """Where a full build's wall time goes, from the medians of one size: dbt's models
    (the build without tests), the tests (the difference), the gate, the publish, and
    the rest (start-up, dbt's parse, the raw-file check)."""
    def get(key: str) -> float | None:
        value = medians.get(key)
        return None if value is None else float(value)

    full, dbt, no_tests_dbt = get("full_seconds"), get("full_dbt_seconds"), get(
        "no_tests_dbt_seconds")
    validation, publish = get("validation_seconds"), get("publish_seconds")
    tests = None if dbt is None or no_tests_dbt is None else max(dbt - no_tests_dbt, 0.0)
    rest = (None if None in (full, dbt, validation, publish)
            else max(full - dbt - validation - publish, 0.0))  # type: ignore[operator]
    return {"models": no_tests_dbt, "tests": tests, "validation": validation,
            "publish": publish, "rest": rest}


def render_time_split(latest: Mapping[int, Mapping[str, Any]]) -> list[str]:
    """The "where the time goes" table: one row per size, and the slowest dbt nodes."""
    out = [
        "Where a full build's time goes (medians; models = dbt without tests, tests = the "
        "difference, rest = start-up, dbt's parse and the raw-file check):",
        "",
        "| customers | dbt: models | dbt: tests | validation | publish | rest "
        "| slowest dbt nodes (one full build) |",
        "|---:|---:|---:|---:|---:|---:|---|",
    ]
    for size in sorted(latest):
        line = latest[size]
        split = time_split(line["medians"])
        slowest = (line.get("runs") or [{}])[0].get("full", {}).get("slowest") or {}
        nodes = ", ".join(f"`{short_node(node, 40)}` {seconds:.0f} s"
                          for node, seconds in list(slowest.items())[:3])
        out.append(
            f"| {size:,} | " + " | ".join(_fmt_seconds(split[k]) for k in (
                "models", "tests", "validation", "publish", "rest")) + f" | {nodes or '-'} |"
        )
    return out


def render_results(lines: Sequence[Mapping[str, Any]],
                   sizes: Sequence[int] = DEFAULT_SIZES) -> str:
    """benchmarks/results.md from the JSON lines: the latest line of each size."""
    latest = latest_per_size(lines)
    out = [
        "# Benchmarks at scale",
        "",
        "Generated by `benchmarks/scale.py` from `benchmarks/results/scale.jsonl` (the "
        "latest line of each size); times are medians of the runs in the line.",
        "",
        "| customers | web events | floor | full build with tests | without tests "
        "| validation | incremental (1 % new) | peak RSS | full / floor | incremental / full |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size in sorted(set(sizes) | set(latest)):
        line = latest.get(size)
        if line is None:
            out.append(f"| {size:,} | not run | not run | not run | not run | not run "
                       "| not run | not run | - | - |")
            continue
        m = line["medians"]
        full = m.get("full_seconds")
        failed = line.get("failed") or {}

        def timed(kind: str, failed: Mapping[str, Any] = failed, m: Mapping = m) -> str:
            mark = " †" if kind in failed else ""
            return _fmt_seconds(m.get(f"{kind}_seconds")) + mark

        out.append(
            f"| {size:,} | {line['rows']['events']:,} | {_fmt_seconds(m.get('floor_seconds'))} "
            f"| {timed('full')} | {timed('no_tests')} "
            f"| {_fmt_seconds(m.get('validation_seconds'))} "
            f"| {timed('incremental')} "
            f"| {_fmt_mb(line.get('peak_rss_mb'))} "
            f"| {_fmt_ratio(ratio(full, m.get('floor_seconds')))} "
            f"| {_fmt_share(ratio(m.get('incremental_seconds'), full))} |"
        )

    notes = [(size, latest[size]["peak_rss_note"]) for size in sorted(latest)
             if latest[size].get("peak_rss_note")]
    if notes:
        out.append("")
        out += [f"Peak RSS at {size:,} customers: {note}" for size, note in notes]

    failures = [(size, kind, nodes) for size in sorted(latest)
                for kind, nodes in (latest[size].get("failed") or {}).items()]
    if failures:
        out += ["", "† The build failed, so it stopped before validation and publishing "
                "(its time is dbt's alone):"]
        out += [f"- {size:,}, {kind.replace('_', ' ')}: "
                + ", ".join(f"`{short_node(node)}`" for node in nodes[:10])
                for size, kind, nodes in failures]

    def full_at(size: int) -> float | None:
        line = latest.get(size)
        return line["medians"].get("full_seconds") if line else None

    def exponent(small: int, large: int) -> str:
        return _fmt_exponent(growth_exponent(full_at(small), full_at(large), small, large))

    out += ["", *render_time_split(latest)]
    out += [
        "",
        "Growth exponent of the full build with tests (time ~ customers^k; 1 is linear):",
        "",
        f"- 100,000 → 1,000,000: k = {exponent(100_000, 1_000_000)}",
        f"- 10,000 → 100,000: k = {exponent(10_000, 100_000)}",
        "",
        "## Incremental run = full refresh",
        "",
    ]
    checks = [(size, latest[size]["incremental_check"]) for size in sorted(latest)
              if latest[size].get("incremental_check")]
    if not checks:
        out.append("not run")
    for size, check in checks:
        verdict = "holds" if check["passed"] else "FAILS"
        out.append(
            f"- {size:,} customers: {verdict} — {check['tables_compared']} tables compared "
            f"({', '.join(check['incremental_models']) or 'no incremental models'} "
            f"incremental) after one day of new data with "
            f"{line_late(latest[size])} late-arriving events"
        )
        out.extend(f"  - {difference}" for difference in check["differences"][:20])
    out += ["", "## Machine, versions, date", "", "| customers | date | commit | machine "
            "| load (1 min) before / after | python | dbt-core | dbt-duckdb | duckdb "
            "| great-expectations | runs |",
            "|---:|---|---|---|---|---|---|---|---|---|---:|"]
    for size in sorted(latest):
        line = latest[size]
        mach = line["machine"]
        ver = line["versions"]
        out.append(
            f"| {size:,} | {line['date']} | {line['git_commit'][:10]} "
            f"| {mach['cpu']}, {mach['cores']} cores, {mach['ram_gb']:.0f} GB RAM "
            f"| {_fmt_load(line.get('load_average'))} | {ver['python']} "
            f"| {ver['dbt-core']} | {ver['dbt-duckdb']} | {ver['duckdb']} "
            f"| {ver['great-expectations']} | {line['repeat']} |"
        )
    out += [
        "",
        "Floor: DuckDB reads every raw Parquet file once and aggregates it per customer "
        "(one grouped query per raw table, every column read), with the threads and "
        "settings of the dbt profile. Full build: `cx-value build --raw-dir` on a fresh "
        "database (dbt build, validation gate, publish); without tests: the same with "
        f"`--exclude '{NO_TESTS}'`. Validation: the gate's own time. Incremental: "
        "`cx-value build` of the base folder plus one day of new data (about 1 % of the "
        "events, some arriving late; new orders and survey answers) on top of the full "
        "build. Peak RSS: the largest resident memory of any measured process.",
        "",
        "Reproduce: `make bench` (every size; `make bench SIZES=10000` for one size, "
        "`REPEAT=1` for one run each).",
        "",
    ]
    return "\n".join(out)


def short_node(unique_id: str, width: int = 100) -> str:
    """A dbt node id without its project and hash, cut to ``width`` characters (data
    test names spell out their whole expression)."""
    parts = unique_id.split(".")
    if len(parts) >= 3 and parts[0] == "test":
        name = ".".join(parts[2:-1]) if len(parts) > 3 else parts[2]
    else:
        name = ".".join(parts[2:]) or unique_id
    return name if len(name) <= width else name[: width - 1] + "…"


def line_late(line: Mapping[str, Any]) -> str:
    one_day = line.get("one_day") or {}
    late = one_day.get("late_events")
    return "?" if late is None else f"{late:,}"


# ------------------------------------------------------------------ data sets


def _write_marker(path: Path, payload: Mapping[str, Any]) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    os.replace(temp, path)


def _read_marker(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def ensure_dataset(cache: Path, seed: int, customers: int) -> tuple[Path, dict[str, int]]:
    """The raw folder of ``customers`` generated with ``seed``: reused when its marker
    says it is complete, else generated (the marker is written last)."""
    from cx_value.generate import generate

    folder = dataset_dir(cache, seed, customers)
    raw = folder / "raw"
    marker = folder / "raw.json"
    found = _read_marker(marker)
    if found and found.get("complete") and all(
        (raw / f"{t.name}.parquet").is_file() for t in TABLES
    ):
        return raw, found["rows"]
    marker.unlink(missing_ok=True)
    if raw.exists():
        shutil.rmtree(raw)
    folder.mkdir(parents=True, exist_ok=True)
    _log(f"generating {customers:,} customers (seed {seed}) into {raw}")
    summary = generate(raw, customers=customers, seed=seed, fmt="parquet")
    _write_marker(marker, {"complete": True, "customers": customers, "seed": seed,
                           "rows": summary.rows, "seconds": summary.seconds})
    return raw, summary.rows


@dataclass(frozen=True)
class OneDay:
    """What one day of new data added to a base export."""

    folder: Path
    loaded_at: str
    new_rows: dict[str, int]
    late_events: int
    base_max_loaded_at: str
    base_max_event_at: str


def _ts(expression: str) -> str:
    # as staging parses raw time text (cx_parse_timestamp_utc): an offset is honoured
    # and the instant expressed in UTC (the session's time zone), a naive value is UTC
    return f"cast(try_cast({expression} as timestamptz) as timestamp)"


def _in_list(values: Iterable[str]) -> str:
    return "(" + ", ".join(literal(v) for v in values) + ")"


def write_one_day(base: Path, out: Path, seed: int, share: float = 0.01,
                  late_share: float = 0.15, late_days: int = 5) -> OneDay:
    """Write ``out``: the base raw folder plus one day of new data.

    About ``share`` of the events are new (new event ids, loaded_at = the base export's
    latest loaded_at + 1 day); ``late_share`` of them arrive late: each follows an
    existing event of the same visitor by up to 20 minutes, 1 to ``late_days`` days
    before the base's latest event, so it joins, extends or bridges an existing session.
    The rest happen within the new day, for existing visitors. Orders (with copies of
    their lines) and survey questionnaires (all answers given together) grow by the same
    share with new ids. Rows are picked
    and placed by hashes of their ids salted with ``seed``, so the same base and seed
    always give the same rows. Every other table is hard-linked.
    """
    tmp = out.with_name(f".{out.name}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    con = duckdb.connect()
    con.execute("set timezone = 'UTC'")
    try:
        def src(table: str) -> str:
            return "read_parquet(" + literal(str(base / f"{table}.parquet")) + ")"

        # the export moment: the latest loaded_at of any table in the base folder
        export_at = max(
            con.execute(f"select max({_ts('loaded_at')}) from {src(t.name)}").fetchone()[0]  # type: ignore[index]
            for t in TABLES
        )
        max_event_at = con.execute(
            f"select max({_ts('event_at')}) from {src('events')} "
            f"where {_ts('event_at')} <= {_ts('loaded_at')}"
        ).fetchone()[0]  # type: ignore[index]
        new_loaded = con.execute(
            "select ?::timestamp + interval 1 day", [export_at]).fetchone()[0]  # type: ignore[index]
        day_tag = new_loaded.strftime("%Y%m%d")
        con.execute(f"set variable export_at = timestamp '{export_at}'")
        con.execute(f"set variable new_loaded = timestamp '{new_loaded}'")
        con.execute(f"set variable max_event_at = timestamp '{max_event_at}'")

        def pick(salt: str, key: str) -> str:
            # deterministic stand-in for random(): a hash of the row's id and the seed
            return f"hash({literal(f'{seed}:{salt}:')} || {key})"

        def in_new_day(key: str) -> str:
            # a second within the new day, never after the new export (future rows are
            # rejected by staging)
            return (f"strftime(getvariable('export_at') + to_seconds(cast(1 + "
                    f"{pick('at', key)} % 86399 as bigint)), '{TIMESTAMP_FORMAT}')")

        def latest_copy(key: str) -> str:
            # an export may hold a row twice under one id (staging keeps the latest):
            # one template per id, else both copies would come back as two new rows
            return (f"and {key} is not null qualify row_number() over (partition by {key} "
                    f"order by loaded_at desc) = 1")

        new_loaded_text = literal(new_loaded.strftime(TIMESTAMP_FORMAT))
        rows: dict[str, int] = {}

        # ---- events
        (base_events,) = con.execute(f"select count(*) from {src('events')}").fetchone()  # type: ignore[misc]
        total_new = round(base_events * share)
        late = round(total_new * late_share)
        on_time = total_new - late
        con.execute(f"""
            create temp table templates as
            select *, {_ts('event_at')} as parsed_event_at
            from {src('events')}
            where {_ts('event_at')} <= {_ts('loaded_at')}
              and event_type in {_in_list(EVENT_TYPES)}
              and coalesce(anonymous_id, user_id) is not null
            {latest_copy('event_id')}
        """)
        con.execute(f"""
            create temp table new_events as
            with on_time as (
                select *, false as is_late,
                    {in_new_day('event_id')} as new_event_at
                from templates
                order by {pick('event', 'event_id')}, event_id
                limit {on_time}
            ),
            late_events as (
                select *, true as is_late,
                    strftime(parsed_event_at + to_seconds(cast(1 + {pick('late_at', 'event_id')}
                        % 1200 as bigint)), '{TIMESTAMP_FORMAT}') as new_event_at
                from templates
                where parsed_event_at between
                    getvariable('max_event_at') - interval {late_days} day
                    and getvariable('max_event_at') - interval 1 day - interval 20 minute
                order by {pick('late', 'event_id')}, event_id
                limit {late}
            ),
            picked as (
                select * from on_time
                union all
                select * from late_events
            )
            select
                'e{day_tag}n' || lpad(cast(row_number() over (
                    order by is_late, new_event_at, event_id) as varchar), 9, '0')
                    as event_id,
                anonymous_id, user_id, event_type, new_event_at as event_at,
                page_url, referrer, campaign, {new_loaded_text} as loaded_at, is_late
            from picked
        """)
        rows["events"] = con.execute("select count(*) from new_events").fetchone()[0]  # type: ignore[index]
        (late_rows,) = con.execute("select count(*) from new_events where is_late").fetchone()  # type: ignore[misc]

        # ---- orders and their lines: plain orders of existing customers, re-placed
        (base_orders,) = con.execute(f"select count(*) from {src('orders')}").fetchone()  # type: ignore[misc]
        con.execute(f"""
            create temp table new_orders as
            with picked as (
                select * from {src('orders')}
                where {_ts('ordered_at')} <= {_ts('loaded_at')}
                  and status in {_in_list(ORDER_STATUSES)}
                  and coalesce(order_type, 'order') = 'order'
                  and original_order_id is null and subscription_id is null
                {latest_copy('order_id')}
                order by {pick('order', 'order_id')}, order_id
                limit {round(base_orders * share)}
            )
            select
                'o{day_tag}n' || lpad(cast(row_number() over (order by order_id)
                    as varchar), 7, '0') as order_id,
                customer_id, {in_new_day('order_id')} as ordered_at, channel, status,
                order_type, original_order_id, subscription_id, currency,
                {new_loaded_text} as loaded_at,
                order_id as template_order_id
            from picked
        """)
        con.execute(f"""
            create temp table new_order_lines as
            select
                'l{day_tag}n' || lpad(cast(row_number() over (
                    order by new_orders.order_id, lines.order_line_id) as varchar), 8, '0')
                    as order_line_id,
                new_orders.order_id, lines.product_id, lines.quantity, lines.list_price,
                lines.realised_price, lines.unit_cost, {new_loaded_text} as loaded_at
            from {src('order_lines')} as lines
            inner join new_orders on lines.order_id = new_orders.template_order_id
        """)
        rows["orders"] = con.execute("select count(*) from new_orders").fetchone()[0]  # type: ignore[index]
        rows["order_lines"] = con.execute("select count(*) from new_order_lines").fetchone()[0]  # type: ignore[index]

        # ---- survey answers: whole questionnaires (the answers one customer gave to one
        # survey at one moment, as staging groups them) answered within the new day, sent
        # as long before as the template was
        questionnaire = (
            "concat_ws('|', lower(trim(customer_id)), lower(trim(survey_id)), "
            f"lower(trim(touchpoint)), cast({_ts('answered_at')} as varchar))"
        )
        con.execute(f"""
            create temp table answers as
            select *, {_ts('answered_at')} as parsed_answered_at,
                {_ts('sent_at')} as parsed_sent_at, {questionnaire} as questionnaire
            from {src('survey_responses')}
            where {_ts('answered_at')} <= {_ts('loaded_at')}
            {latest_copy('response_id')}
        """)
        (questionnaires,) = con.execute(  # type: ignore[misc]
            "select count(distinct questionnaire) from answers").fetchone()
        con.execute(f"""
            create temp table new_responses as
            with picked as (
                -- one answer per question type: a questionnaire the export holds twice
                -- under two ids would come back as one with a question answered twice
                select questionnaire
                from answers
                group by questionnaire
                having count(*) = count(distinct lower(trim(question_type)))
                order by {pick('questionnaire', 'questionnaire')}, questionnaire
                limit {round(questionnaires * share)}
            ),
            placed as (
                select answers.*,
                    getvariable('export_at') + to_seconds(cast(
                        1 + {pick('answered', 'answers.questionnaire')} % 86399 as bigint))
                        as new_answered_at
                from answers
                inner join picked on answers.questionnaire = picked.questionnaire
            )
            select
                'r{day_tag}n' || lpad(cast(row_number() over (
                    order by questionnaire, response_id) as varchar), 8, '0') as response_id,
                customer_id, contact_id, survey_id, stage, touchpoint, question_type,
                score, scale_direction, comment,
                strftime(new_answered_at - (parsed_answered_at - parsed_sent_at),
                    '{TIMESTAMP_FORMAT}') as sent_at,
                strftime(new_answered_at, '{TIMESTAMP_FORMAT}') as answered_at,
                {new_loaded_text} as loaded_at
            from placed
        """)
        rows["survey_responses"] = con.execute(  # type: ignore[index]
            "select count(*) from new_responses").fetchone()[0]

        appended = {"events": "new_events", "orders": "new_orders",
                    "order_lines": "new_order_lines", "survey_responses": "new_responses"}
        for table in TABLES:
            target = tmp / f"{table.name}.parquet"
            if table.name not in appended:
                try:
                    os.link(base / target.name, target)
                except OSError:
                    shutil.copyfile(base / target.name, target)
                continue
            # the base file's own columns in its own order (optional columns may be
            # missing from a file)
            columns = [r[0] for r in con.execute(
                f"select name from parquet_schema({literal(str(base / target.name))}) "
                "where num_children is null").fetchall()]
            selected = ", ".join(f'"{c}"' for c in columns)
            con.execute(
                f"copy (select {selected} from {src(table.name)} union all "
                f"select {selected} from {appended[table.name]}) "
                f"to {literal(str(target))} (format parquet, compression zstd)"
            )
    finally:
        con.close()
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)
    return OneDay(folder=out, loaded_at=new_loaded.strftime(TIMESTAMP_FORMAT),
                  new_rows=rows, late_events=late_rows,
                  base_max_loaded_at=str(export_at), base_max_event_at=str(max_event_at))


def ensure_one_day(cache: Path, seed: int, customers: int, base: Path) -> OneDay:
    """The one-day folder beside the cached base folder, written once."""
    folder = dataset_dir(cache, seed, customers)
    marker = folder / "one_day.json"
    found = _read_marker(marker)
    out = folder / "one_day"
    if found and found.get("complete") and all(
        (out / f"{t.name}.parquet").is_file() for t in TABLES
    ):
        return OneDay(folder=out, loaded_at=found["loaded_at"], new_rows=found["new_rows"],
                      late_events=found["late_events"],
                      base_max_loaded_at=found["base_max_loaded_at"],
                      base_max_event_at=found["base_max_event_at"])
    marker.unlink(missing_ok=True)
    _log(f"writing one day of new data into {out}")
    day = write_one_day(base, out, seed)
    _write_marker(marker, {"complete": True, "loaded_at": day.loaded_at,
                           "new_rows": day.new_rows, "late_events": day.late_events,
                           "base_max_loaded_at": day.base_max_loaded_at,
                           "base_max_event_at": day.base_max_event_at})
    return day


# ------------------------------------------------------------------ measuring


@dataclass(frozen=True)
class Measured:
    """One measured child process: wall time, peak RSS, exit code, captured output."""

    seconds: float
    max_rss_mb: float
    returncode: int
    log: Path


# Runs the measured command in a grandchild forked from this small process, and writes
# its wait4() peak RSS (KiB) to the file named first. A child that Python starts with
# vfork (subprocess does when it can) inherits the parent's peak RSS at exec, so a
# benchmark that itself grew (generating data, comparing builds in DuckDB) would report
# its own peak for every build; a fork from a 10 MB launcher reports the build's own.
_LAUNCHER = """
import os, sys
out, command = sys.argv[1], sys.argv[2:]
pid = os.fork()
if pid == 0:
    os.execvp(command[0], command)
_, status, usage = os.wait4(pid, 0)
with open(out, "w") as handle:
    handle.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_measured(command: Sequence[str], env: Mapping[str, str], log: Path) -> Measured:
    """Run ``command`` in a fresh process and return its wall time and peak memory.

    The peak comes from wait4() in a small launcher (``_LAUNCHER``): on Linux the rusage
    of a reaped child holds the larger of its own peak RSS and that of every descendant
    it reaped, so it covers dbt's threads (one process) and any subprocess it starts.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    peak_file = log.with_name(f".{log.name}.maxrss")
    with log.open("w") as handle:
        started = time.perf_counter()
        child = subprocess.run(
            [sys.executable, "-S", "-c", _LAUNCHER, str(peak_file), *command], cwd=ROOT,
            env=dict(env), stdout=handle, stderr=subprocess.STDOUT, check=False)
        seconds = time.perf_counter() - started
    max_rss_kib = int(peak_file.read_text()) if peak_file.exists() else 0
    peak_file.unlink(missing_ok=True)
    return Measured(seconds=round(seconds, 3), max_rss_mb=round(max_rss_kib / 1024, 1),
                    returncode=child.returncode, log=log)


def base_env() -> dict[str, str]:
    """The environment of every measured process: this checkout's package first, and
    none of the variables a build sets for itself."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CX_", "DBT_"))}
    for name in ("CX_THREADS",):
        if name in os.environ:
            env[name] = os.environ[name]
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    # generated data is not the demo: it needs a salt of its own (any, kept per run)
    env["CX_PII_SALT"] = os.environ.get("CX_PII_SALT") or BENCH_SALT
    return env


def build_env(run_dir: Path) -> dict[str, str]:
    """A build into ``run_dir``: its own published and working database, dbt target and
    logs, so runs never share state."""
    env = base_env()
    env["CX_DUCKDB_PATH"] = str(run_dir / "cx_value.duckdb")
    env["DBT_TARGET_PATH"] = str(run_dir / "target")
    env["DBT_LOG_PATH"] = str(run_dir / "logs")
    return env


def run_build(raw: Path, run_dir: Path, label: str, *, extra: Sequence[str] = ()) -> dict:
    """`cx-value build --raw-dir raw` into ``run_dir``; wall time, phases, peak RSS."""
    run_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "cx_value.cli", "build", "--raw-dir", str(raw), *extra]
    _log(f"  {label}: {' '.join(command[2:])}")
    measured = run_measured(command, build_env(run_dir), run_dir / f"{label}.log")
    status = _read_marker(run_dir / "last_run.json") or {}
    results = _read_marker(run_dir / "target" / "run_results.json") or {}
    validation = status.get("validation") or {}
    nodes = results.get("results", [])
    kinds: dict[str, int] = {}
    for node in nodes:
        kind = node["unique_id"].split(".")[0]
        kinds[kind] = kinds.get(kind, 0) + 1
    slowest = sorted(nodes, key=lambda n: -(n.get("execution_time") or 0))[:5]
    outcome = {
        "seconds": measured.seconds,
        "succeeded": measured.returncode == 0,
        "max_rss_mb": measured.max_rss_mb,
        "dbt_seconds": results.get("elapsed_time") and round(results["elapsed_time"], 3),
        "validation_seconds": validation.get("seconds"),
        "publish_seconds": status.get("publish_seconds"),
        "nodes": kinds,
        "failed_nodes": [n["unique_id"] for n in nodes
                         if n.get("status") in ("error", "fail")],
        "slowest": {n["unique_id"]: round(n.get("execution_time") or 0, 2) for n in slowest},
    }
    _log(f"    {measured.seconds:.1f} s (dbt {outcome['dbt_seconds']} s, validation "
         f"{outcome['validation_seconds']} s, publish {outcome['publish_seconds']} s), "
         f"{measured.max_rss_mb:,.0f} MB" + ("" if outcome["succeeded"] else
                                            f", FAILED: see {measured.log}"))
    return outcome


def run_floor(raw: Path, settings: Mapping[str, Any], log: Path) -> dict:
    """The floor in a fresh child (its own DuckDB, its own peak memory)."""
    command = [sys.executable, str(Path(__file__).resolve()), "_floor", str(raw),
               json.dumps(dict(settings))]
    measured = run_measured(command, base_env(), log)
    if measured.returncode != 0:
        raise RuntimeError(f"the floor query failed: see {log}")
    result = json.loads(log.read_text().strip().splitlines()[-1])
    result["max_rss_mb"] = measured.max_rss_mb
    _log(f"  floor: {result['seconds']:.2f} s, {measured.max_rss_mb:,.0f} MB")
    return result


def floor_child(raw: Path, settings: Mapping[str, Any]) -> dict:
    """Run the floor queries (inside the child) and return per-table and total times."""
    con = duckdb.connect(config={k: str(v) for k, v in settings.items()})
    per_table: dict[str, float] = {}
    for table in TABLES:
        path = raw / f"{table.name}.parquet"
        columns = [r[0] for r in con.execute(
            f"select name from parquet_schema({literal(str(path))}) "
            "where num_children is null").fetchall()]
        started = time.perf_counter()
        con.execute(floor_query(table.name, path, columns))
        per_table[table.name] = round(time.perf_counter() - started, 4)
    con.close()
    return {"seconds": round(sum(per_table.values()), 4), "per_table": per_table}


# ------------------------------------------------------------------ incremental = full


def incremental_models(manifest_path: Path) -> list[tuple[str, str]]:
    """(schema, table) of every incremental model in the manifest."""
    manifest = json.loads(manifest_path.read_text())
    return sorted(
        (node["schema"], node.get("alias") or node["name"])
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["config"].get("materialized") == "incremental"
    )


def compare_builds(incremental_db: Path, full_db: Path, manifest_path: Path) -> dict:
    """Every public mart and incremental model of two databases, row for row."""
    from cx_value.compare import compare_column_names, compare_rows
    from cx_value.publish import MART_SCHEMA, public_mart_names

    left = duckdb.connect(str(incremental_db), read_only=True)
    right = duckdb.connect(str(full_db), read_only=True)
    try:
        marts, _ = public_mart_names(left, manifest_path)
        incrementals = incremental_models(manifest_path)
        tables = sorted({(MART_SCHEMA, m) for m in marts} | set(incrementals))
        differences: list[str] = []
        for schema, name in tables:
            relation = f'"{schema}"."{name}"'
            missing = [side for side, con in (("incremental", left), ("full refresh", right))
                       if not _exists(con, schema, name)]
            if missing:
                differences.append(f"{relation}: missing in the {' and the '.join(missing)} "
                                   "build")
                continue
            found = []
            for con in (left, right):
                result = con.execute(f"select * from {relation}")
                found.append(([d[0] for d in result.description], result.fetchall()))
            (lcols, lrows), (rcols, rrows) = found
            diffs = compare_column_names(name, lcols, rcols) or compare_rows(
                name, lcols, lrows, rrows)
            if diffs:
                differences.extend(str(d) for d in diffs)
                differences.append(_only_on_one_side(incremental_db, full_db, relation))
    finally:
        left.close()
        right.close()
    return {
        "passed": not differences,
        "tables_compared": len(tables),
        "incremental_models": [name for _, name in incrementals],
        "differences": differences,
    }


def _exists(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    return con.execute(
        "select count(*) from information_schema.tables where table_schema = ? "
        "and table_name = ?", [schema, name]).fetchone()[0] > 0  # type: ignore[index]


def _only_on_one_side(incremental_db: Path, full_db: Path, relation: str) -> str:
    """How many rows each side has that the other lacks (exact comparison; a diagnostic
    next to compare_rows' tolerant verdict)."""
    con = duckdb.connect()
    try:
        con.execute(f"attach {literal(str(incremental_db))} as inc (read_only)")
        con.execute(f"attach {literal(str(full_db))} as ful (read_only)")
        (only_inc,) = con.execute(  # type: ignore[misc]
            f"select count(*) from (select * from inc.{relation} except all "
            f"select * from ful.{relation})").fetchone()
        (only_full,) = con.execute(  # type: ignore[misc]
            f"select count(*) from (select * from ful.{relation} except all "
            f"select * from inc.{relation})").fetchone()
    except duckdb.Error as exc:
        return f"{relation}: rows on one side only could not be counted: {exc}"
    finally:
        con.close()
    return (f"{relation}: {only_inc} rows only in the incremental build, {only_full} only "
            "in the full refresh (exact comparison)")


# ------------------------------------------------------------------ the run


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for text in Path("/proc/cpuinfo").read_text().splitlines():
            if text.startswith("model name"):
                cpu = text.split(":", 1)[1].strip()
                break
    ram_kb = 0
    with contextlib.suppress(OSError):
        for text in Path("/proc/meminfo").read_text().splitlines():
            if text.startswith("MemTotal:"):
                ram_kb = int(text.split()[1])
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gb": round(ram_kb / 1024 / 1024, 1),
            "system": platform.platform()}


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def git_commit() -> str:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, check=True,
                                capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=ROOT, check=True, capture_output=True,
                               text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+uncommitted" if dirty else "")


def _log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def bench_size(customers: int, args: argparse.Namespace, settings: Mapping[str, Any]) -> dict:
    """Every measurement of one size; the JSON line."""
    # other work on the machine slows every measurement: keep the load beside them
    load_before = os.getloadavg()[0]
    raw, rows = ensure_dataset(args.cache_dir, args.seed, customers)
    day = ensure_one_day(args.cache_dir, args.seed, customers, raw)
    repeat = args.repeat_large if customers >= LARGE_SIZE and args.repeat_large else args.repeat
    check = customers in args.check_incremental_at
    work = args.work_dir / f"seed{args.seed}-{customers}"
    if work.exists():
        shutil.rmtree(work)
    runs: list[dict[str, Any]] = []
    check_result = None
    for number in range(1, repeat + 1):
        _log(f"{customers:,} customers, run {number}/{repeat}")
        run: dict[str, Any] = {"floor": run_floor(raw, settings, work / f"floor-{number}.log")}
        full_dir = work / f"run{number}-full"
        run["full"] = run_build(raw, full_dir, "full")
        run["incremental"] = run_build(day.folder, full_dir, "incremental")
        no_tests_dir = work / f"run{number}-no-tests"
        run["no_tests"] = run_build(raw, no_tests_dir, "no-tests",
                                    extra=["--exclude", NO_TESTS])
        if not args.keep:
            shutil.rmtree(no_tests_dir)
        if check and number == repeat:
            refresh_dir = work / "full-refresh"
            refresh = run_build(day.folder, refresh_dir, "full-refresh",
                                extra=["--full-refresh"])
            _log("  comparing the incremental build with the full refresh")
            # the working databases: what dbt wrote, whether or not the gate published it
            try:
                check_result = compare_builds(full_dir / "work" / "cx_value.duckdb",
                                              refresh_dir / "work" / "cx_value.duckdb",
                                              full_dir / "target" / "manifest.json")
            except (duckdb.Error, OSError) as exc:
                check_result = {"passed": False, "tables_compared": 0,
                                "incremental_models": [],
                                "differences": [f"the comparison could not run: {exc}"]}
            # both builds' dbt failures, so a table missing on one side can be explained
            check_result["full_refresh_build"] = refresh
            check_result["incremental_failed_nodes"] = run["incremental"]["failed_nodes"]
            _log("  incremental = full refresh: " + (
                "holds" if check_result["passed"] else
                "FAILS\n    " + "\n    ".join(check_result["differences"])))
            if not args.keep:
                shutil.rmtree(refresh_dir)
        if not args.keep:
            shutil.rmtree(full_dir)
        runs.append(run)

    def values(kind: str, field: str) -> list[float | None]:
        return [r[kind][field] for r in runs]

    medians = {
        "floor_seconds": median(r["floor"]["seconds"] for r in runs),
        "full_seconds": median(values("full", "seconds")),
        "full_dbt_seconds": median(values("full", "dbt_seconds")),
        # the gate on the base database, in the builds with and without tests (a build
        # whose tests fail stops before the gate)
        "validation_seconds": median([*values("full", "validation_seconds"),
                                      *values("no_tests", "validation_seconds")]),
        "publish_seconds": median(values("full", "publish_seconds")),
        "no_tests_seconds": median(values("no_tests", "seconds")),
        "no_tests_dbt_seconds": median(values("no_tests", "dbt_seconds")),
        "incremental_seconds": median(values("incremental", "seconds")),
        "incremental_dbt_seconds": median(values("incremental", "dbt_seconds")),
        "incremental_validation_seconds": median(values("incremental", "validation_seconds")),
    }
    peaks = [r[kind]["max_rss_mb"] for r in runs
             for kind in ("floor", "full", "incremental", "no_tests")]
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "customers": customers,
        "seed": args.seed,
        "repeat": repeat,
        "git_commit": git_commit(),
        "machine": machine(),
        "versions": versions(),
        "load_average": {"before": load_before, "after": os.getloadavg()[0]},
        "duckdb_settings": dict(settings),
        "rows": rows,
        "one_day": {"loaded_at": day.loaded_at, "new_rows": day.new_rows,
                    "late_events": day.late_events,
                    "base_max_loaded_at": day.base_max_loaded_at,
                    "base_max_event_at": day.base_max_event_at},
        "medians": medians,
        "peak_rss_mb": max(peaks),
        "all_succeeded": all(r[k]["succeeded"] for r in runs
                             for k in ("full", "incremental", "no_tests")),
        # what failed in builds that failed: dbt nodes, else the exit code
        "failed": {
            kind: sorted({n for r in runs for n in r[kind]["failed_nodes"]})
            or ["exit code != 0 (see the log)"]
            for kind in ("full", "incremental", "no_tests")
            if not all(r[kind]["succeeded"] for r in runs)
        },
        "runs": runs,
        "incremental_check": check_result,
    }


def read_lines(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(text) for text in path.read_text().splitlines() if text.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["_floor"]:
        print(json.dumps(floor_child(Path(argv[1]), json.loads(argv[2]))))
        return 0
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=parse_sizes,
                        default=list(DEFAULT_SIZES), help="comma-separated customer counts")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--repeat-large", type=int, default=None,
                        help=f"runs at {LARGE_SIZE:,} customers and more (default --repeat)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--check-incremental-at", type=parse_sizes, default=[100_000],
                        help="sizes at which incremental = full refresh is checked")
    parser.add_argument("--cache-dir", type=Path,
                        default=Path(os.environ.get("CX_BENCH_CACHE", DEFAULT_CACHE)),
                        help="generated data sets (also CX_BENCH_CACHE)")
    parser.add_argument("--work-dir", type=Path,
                        default=Path(os.environ.get("CX_BENCH_WORK",
                                                    DEFAULT_CACHE / "work")),
                        help="build folders, removed after each run (also CX_BENCH_WORK)")
    parser.add_argument("--keep", action="store_true", help="keep the build folders")
    parser.add_argument("--results", type=Path, default=RESULTS_JSONL)
    parser.add_argument("--markdown", type=Path, default=RESULTS_MD)
    parser.add_argument("--render-only", action="store_true",
                        help="rewrite the markdown from the JSON lines, measure nothing")
    args = parser.parse_args(argv)
    if args.render_only:
        args.markdown.write_text(render_results(read_lines(args.results)))
        return 0
    args.cache_dir = args.cache_dir.resolve()
    args.work_dir = args.work_dir.resolve()

    settings = duckdb_profile_settings((ROOT / "profiles.yml").read_text(), base_env())
    failed = False
    for customers in args.sizes:
        record = bench_size(customers, args, settings)
        args.results.parent.mkdir(parents=True, exist_ok=True)
        with args.results.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, default=str) + "\n")
        args.markdown.write_text(render_results(read_lines(args.results)))
        m = record["medians"]
        _log(f"{customers:,} customers: floor {m['floor_seconds']} s, full "
             f"{m['full_seconds']} s, without tests {m['no_tests_seconds']} s, validation "
             f"{m['validation_seconds']} s, incremental {m['incremental_seconds']} s, peak "
             f"{record['peak_rss_mb']:,.0f} MB")
        check = record["incremental_check"]
        failed |= not record["all_succeeded"] or bool(check and not check["passed"])
    _log(f"results: {args.results} and {args.markdown}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
