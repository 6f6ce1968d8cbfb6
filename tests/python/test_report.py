"""The summary's warnings for raw tables with a large rejected share, read from
mart_data_coverage (tested on a hand-made mart; the built mart is tested in
test_rejects_keep_the_build_green.py)."""

from __future__ import annotations

import io

import duckdb
from rich.console import Console

from cx_value.report import _print_rejected_share_warnings, rejected_share_warnings

RELATIONS = {"marts.mart_data_coverage"}


def _coverage(with_warning_column: bool = True) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("create schema marts")
    if not with_warning_column:
        con.execute("create table marts.mart_data_coverage (source_table varchar)")
        return con
    con.execute("""
        create table marts.mart_data_coverage as
        select * from (values
            ('crm.orders', false, null),
            ('surveys.survey_responses', true, 'staging rejected 4 of 4 rows'),
            ('crm.events', null, null),
            ('crm.deals', true, 'staging rejected 2 of 10 rows')
        ) as t(source_table, is_rejected_share_high, rejected_share_warning)
    """)
    return con


def test_only_the_flagged_tables_are_listed_in_table_order() -> None:
    assert rejected_share_warnings(_coverage(), RELATIONS) == [
        ("crm.deals", "staging rejected 2 of 10 rows"),
        ("surveys.survey_responses", "staging rejected 4 of 4 rows"),
    ]


def test_a_mart_without_the_warning_or_no_mart_gives_no_warning() -> None:
    assert rejected_share_warnings(_coverage(with_warning_column=False), RELATIONS) == []
    assert rejected_share_warnings(_coverage(), set()) == []


def test_each_warning_is_printed_on_its_own_line() -> None:
    out = io.StringIO()
    _print_rejected_share_warnings(_coverage(), Console(file=out, width=200), RELATIONS)
    assert out.getvalue().splitlines() == [
        "warning: crm.deals: staging rejected 2 of 10 rows",
        "warning: surveys.survey_responses: staging rejected 4 of 4 rows",
    ]
