"""Check a folder of raw files against the contract, and load it into the warehouse.

File-level problems (a missing file, a missing required column, a file that cannot
be read) stop everything before anything is written, with a message that names the
file and the column. Row-level problems are warnings only: staging rejects those
rows with a reason. Columns and rows are judged by the raw expectation suite, the
one definition the warehouse's gate uses too.

A company that has no such data declares the table absent (``absent``); every table
but ``customers`` may be. A forgotten file is still an error: only a declaration
turns a missing file into an empty table. Optional columns may be left out of a
file; staging reads them as empty.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb

from cx_value.contract import REQUIRED_TABLES, TABLES, TABLES_BY_NAME, Table
from cx_value.profiles import duckdb_settings
from cx_value.sql_text import literal

RawFormat = Literal["csv", "parquet"]
FORMATS: tuple[RawFormat, ...] = ("parquet", "csv")


class RawDataError(Exception):
    """The raw folder does not meet the contract; ``problems`` lists every finding."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class CheckedTable:
    """A raw table that meets the contract: a file, or a table declared absent."""

    table: Table
    path: Path | None  # None when the table is declared absent
    rows: int
    extra_columns: tuple[str, ...] = ()
    missing_optional_columns: tuple[str, ...] = ()
    # warning-level findings of the raw suite: rows staging will reject
    warnings: tuple[str, ...] = ()

    @property
    def is_absent(self) -> bool:
        return self.path is None


def absent_tables(names: Iterable[str] | str | None) -> tuple[str, ...]:
    """Normalise a declaration of absent tables (``events``, ``web.events``, a comma list).

    Raises RawDataError for an unknown table or one that every export needs.
    """
    if names is None:
        return ()
    if isinstance(names, str):
        names = names.split(",")
    problems: list[str] = []
    absent: list[str] = []
    for raw in names:
        name = raw.strip().lower().split(".")[-1]
        if not name:
            continue
        if name not in TABLES_BY_NAME:
            problems.append(
                f"cannot declare {raw.strip()!r} absent: not a raw table "
                f"(known: {', '.join(TABLES_BY_NAME)})"
            )
        elif name in REQUIRED_TABLES:
            problems.append(f"cannot declare {name!r} absent: every export needs it")
        elif name not in absent:
            absent.append(name)
    if problems:
        raise RawDataError(problems)
    return tuple(absent)


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
    if fmt == "csv":
        return f"read_csv({literal(str(path))}, header = true, all_varchar = true)"
    return f"read_parquet({literal(str(path))})"


# what a file named .csv may really be, by its first bytes
_NOT_TEXT = (
    (b"\x1f\x8b", "is gzip-compressed: decompress it (gunzip) and name it .csv"),
    (b"PK\x03\x04", "is a zip archive (an Excel workbook is one): save or extract it as "
                    "a UTF-8 CSV file"),
    (b"\xff\xfe", "is UTF-16 text: save it as UTF-8"),
    (b"\xfe\xff", "is UTF-16 text: save it as UTF-8"),
    (b"PAR1", "is a Parquet file: name it .parquet"),
)
_CHUNK = 1 << 22


