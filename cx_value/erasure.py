"""Erasure of customers: the erasure list, and purging their rows from raw files.

An erasure list is a CSV file with a header ``customer_id`` and one customer id a row.
``cx-value build --erasure-list FILE`` (or CX_ERASURE_LIST) leaves every raw row tied to
one of them out of staging (``macros/raw/cx_erasure.sql``); ``cx-value purge`` removes the
same rows from the raw files themselves. Both follow the contract's erasure links
(:class:`cx_value.contract.ErasureLink`): a customer column, a parent row that is erased
(order lines of an erased customer's orders) and device ids ever seen with an erased
customer (every web event of such an anonymous_id).

The ids reach the SQL as a DuckDB session variable set by the dbt plugin, never as dbt
vars: ``meta.dbt_runs`` records every run's vars.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb

from cx_value.contract import TABLES, Table
from cx_value.contract import table as contract_table
from cx_value.profiles import duckdb_settings
from cx_value.publish import _fsync_file
from cx_value.sql_text import identifier, literal

ERASURE_VARIABLE = "CX_ERASURE_LIST"
# the DuckDB session variable the staging SQL reads the erased ids from
ERASURE_SQL_VARIABLE = "cx_erased_customers"
ID_COLUMN = "customer_id"


class ErasureListError(ValueError):
    """The erasure list cannot be read; the message names the file."""


def normalise_id(value: str) -> str:
    """An id as staging normalises it by default (cx_id: trimmed, lower-cased)."""
    return value.strip().lower()


def read_erasure_list(path: Path) -> tuple[str, ...]:
    """The distinct, normalised customer ids of an erasure list file, sorted.

    Raises ErasureListError naming the file when it cannot be read, has no
    ``customer_id`` column in its header or names no customer at all.
    """
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = [name.strip().lower() for name in next(reader, [])]
            if ID_COLUMN not in header:
                raise ErasureListError(
                    f"erasure list {path}: the header has no column {ID_COLUMN} (found: "
                    f"{', '.join(header) or 'nothing'})")
            index = header.index(ID_COLUMN)
            ids = {normalise_id(row[index]) for row in reader if len(row) > index}
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ErasureListError(f"erasure list {path} cannot be read: {exc}") from exc
    ids.discard("")
    if not ids:
        # an empty list is almost certainly the wrong file: erasing nobody must be asked
        # for by giving no list
        raise ErasureListError(f"erasure list {path} names no customer")
    return tuple(sorted(ids))


def erased_ids(env: Mapping[str, str]) -> tuple[str, ...]:
    """The ids of the list CX_ERASURE_LIST names in ``env``; none when it is unset."""
    path = env.get(ERASURE_VARIABLE, "").strip()
    return read_erasure_list(Path(path)) if path else ()


def erasure_problem(env: Mapping[str, str]) -> str | None:
    """Why the erasure list in ``env`` cannot be used (None when it can, or is unset)."""
    try:
        erased_ids(env)
    except ErasureListError as exc:
        return f"{ERASURE_VARIABLE}: {exc}"
    return None


# --------------------------------------------------------------------- purge


@dataclass(frozen=True)
class Purged:
    """What purging did to one raw file."""

    table: str
    path: Path
    rows_before: int
    rows_removed: int


def _reader(path: Path, fmt: str) -> str:
    # the reader staging uses (duckdb__cx_read_raw_file), so the same rows are seen
    if fmt == "csv":
        return f"read_csv({literal(str(path))}, header = true, all_varchar = true)"
    return f"read_parquet({literal(str(path))})"


def _norm(column: str, alias: str) -> str:
    return f"lower(trim(cast({alias}.{identifier(column)} as varchar)))"


def _names_erased(alias: str, columns: list[str]) -> str:
    if not columns:
        return "false"
    return "(" + " or ".join(
        f"coalesce({_norm(c, alias)} in (select id from erased_ids), false)" for c in columns
    ) + ")"


def _columns(con: duckdb.DuckDBPyConnection, source: str) -> list[str]:
    return [d[0].lower() for d in con.execute(f"select * from {source} limit 0").description]


def erased_rows_predicate(
    con: duckdb.DuckDBPyConnection, table: Table, files: Mapping[str, Path], fmt: str,
    alias: str = "raw",
) -> str:
    """SQL true for a row (aliased ``alias``) of ``table``'s file tied to an erased
    customer; reads the table ``erased_ids(id)``. Mirrors cx_erasure_predicate."""
    source = _reader(files[table.name], fmt)
    present = _columns(con, source)
    link = table.erasure
    customer_columns = [c for c in link.customer_columns if c in present]
    parts = [_names_erased(alias, customer_columns)]
    if link.parent and link.parent[1] in files and link.parent[0] in present:
        parent = contract_table(link.parent[1])
        parent_source = _reader(files[parent.name], fmt)
        parent_columns = [c for c in parent.erasure.customer_columns
                          if c in _columns(con, parent_source)]
        if parent_columns:
            parts.append(
                f"coalesce({_norm(link.parent[0], alias)} in (select "
                f"{_norm(parent.primary_key, 'erased_parent')} from {parent_source} as "
                f"erased_parent where {_names_erased('erased_parent', parent_columns)}), false)")
    if link.device_column and link.device_column in present and customer_columns:
        parts.append(
            f"coalesce({_norm(link.device_column, alias)} in (select "
            f"{_norm(link.device_column, 'erased_device')} from {source} as erased_device "
            f"where {_names_erased('erased_device', customer_columns)}), false)")
    return "(" + " or ".join(parts) + ")"



def _raw_files(raw_dir: Path, fmt: str) -> dict[str, Path]:
    return {t.name: raw_dir / f"{t.name}.{fmt}" for t in TABLES
            if (raw_dir / f"{t.name}.{fmt}").is_file()}


def _verdicts(con: duckdb.DuckDBPyConnection, files: Mapping[str, Path], ids: tuple[str, ...],
              fmt: str) -> dict[str, tuple[int, int]]:
    """Read every raw file into a temp table keep_<table> with a column is_kept; return
    (rows, erased rows) per table. Every verdict is taken on the files as they are: the
    links read other files (an order line goes with its erased order)."""
    con.execute("create or replace temp table erased_ids (id varchar)")
    con.executemany("insert into erased_ids values (?)", [[normalise_id(i)] for i in ids])
    counts = {}
    for table in TABLES:
        if table.name not in files:
            continue
        predicate = erased_rows_predicate(con, table, files, fmt)
        con.execute(
            f"create or replace temp table keep_{table.name} as select raw.*, "
            f"not {predicate} as is_kept from {_reader(files[table.name], fmt)} as raw")
        rows, erased = con.execute(
            f"select count(*), count(*) filter (where not is_kept) from keep_{table.name}"
        ).fetchone()  # type: ignore[misc]
        counts[table.name] = (rows, erased)
    return counts


def erased_row_counts(raw_dir: Path, ids: tuple[str, ...], fmt: str) -> dict[str, tuple[int, int]]:
    """(rows, rows tied to ``ids``) of every raw file of ``raw_dir``, by table; nothing is
    written."""
    con = duckdb.connect(config=duckdb_settings())
    try:
        return _verdicts(con, _raw_files(raw_dir, fmt), ids, fmt)
    finally:
        con.close()


def purge_folder(raw_dir: Path, ids: tuple[str, ...], fmt: str) -> list[Purged]:
    """Rewrite every raw file of ``raw_dir`` without the rows tied to ``ids``.

    Every file's erased rows are decided on the files as they were, then each file with
    an erased row is written to a temporary file beside it and renamed over it (a
    reader sees the old file or the new one, never half of one). Format, columns and row
    order are kept; CSV stays text with its header. Files without an erased row are not
    touched.
    """
    files = _raw_files(raw_dir, fmt)
    con = duckdb.connect(config=duckdb_settings())
    # the rows keep the file's own order
    con.execute("set preserve_insertion_order = true")
    temps: list[Path] = []
    try:
        counts = _verdicts(con, files, ids, fmt)
        results = []
        for name, (rows, erased) in counts.items():
            path = files[name]
            results.append(Purged(name, path, rows, erased))
            if erased == 0:
                continue
            temp = path.with_name(f".{path.name}.purge.tmp")
            temps.append(temp)
            options = "format csv, header true" if fmt == "csv" else "format parquet"
            con.execute(
                f"copy (select * exclude (is_kept) from keep_{name} where is_kept) "
                f"to {literal(str(temp))} ({options})")
            _fsync_file(temp)
            os.replace(temp, path)
        return results
    finally:
        con.close()
        for temp in temps:
            temp.unlink(missing_ok=True)
