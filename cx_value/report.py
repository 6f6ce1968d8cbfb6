"""What a built warehouse holds, for the terminal: the state of the last build, the data
behind it, headline figures, model warnings and the marts that are empty and why.

Every figure is read from the warehouse; one the data cannot support is shown as
missing with its reason, never as 0, 100 or ``nan``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
from rich.console import Console
from rich.table import Table

from cx_value.coverage import Mart, public_marts
from cx_value.profiles import duckdb_settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MISSING = "n/a"


def fmt_number(value: object, spec: str = ",.0f") -> str:
    """A number formatted with ``spec``; missing (None, NaN) as a dash, never 'nan'."""
    if value is None:
        return MISSING
    number = float(value)  # type: ignore[arg-type]
    if math.isnan(number) or math.isinf(number):
        return MISSING
    return format(number, spec)


@dataclass(frozen=True)
class LastRun:
    """The latest dbt run recorded in meta.dbt_runs."""

    command: str
    finished_at: object
    selection: str
    nodes: int
    errors: int
    failures: int
    warnings: int
    skipped: int
    succeeded: bool
    currency: str
    absent_tables: str
    invocation_id: str


def _fetch(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[object] = ()) -> list[tuple]:
    return con.execute(sql, list(params)).fetchall()


def _relations(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        f"{schema}.{name}"
        for schema, name in _fetch(
            con, "select table_schema, table_name from information_schema.tables"
        )
    }


def last_run(con: duckdb.DuckDBPyConnection) -> LastRun | None:
    """The most recent recorded dbt build (or run), or None when nothing was recorded."""
    if "meta.dbt_runs" not in _relations(con):
        return None
    rows = _fetch(
        con,
        """
        select command, finished_at, selection, nodes, errors, failures, warnings, skipped,
            succeeded, reporting_currency, absent_tables, invocation_id
        from meta.dbt_runs
        where command in ('build', 'run')
        order by finished_at desc
        limit 1
        """,
    )
    return LastRun(*rows[0]) if rows else None


def print_summary(database: Path, console: Console, project_root: Path = PROJECT_ROOT) -> int:
    """Print the summary; return 1 when the last recorded build failed, else 0."""
    if not database.exists():
        console.print(f"[red]no database at {database}: run `make demo` first")
        return 1
    from cx_value.publish import read_status

    # the published file only ever holds builds that passed; a later build that failed
    # (dbt or the gate) is recorded beside it
    attempt_failed = _print_last_attempt(console, read_status(database))
    con = duckdb.connect(str(database), read_only=True, config=duckdb_settings())
    try:
        relations = _relations(con)
        console.print(f"[bold]database:[/] {database.resolve()}")
        run = last_run(con)
        failed = _print_run(con, console, run, "published" if attempt_failed else "last")
        currency = run.currency if run else "the reporting currency (unknown: no run recorded)"
        observed = _print_sources(con, console, relations, currency)
        _print_headline(con, console, relations, currency, observed)
        _print_model_warnings(con, console, relations)
        _print_marts(con, console, relations, observed, run, project_root)
        _print_journey(con, console, relations, currency)
    finally:
        con.close()
    return 1 if failed or attempt_failed else 0


def _print_last_attempt(console: Console, status: dict | None) -> bool:
    """The outcome of the last `cx-value build`/`publish` (``last_run.json``); True when
    it failed, so the published database below is an earlier, validated one."""
    if status is None:
        return False
    when = str(status.get("finished_at", ""))[:19]
    validation = status.get("validation") or {}
    if status.get("published"):
        warned = validation.get("warnings") or 0
        console.print(
            f"[bold green]last {status.get('command')} validated and published[/] at {when} "
            f"UTC, run {status.get('run_id')}"
            + (f" ({warned} quality warnings)" if warned else "")
            + f"; exports: {status.get('exports_current')}; Data Docs: "
            f"{validation.get('docs_index')}",
            highlight=False, soft_wrap=True,
        )
        return False
    if not status.get("dbt_succeeded"):
        _print_working_run(console, Path(str(status.get("working_database"))), when)
    elif validation and not validation.get("success"):
        console.print(
            f"[bold red]last {status.get('command')} FAILED validation[/] at {when} UTC: "
            f"{validation.get('failures')} critical expectations did not pass "
            f"(Data Docs: {validation.get('docs_index')}):",
            highlight=False, soft_wrap=True,
        )
        for message in validation.get("messages") or []:
            console.print(f"  - {message}", highlight=False, soft_wrap=True)
    else:
        console.print(f"[bold red]last {status.get('command')} FAILED to publish[/] at "
                      f"{when} UTC: {status.get('publish_error')}", soft_wrap=True)
    published = status.get("published_run_id")
    console.print(
        "[bold]Nothing was published; below is the published version"
        + (f" (run {published})" if published else "") + ", untouched.[/]"
    )
    return True


def _print_working_run(console: Console, working: Path, when: str) -> None:
    """What did not pass in the working database's last dbt run."""
    try:
        con = duckdb.connect(str(working), read_only=True, config=duckdb_settings())
    except duckdb.Error as exc:
        console.print(f"[bold red]last build FAILED[/] at {when} UTC (dbt); {working} "
                      f"cannot be read for details: {exc}", soft_wrap=True)
        return
    try:
        _print_run(con, console, last_run(con))
    finally:
        con.close()


