"""Headline figures of a built warehouse, for the terminal."""

from __future__ import annotations

from pathlib import Path

import duckdb
from rich.console import Console
from rich.table import Table


def _fetch(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def print_summary(database: Path, console: Console) -> None:
    """Print the database location, the raw-row reconciliation and a few headline figures."""
    if not database.exists():
        console.print(f"[red]no database at {database}: run `make demo` first")
        return
    con = duckdb.connect(str(database), read_only=True)
    try:
        console.print(f"[bold]database:[/] {database.resolve()}")
        recon = Table(title="Raw rows: staged + rejected + removed duplicates")
        for name in ("raw table", "raw", "staged", "rejected", "duplicates", "reconciles"):
            recon.add_column(name, justify="left" if name == "raw table" else "right")
        for row in _fetch(
            con,
            "select source_table, raw_rows, staged_rows, rejected_rows, removed_duplicate_rows,"
            " is_reconciled from intermediate.int_raw_rows_reconciled order by source_table",
        ):
            recon.add_row(row[0], *(f"{v:,}" for v in row[1:5]), "yes" if row[5] else "NO")
        console.print(recon)

        reasons = Table(title="Rejected rows by reason")
        reasons.add_column("reason")
        reasons.add_column("rows", justify="right")
        for reason, rows in _fetch(
            con,
            "select reject_reason, count(*) from intermediate.int_rejected_rows_unioned"
            " group by 1 order by 2 desc, 1",
        ):
            reasons.add_row(reason, f"{rows:,}")
        console.print(reasons)

        (customers, revenue, answers, promoters, detractors, nps_n) = _fetch(
            con,
            """
            with nps as (
                select score from staging.stg_surveys__survey_responses
                where question_type = 'nps'
            )
            select
                (select count(*) from staging.stg_crm__customers),
                (select sum(quantity * realised_price) from staging.stg_crm__order_lines),
                (select count(*) from staging.stg_surveys__survey_responses),
                (select count(*) from nps where score >= 9),
                (select count(*) from nps where score <= 6),
                (select count(*) from nps)
            """,
        )[0]
        nps = 100.0 * (promoters - detractors) / nps_n if nps_n else float("nan")
        console.print(
            f"customers {customers:,} | order revenue EUR {float(revenue or 0):,.2f} | "
            f"survey answers {answers:,} | NPS {nps:.1f} (n = {nps_n:,})"
        )
        _print_journey(con, console)
    finally:
        con.close()


def _print_journey(con: duckdb.DuckDBPyConnection, console: Console) -> None:
    """Journey headline and the top of the early-warning list, when those marts exist."""
    built = {name for (name,) in _fetch(
        con, "select table_name from information_schema.tables where table_schema = 'marts'"
    )}
    if not {"fct_web_sessions", "fct_journey_touchpoints", "mart_early_warnings"} <= built:
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
    console.print(
        f"web sessions {sessions:,} ({attributed:,} attributed to a customer) | "
        f"journey touchpoints {touchpoints:,} | early warnings {warnings:,}"
    )
    top = Table(title="Early warnings: act first on")
    for name in ("rank", "customer", "reason", "since", "value EUR"):
        top.add_column(name, justify="right" if name in ("rank", "value EUR") else "left")
    for rank, customer, reason, since, value in _fetch(
        con,
        "select priority_rank, customer_id, reason, reason_date, value_at_stake"
        " from marts.mart_early_warnings order by priority_rank limit 5",
    ):
        top.add_row(str(rank), customer, reason, str(since), f"{float(value or 0):,.0f}")
    console.print(top)