def csv_problems(path: Path) -> list[str]:
    """What makes ``path`` unreadable as the contract's CSV (UTF-8, comma-separated, a
    header row of distinct names, every row as many fields as the header), each in
    plain words with the line where there is one; [] for a file that is fine.

    Checked before DuckDB reads the file: its sniffer would otherwise guess (a stray
    comma turns the file into one column, "every column missing"; a semicolon file with
    decimal commas is read, then every amount rejected) or report "CSV Error on Line 12".
    """
    import codecs
    import csv

    import pyarrow as pa
    import pyarrow.csv as pa_csv

    size = path.stat().st_size
    if size == 0:
        return [f"{path}: the file is empty (0 bytes): not even a header row"]
    with path.open("rb") as handle:
        head = handle.read(4)
    for magic, what in _NOT_TEXT:
        if head.startswith(magic):
            return [f"{path}: {what}"]
    # the whole file must be UTF-8: name the first line that is not
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                # exc.object: the bytes decoded, a split character's start included
                line += exc.object[: exc.start].count(b"\n")
                byte = exc.object[exc.start]
                return [f"{path}: line {line} is not UTF-8 (byte 0x{byte:02x}; a Latin-1 or "
                        f"Windows-1252 export?): save the file with UTF-8 encoding"]
            line += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return [f"{path}: the last line ends inside a character: the file is not UTF-8 "
                    f"or was cut short"]
    with path.open(newline="", encoding="utf-8-sig") as handle:
        header_line = handle.readline()
    header = next(csv.reader([header_line]), [])
    if len(header) <= 1 and (";" in header_line or "\t" in header_line):
        if ";" in header_line:
            return [f"{path}: columns are separated by semicolons, not commas (a regional "
                    f"spreadsheet locale, which also writes decimal commas): export it as "
                    f"comma-separated with decimal points"]
        return [f"{path}: columns are separated by tabs, not commas: export it as "
                f"comma-separated"]
    names = [name.strip().lower() for name in header]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        return [f"{path}: column{'s' if len(repeated) > 1 else ''} "
                f"{', '.join(repeated)} appear{'' if len(repeated) > 1 else 's'} twice in "
                f"the header: keep one of each"]
    bad_rows: list[tuple[int, int, str]] = []

    def on_invalid(row: pa_csv.InvalidRow) -> str:
        if not bad_rows:
            bad_rows.append((row.expected_columns, row.actual_columns, row.text))
        return "skip"

    if not header or "" in names:
        return [f"{path}: the header row has an empty column name: every column needs one"]
    try:
        reader = pa_csv.open_csv(
            path,
            read_options=pa_csv.ReadOptions(block_size=_CHUNK),
            parse_options=pa_csv.ParseOptions(delimiter=",", newlines_in_values=True,
                                              invalid_row_handler=on_invalid),
            convert_options=pa_csv.ConvertOptions(include_columns=[header[0]],
                                                  column_types={header[0]: "string"}),
        )
        for _ in reader:
            pass
    except pa.ArrowException as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return [f"{path}: cannot be read as CSV: {first_line}"]
    if bad_rows:
        expected, actual, text = bad_rows[0]
        where = _line_of(path, text)
        problem = "a truncated line" if actual < expected else "an unquoted comma in a value"
        return [f"{path}: line {where or '?'} has {actual} fields where the header has "
                f"{expected} ({problem}?)"]
    return []