def _print_run(
    con: duckdb.DuckDBPyConnection, console: Console, run: LastRun | None, label: str = "last"
) -> bool:
    """The outcome of a build (``label``: last or published) and what did not pass; True
    when it failed."""
    if run is None:
        console.print(
            "[yellow]build status unknown:[/] no run is recorded in this database "
            "(meta.dbt_runs); figures below may be stale or partial"
        )
        return False
    scope = f"selection {run.selection}" if run.selection else "whole project"
    when = str(run.finished_at)[:19]
    absent = f"; declared absent: {run.absent_tables}" if run.absent_tables else ""
    if run.succeeded:
        warned = f", {run.warnings} warnings" if run.warnings else ""
        console.print(
            f"[bold green]{label} {run.command} succeeded[/] at {when} UTC ({scope}, "
            f"{run.nodes:,} nodes{warned}){absent}"
        )
        return False
    console.print(
        f"[bold red]{label} {run.command} FAILED[/] at {when} UTC ({scope}): {run.errors} errors, "
        f"{run.failures} failed tests, {run.skipped} nodes skipped because of them{absent}. "
        "Marts below may be missing or stale."
    )
    console.print("[bold]What did not pass in the last run:[/]")
    for status, kind, node, message in _fetch(
        con,
        """
        select status, resource_type, node_name, message
        from meta.dbt_run_problems
        where invocation_id = ? and status in ('error', 'fail')
        order by status, resource_type, node_name
        """,
        [run.invocation_id],
    ):
        # one line each, never cut: the node name is what to look up
        console.print(
            f"  {status} {kind} {node}: {_last_meaningful_line((message or '').splitlines())}",
            highlight=False, soft_wrap=True,
        )
    skipped = [
        name for (name,) in _fetch(
            con,
            "select node_name from meta.dbt_run_problems where invocation_id = ?"
            " and status = 'skipped' and resource_type in ('model', 'seed') order by 1",
            [run.invocation_id],
        )
    ]
    if skipped:
        console.print(f"skipped models ({len(skipped)}): {', '.join(skipped)}", soft_wrap=True)
    return True


def _last_meaningful_line(lines: list[str]) -> str:
    """The line of a dbt error that says what went wrong (a traceback ends with it)."""
    for line in reversed(lines):
        if line.strip():
            return line.strip()[:160]
    return ""


def _print_sources(
    con: duckdb.DuckDBPyConnection, console: Console, relations: set[str], currency: str
) -> set[str]:
    """Per raw table: observed or not, and how its rows reconcile. Returns the observed ones."""
    if "intermediate.int_raw_tables_observed" not in relations:
        console.print("[yellow]no data coverage table: the staging layer was not built")
        return set()
    as_of = _fetch(
        con, "select as_of_date, as_of_source from intermediate.int_observation_date"
    ) if "intermediate.int_observation_date" in relations else []
    if as_of and as_of[0][0] is not None:
        console.print(
            f"[bold]observation date:[/] {as_of[0][0]} ({as_of[0][1]}) | "
            f"[bold]amounts in:[/] {currency}"
        )
    table = Table(title="Raw data: what the warehouse observed (raw = staged + rejected + "
                        "removed duplicates + erased)")
    for name in ("raw table", "status", "raw", "staged", "rejected", "duplicates", "erased",
                 "reconciles"):
        table.add_column(name, justify="left" if name in ("raw table", "status") else "right")
    observed: set[str] = set()
    for (source_table, table_name, status, raw, staged, rejected, duplicates, erased,
         reconciled) in _fetch(
        con,
        """
        select observed.source_table, observed.table_name, observed.observation_status,
            reconciled.raw_rows, reconciled.staged_rows, reconciled.rejected_rows,
            reconciled.removed_duplicate_rows, reconciled.erased_rows, reconciled.is_reconciled
        from intermediate.int_raw_tables_observed as observed
        inner join intermediate.int_raw_rows_reconciled as reconciled
            on observed.source_table = reconciled.source_table
        order by observed.source_table
        """,
    ):
        if status == "observed":
            observed.add(table_name)
        colour = "green" if status == "observed" else "yellow"
        table.add_row(
            source_table, f"[{colour}]{status.replace('_', ' ')}[/]",
            *(f"{v:,}" for v in (raw, staged, rejected, duplicates, erased)),
            "yes" if reconciled else "[red]NO",
        )
    console.print(table)
    _print_rejected_share_warnings(con, console, relations)
    if "intermediate.int_rejected_rows_unioned" in relations:
        reasons = _fetch(
            con,
            "select reject_reason, count(*) from intermediate.int_rejected_rows_unioned"
            " group by 1 order by 2 desc, 1",
        )
        if reasons:
            by_reason = Table(title="Rejected rows by reason (stg_<source>__<table>_rejected)")
            by_reason.add_column("reason")
            by_reason.add_column("rows", justify="right")
            for reason, rows in reasons:
                by_reason.add_row(reason, f"{rows:,}")
            console.print(by_reason)
        else:
            console.print("no row was rejected")
    return observed


