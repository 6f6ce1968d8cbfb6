"""Scan every column of every table of a DuckDB database, every Parquet export and every
text artefact for given values: the personal values of the raw files, or everything an
erased customer left.

Two kinds of needle:

- tokens (ids, e-mail addresses, phone numbers, pseudonyms): found anywhere in a cell,
  case-insensitively, as a whole token (not followed or preceded by a letter or a digit),
  so that `c0000042` is found inside a JSON of raw values but not inside `c00000421`;
- names: found only as a whole cell (trimmed, case-sensitive), since a short name
  such as "Al" is legitimately a substring of other text, or a country code.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb

SEPARATOR = "chr(1)"


@dataclass(frozen=True)
class Needles:
    """What to look for."""

    tokens: frozenset[str]
    names: frozenset[str]


def _records(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def personal_values(raw_dir: Path) -> Needles:
    """Every personal value of the raw CSV files of ``raw_dir``: e-mail addresses and
    phone numbers (as written, and as digits) as tokens; first and last names and the
    consumers' account names as whole cells."""
    tokens: set[str] = set()
    names: set[str] = set()
    for contact in _records(raw_dir / "contacts.csv"):
        phone = (contact["phone"] or "").strip()
        digits = "".join(ch for ch in phone if ch.isdigit())
        tokens |= {(contact["email"] or "").strip().lower(), phone.lower()}
        # a short run of digits is a number, not a phone number
        if len(digits) >= 8:
            tokens.add(digits)
        names |= {(contact["first_name"] or "").strip(), (contact["last_name"] or "").strip()}
    for customer in _records(raw_dir / "customers.csv"):
        if (customer["customer_type"] or "").strip().lower() == "b2c":
            names.add((customer["account_name"] or "").strip())
    return Needles(frozenset(tokens - {""}), frozenset(names - {""}))


def _re2_literal(value: str) -> str:
    # every character but a letter or a digit as \x{..}: RE2 then reads it literally
    return "".join(c if c.isascii() and c.isalnum() else f"\\x{{{ord(c):x}}}" for c in value)


def token_pattern(tokens: Iterable[str]) -> str:
    """An RE2 pattern matching any of ``tokens`` (lower-cased) as a whole token."""
    alternatives = "|".join(sorted(_re2_literal(t.lower()) for t in tokens if t))
    return f"(^|[^a-z0-9])({alternatives})($|[^a-z0-9])"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _hits(con: duckdb.DuckDBPyConnection, relation: str, columns: list[str],
          needles: Needles) -> int:
    if not columns:
        return 0
    cells = [f"cast({_quote(c)} as varchar)" for c in columns]
    text = f"lower(concat_ws({SEPARATOR}, {', '.join(cells)}))"
    trimmed = ", ".join(f"trim({c})" for c in cells)
    conditions = []
    params: list[object] = []
    if needles.tokens:
        conditions.append(f"regexp_matches({text}, ?)")
        params.append(token_pattern(needles.tokens))
    if needles.names:
        conditions.append(f"list_has_any([{trimmed}], cast(? as varchar[]))")
        params.append(sorted(needles.names))
    if not conditions:
        return 0
    (found,) = con.execute(  # type: ignore[misc]
        f"select count(*) from {relation} where {' or '.join(conditions)}", params
    ).fetchone()
    return int(found)


def scan_database(database: Path, needles: Needles,
                  skip_schemas: Iterable[str] = ()) -> tuple[int, dict[str, int]]:
    """(tables scanned, hits by table) over every base table of every schema of
    ``database`` but ``skip_schemas`` (a view holds no rows of its own: its tables are
    scanned)."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        catalog = con.execute("select current_database()").fetchone()[0]  # type: ignore[index]
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables"
            " where table_type = 'BASE TABLE' and table_catalog = ? order by all", [catalog]
        ).fetchall()
        tables = [(schema, table) for schema, table in tables if schema not in skip_schemas]
        found = {}
        for schema, table in tables:
            columns = [row[0] for row in con.execute(
                "select column_name from information_schema.columns where table_catalog = ?"
                " and table_schema = ? and table_name = ? order by ordinal_position",
                [catalog, schema, table]).fetchall()]
            hits = _hits(con, f"{_quote(schema)}.{_quote(table)}", columns, needles)
            if hits:
                found[f"{schema}.{table}"] = hits
        return len(tables), found
    finally:
        con.close()


def scan_files(paths: Iterable[Path], needles: Needles, reader: str) -> tuple[int, dict[str, int]]:
    """(files scanned, hits by file) over data files read with ``reader`` (read_parquet,
    or read_csv for raw CSV files read as text)."""
    con = duckdb.connect()
    try:
        found = {}
        scanned = 0
        for path in paths:
            scanned += 1
            literal = "'" + str(path).replace("'", "''") + "'"
            relation = (f"read_csv({literal}, header = true, all_varchar = true)"
                        if reader == "read_csv" else f"read_parquet({literal})")
            columns = [d[0] for d in con.execute(f"select * from {relation} limit 0").description]
            hits = _hits(con, relation, columns, needles)
            if hits:
                found[str(path)] = hits
        return scanned, found
    finally:
        con.close()


def scan_text_files(paths: Iterable[Path], tokens: Iterable[str]) -> tuple[int, list[str]]:
    """(files scanned, files holding a token) over any files, read as bytes."""
    pattern = re.compile(
        rb"(?<![a-z0-9])(" + b"|".join(re.escape(t.lower().encode()) for t in tokens if t)
        + rb")(?![a-z0-9])")
    scanned = 0
    leaks = []
    for path in paths:
        scanned += 1
        if pattern.search(path.read_bytes().lower()):
            leaks.append(str(path))
    return scanned, leaks
