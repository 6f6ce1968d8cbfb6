"""Quoted values and names reach DuckDB as exactly the text they hold."""

import duckdb
import pytest

from cx_value.sql_text import identifier, literal

HOSTILE = [
    "plain", "it's", "cx export's \"final\" dir", "a;b", "line\nbreak", "'); drop table t; --",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_literal_reads_back_as_its_text(value):
    assert duckdb.connect().execute(f"select {literal(value)}").fetchall() == [(value,)]


@pytest.mark.parametrize("name", HOSTILE)
def test_an_identifier_names_exactly_that_column(name):
    con = duckdb.connect()
    con.execute(f"create table t ({identifier(name)} integer)")
    assert [row[0] for row in con.execute("describe t").fetchall()] == [name]


def test_a_literal_of_a_number_is_its_text():
    assert duckdb.connect().execute(f"select {literal(3.5)}").fetchall() == [("3.5",)]