def rejected_share_warnings(
    con: duckdb.DuckDBPyConnection, relations: set[str]
) -> list[tuple[str, str]]:
    """(raw table, warning) of every table whose rejected share is above var
    cx_max_rejected_share, as mart_data_coverage records them; none when the mart was not
    built (or predates the warning)."""
    if "marts.mart_data_coverage" not in relations:
        return []
    columns = {
        name for (name,) in _fetch(
            con,
            "select column_name from information_schema.columns"
            " where table_schema = 'marts' and table_name = 'mart_data_coverage'",
        )
    }
    if "rejected_share_warning" not in columns:
        return []
    return [(table, warning) for table, warning in _fetch(
        con,
        "select source_table, rejected_share_warning from marts.mart_data_coverage"
        " where is_rejected_share_high order by source_table",
    )]


def _print_rejected_share_warnings(
    con: duckdb.DuckDBPyConnection, console: Console, relations: set[str]
) -> None:
    """A warning line per raw table with a large rejected share: the build passed, but
    the figures from that table miss the rejected rows."""
    for table, warning in rejected_share_warnings(con, relations):
        console.print(f"[bold yellow]warning:[/] {table}: {warning}",
                      highlight=False, soft_wrap=True)


def _print_headline(
    con: duckdb.DuckDBPyConnection,
    console: Console,
    relations: set[str],
    currency: str,
    observed: set[str],
) -> None:
    parts = []
    if "staging.stg_crm__customers" in relations:
        (customers,), = _fetch(con, "select count(*) from staging.stg_crm__customers")
        parts.append(f"customers {customers:,}")
    if {"orders", "order_lines"} <= observed and (
        "intermediate.int_order_lines_valued" in relations
    ):
        (gross, returned, net), = _fetch(
            con,
            """
            select sum(gross_revenue), sum(returned_revenue), sum(revenue)
            from intermediate.int_order_lines_valued
            where is_completed
            """,
        )
        parts.append(
            f"net revenue {currency} {fmt_number(net, ',.2f')} (gross {fmt_number(gross, ',.2f')},"
            f" returns {fmt_number(returned, ',.2f')})"
        )
    else:
        parts.append("revenue: no order data")
    if "survey_responses" in observed:
        (answers, promoters, detractors, nps_n), = _fetch(
            con,
            """
            select
                count(*),
                count(*) filter (where question_type = 'nps' and score >= 9),
                count(*) filter (where question_type = 'nps' and score <= 6),
                count(*) filter (where question_type = 'nps')
            from staging.stg_surveys__survey_responses
            """,
        )
        parts.append(f"survey answers {answers:,}")
        if nps_n:
            parts.append(f"NPS {100.0 * (promoters - detractors) / nps_n:.1f} (n = {nps_n:,})")
        else:
            parts.append("NPS: no NPS answers")
    else:
        parts.append("surveys: no survey data")
    console.print(" | ".join(parts))
    _print_contracts(con, console, relations, currency, observed)


def _print_contracts(
    con: duckdb.DuckDBPyConnection,
    console: Console,
    relations: set[str],
    currency: str,
    observed: set[str],
) -> None:
    """MRR on the observation date and the churn of the last complete month."""
    if "subscriptions" not in observed or "marts.mart_cx_roi_monthly" not in relations:
        console.print("contracts: no contract data")
        return
    rows = _fetch(
        con,
        """
        select
            month_start_date,
            is_partial_month,
            sum(mrr_end),
            sum(churned_customers),
            sum(churned_lost_mrr),
            sum(churned_fee_revenue_12m)
        from marts.mart_cx_roi_monthly
        group by month_start_date, is_partial_month
        order by month_start_date desc
        limit 2
        """,
    )
    if not rows:
        console.print("contracts: no contract months")
        return
    parts = [f"MRR {currency} {fmt_number(rows[0][2], ',.2f')} on the observation date"]
    complete = next((row for row in rows if not row[1]), None)
    if complete is not None:
        month, _, _, churned, lost_mrr, fees = complete
        parts.append(
            f"churned in {month:%Y-%m}: {fmt_number(churned)} customers, lost MRR "
            f"{fmt_number(lost_mrr, ',.2f')}, their last 12 months' fees "
            f"{fmt_number(fees, ',.2f')}"
        )
    console.print("contracts: " + " | ".join(parts))