def _line_of(path: Path, text: str) -> int | None:
    """The number of the first line of ``path`` that is exactly ``text``."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for number, line in enumerate(handle, start=1):
            if line.rstrip("\r\n") == text:
                return number
    return None


def declared_extra_columns(dbt_vars: Mapping[str, object] | None) -> dict[str, tuple[str, ...]]:
    """Column names per raw table declared in the var ``cx_extra_columns`` of ``dbt_vars``
    (``{table: [{name, type, ...}, ...]}``); empty without the var. The dbt macro
    ``cx_extra_columns`` validates the declaration itself (types, personal data)."""
    declared = (dbt_vars or {}).get("cx_extra_columns") or {}
    if not isinstance(declared, Mapping):
        raise RawDataError(["var cx_extra_columns must map a raw table to a list of columns"])
    columns: dict[str, tuple[str, ...]] = {}
    for table, items in declared.items():
        names = [str(item.get("name", "")).strip().lower() if isinstance(item, Mapping)
                 else str(item).strip().lower() for item in (items or [])]
        columns[str(table)] = tuple(n for n in names if n)
    return columns


def check_folder(
    raw_dir: Path, fmt: RawFormat | None = None, absent: Iterable[str] | str | None = None,
    extra_columns: Mapping[str, Iterable[str]] | None = None,
    max_share: float | None = None,
    row_level: bool = True,
) -> list[CheckedTable]:
    """Check every contract table's file in ``raw_dir``; raise RawDataError listing all problems.

    Here only what must hold before the raw suite can run: each file exists and can be
    read. The rest is the raw expectation suite (:mod:`cx_value.quality.suites`), the
    same one the warehouse is validated with, run by Great Expectations on DuckDB views
    of the files: a missing required column (or one declared in ``extra_columns``,
    :func:`declared_extra_columns`) or an empty customers file fails; row-level
    findings (values that do not parse, are missing or are outside their vocabulary,
    repeated keys) come back as ``warnings``: staging rejects those rows with a reason.
    Tables named in ``absent`` need no file (and must not have one: a declaration and a
    file contradict each other). ``max_share`` is the share of rows a warning allows
    (default: the var cx_max_rejected_share). ``row_level=False`` checks only what fails
    a file (readable, columns present, customers not empty), with no row-level warnings:
    what a build needs before staging, which rejects and counts those rows itself.
    """
    wanted = {table: tuple(names) for table, names in (extra_columns or {}).items()}
    absent_names = absent_tables(absent)
    fmt = fmt or detect_format(raw_dir)
    problems: list[str] = []
    readable: list[tuple[Table, Path, list[str], int]] = []
    checked: dict[str, CheckedTable] = {}
    con = duckdb.connect(config=duckdb_settings())
    try:
        for table in TABLES:
            path = raw_dir / f"{table.name}.{fmt}"
            if table.name in absent_names:
                if path.exists():
                    problems.append(
                        f"{path}: raw table {table.qualified_name} is declared absent but "
                        "its file is there; drop the declaration or the file"
                    )
                else:
                    checked[table.name] = CheckedTable(table, None, 0)
                continue
            if not path.is_file():
                hint = (
                    "" if table.name in REQUIRED_TABLES
                    else f" (if the company has no such data, declare it: --absent {table.name})"
                )
                problems.append(
                    f"{path}: missing file for raw table {table.qualified_name}{hint}"
                )
                continue
            if fmt == "csv":
                unreadable = csv_problems(path)
                if unreadable:
                    problems += unreadable
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
            readable.append((table, path, columns, int(rows[0]) if rows else 0))
    finally:
        con.close()
    if readable:
        problems += _run_raw_suite(readable, fmt, wanted, max_share, checked, row_level)
    if problems:
        raise RawDataError(problems)
    return [checked[t.name] for t in TABLES if t.name in checked]


def _run_raw_suite(
    readable: list[tuple[Table, Path, list[str], int]],
    fmt: RawFormat,
    wanted: Mapping[str, tuple[str, ...]],
    max_share: float | None,
    checked: dict[str, CheckedTable],
    row_level: bool = True,
) -> list[str]:
    """Run the raw suite on the readable files; fill ``checked`` with the tables that
    pass and return the critical problems, named by file and column."""
    from cx_value.quality.validate import (
        project_vars,
        rejected_share_settings,
        validate_raw_relations,
    )

    if max_share is None:
        max_share = rejected_share_settings(project_vars())[0]
    report = validate_raw_relations(
        [(table, reader_sql(path, fmt), columns, str(path))
         for table, path, columns, _ in readable],
        max_share=max_share, extra_columns=wanted, row_level=row_level,
    )
    problems: list[str] = []
    for table, path, columns, rows in readable:
        mine = [f for f in report.failures if f.table == str(path)]
        missing = [f.column for f in mine if f.expectation == "expect_column_to_exist"
                   and f.column not in wanted.get(table.name, ())]
        undeclared = [f.column for f in mine if f.expectation == "expect_column_to_exist"
                      and f.column in wanted.get(table.name, ())]
        if undeclared:
            problems.append(
                f"{path}: missing column{'s' if len(undeclared) > 1 else ''} "
                f"{', '.join(str(c) for c in undeclared)} declared in the var "
                f"cx_extra_columns (raw table {table.qualified_name})"
            )
        if missing:
            problems.append(
                f"{path}: missing column{'s' if len(missing) > 1 else ''} "
                f"{', '.join(str(c) for c in missing)} (raw table {table.qualified_name})"
            )
        if missing or undeclared:
            continue
        if any(f.expectation == "expect_table_row_count_to_be_between" for f in mine):
            problems.append(
                f"{path}: raw table {table.qualified_name} has no rows; every other table "
                "is about its customers, so there is nothing to build"
            )
            continue
        problems += [f"{path}: {f.message()}" for f in mine
                     if f.expectation != "expect_column_to_exist"]
        present = {c.strip().lower() for c in columns}
        extra = tuple(c for c in columns if c.strip().lower() not in table.column_names)
        optional_missing = tuple(c for c in table.column_names if c not in present)
        notes = tuple(f.message() for f in report.warnings if f.table == str(path))
        checked[table.name] = CheckedTable(table, path, rows, extra, optional_missing, notes)
    return problems


def load_folder(
    raw_dir: Path,
    database: Path,
    schema: str = "raw",
    fmt: RawFormat | None = None,
    absent: Iterable[str] | str | None = None,
) -> list[CheckedTable]:
    """Check ``raw_dir`` and copy every raw table into ``schema`` of ``database``.

    All tables are replaced in one transaction: either every table is loaded or the
    database is left exactly as it was. A table declared absent is not created (and an
    old copy of it is dropped, so a later build cannot read stale rows); build with
    the same declaration.
    """
    fmt = fmt or detect_format(raw_dir)
    checked = check_folder(raw_dir, fmt, absent)
    database.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(database), config=duckdb_settings())
    try:
        con.execute("begin transaction")
        con.execute(f'create schema if not exists "{schema}"')
        for item in checked:
            if item.path is None:
                con.execute(f'drop table if exists "{schema}"."{item.table.name}"')
                continue
            # the contract's columns and every other column of the file: an attribute
            # the build may be told to carry (cx_extra_columns) must not be lost here
            columns = ", ".join(
                [f'"{c}"' for c in item.table.column_names
                 if c not in item.missing_optional_columns]
                + [f'"{c}"' for c in item.extra_columns]
            )
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
