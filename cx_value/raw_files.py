"""Check a folder of raw files against the contract, and load it into the warehouse.

File-level problems (a missing file, a missing column, a file that cannot be read)
stop everything before anything is written, with a message that names the file
and the column. Row-level problems are not looked at here: staging rejects those
rows with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb

from cx_value.contract import TABLES, Table

RawFormat = Literal["csv", "parquet"]
FORMATS: tuple[RawFormat, ...] = ("parquet", "csv")


class RawDataError(Exception):
    """The raw folder does not meet the contract; ``problems`` lists every finding."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class CheckedTable:
    """A raw file that meets the contract."""

    table: Table
    path: Path
    rows: int
    extra_columns: tuple[str, ...]


def detect_format(raw_dir: Path) -> RawFormat:
    """The one file format used in ``raw_dir``, told by the files' extensions."""
    if not raw_dir.is_dir():
        raise RawDataError([f"{raw_dir}: not a folder"])
    found = [fmt for fmt in FORMATS if any(raw_dir.glob(f"*.{fmt}"))]
    if len(found) != 1:
        what = "no .csv or .parquet files" if not found else "both .csv and .parquet files"
        raise RawDataError([f"{raw_dir}: {what}; name the format with --format"])
    return found[0]


def reader_sql(path: Path, fmt: RawFormat) -> str:
    """DuckDB table function reading one raw file, every column as text."""
    literal = str(path).replace("'", "''")
    if fmt == "csv":
        return f"read_csv('{literal}', header = true, all_varchar = true)"
    return f"read_parquet('{literal}')"


def check_folder(raw_dir: Path, fmt: RawFormat | None = None) -> list[CheckedTable]:
    """Check every contract table's file in ``raw_dir``; raise RawDataError listing all problems."""
    fmt = fmt or detect_format(raw_dir)
    problems: list[str] = []
    checked: list[CheckedTable] = []
    con = duckdb.connect()
    try:
        for table in TABLES:
            path = raw_dir / f"{table.name}.{fmt}"
            if not path.is_file():
                problems.append(f"{path}: missing file for raw table {table.qualified_name}")
                continue
            try:
                columns = [
                    row[0]
                    for row in con.execute(f"describe select * from {reader_sql(path, fmt)}")
                    .fetchall()
                ]
                rows = con.execute(f"select count(*) from {reader_sql(path, fmt)}").fetchone()
            except duckdb.Error as exc:
                first_line = str(exc).strip().splitlines()[0]
                problems.append(f"{path}: cannot be read as {fmt}: {first_line}")
                continue
            present = {c.strip().lower() for c in columns}
            missing = [c for c in table.column_names if c not in present]
            if missing:
                problems.append(
                    f"{path}: missing column{'s' if len(missing) > 1 else ''} "
                    f"{', '.join(missing)} (raw table {table.qualified_name})"
                )
                continue
            extra = tuple(c for c in columns if c.strip().lower() not in table.column_names)
            checked.append(CheckedTable(table, path, int(rows[0]) if rows else 0, extra))
    finally:
        con.close()
    if problems:
        raise RawDataError(problems)
    return checked


def load_folder(
    raw_dir: Path, database: Path, schema: str = "raw", fmt: RawFormat | None = None
) -> list[CheckedTable]:
    """Check ``raw_dir`` and copy every raw table into ``schema`` of ``database``.

    All tables are replaced in one transaction: either every table is loaded or the
    database is left exactly as it was.
    """
    fmt = fmt or detect_format(raw_dir)
    checked = check_folder(raw_dir, fmt)
    database.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(database))
    try:
        con.execute("begin transaction")
        con.execute(f'create schema if not exists "{schema}"')
        for item in checked:
            columns = ", ".join(f'"{c}"' for c in item.table.column_names)
            con.execute(
                f'create or replace table "{schema}"."{item.table.name}" as '
                f"select {columns} from {reader_sql(item.path, fmt)}"
            )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        con.close()
    return checked