def _print_model_warnings(
    con: duckdb.DuckDBPyConnection, console: Console, relations: set[str]
) -> None:
    """The fitted models' state (mart_model_diagnostics) and their plain-language warnings."""
    if "marts.mart_model_diagnostics" not in relations:
        return
    columns = {
        name for (name,) in _fetch(
            con,
            "select column_name from information_schema.columns"
            " where table_schema = 'marts' and table_name = 'mart_model_diagnostics'",
        )
    }
    wanted = [c for c in ("model", "status", "sample_size", "is_identified",
                          "warning") if c in columns]
    table = Table(title="Fitted models (mart_model_diagnostics)")
    for name in wanted:
        table.add_column(name.replace("_", " "))
    for row in _fetch(con, f"select {', '.join(wanted)} from marts.mart_model_diagnostics"
                           " order by model_order"):
        cells = []
        for name, value in zip(wanted, row, strict=True):
            if name == "is_identified":
                cells.append(MISSING if value is None else ("yes" if value else "[red]no"))
            elif name == "sample_size":
                cells.append(fmt_number(value))
            else:
                cells.append(MISSING if value is None else str(value))
        table.add_row(*cells)
    console.print(table)


def _print_marts(
    con: duckdb.DuckDBPyConnection,
    console: Console,
    relations: set[str],
    observed: set[str],
    run: LastRun | None,
    project_root: Path,
) -> None:
    """Marts (public marts and the fitted models' tables) without rows, each with the
    reason."""
    marts = public_marts(project_root)
    failed_nodes: dict[str, str] = {}
    if run is not None and not run.succeeded:
        failed_nodes = dict(_fetch(
            con,
            "select node_name, status from meta.dbt_run_problems where invocation_id = ?"
            " and resource_type = 'model'",
            [run.invocation_id],
        ))
    empty = Table(title="Marts without rows, and why")
    empty.add_column("mart")
    empty.add_column("why")
    for name, mart in sorted(marts.items()):
        reason = _empty_reason(con, relations, mart, observed, failed_nodes)
        if reason:
            empty.add_row(name, reason)
    if empty.row_count:
        console.print(empty)
    else:
        console.print(f"all {len(marts)} marts have rows "
                      "(the public marts and the fitted models' tables)")


def _empty_reason(
    con: duckdb.DuckDBPyConnection,
    relations: set[str],
    mart: Mart,
    observed: set[str],
    failed_nodes: dict[str, str],
) -> str | None:
    if mart.name in failed_nodes:
        return f"{failed_nodes[mart.name]} in the last build"
    if f"marts.{mart.name}" not in relations:
        return "not built"
    (rows,), = _fetch(con, f'select count(*) from marts."{mart.name}"')
    if rows:
        return None
    if not mart.has_rows_with(observed):
        return f"needs {mart.describe_needs()}: not in the data"
    return "no rows although the tables it needs hold data"


def _print_journey(
    con: duckdb.DuckDBPyConnection, console: Console, relations: set[str], currency: str
) -> None:
    """Journey headline and the top of the early-warning list, when they hold rows."""
    if not {"marts.fct_web_sessions", "marts.fct_journey_touchpoints",
            "marts.mart_early_warnings"} <= relations:
        return
    sessions, attributed, touchpoints, warnings = _fetch(
        con,
        """
        select
            (select count(*) from marts.fct_web_sessions),
            (select count(customer_id) from marts.fct_web_sessions),
            (select count(*) from marts.fct_journey_touchpoints),
            (select count(*) from marts.mart_early_warnings)
        """,
    )[0]
    parts = []
    if sessions:
        parts.append(f"web sessions {sessions:,} ({attributed:,} attributed to a customer)")
    parts.append(f"journey touchpoints {touchpoints:,}")
    parts.append(f"early warnings {warnings:,}")
    console.print(" | ".join(parts))
    if not warnings:
        return
    top = Table(title="Early warnings: act first on")
    for name in ("rank", "customer", "reason", "since", f"value at stake {currency}"):
        top.add_column(name, justify="right" if name in ("rank",) or "value" in name else "left")
    for rank, customer, reason, since, value in _fetch(
        con,
        "select priority_rank, customer_id, reason, reason_date, value_at_stake"
        " from marts.mart_early_warnings order by priority_rank limit 5",
    ):
        top.add_row(str(rank), customer, reason, str(since), fmt_number(value))
    console.print(top)
