"""The bad-input corpus (bad_input_corpus.py): every kind of defect has its outcome.

Row-level kinds share one generated folder and one `cx-value build --raw-dir`; each is
then looked up by its raw key. File-level kinds each damage a copy of a small clean
folder and must be refused by `cx-value check` (exit 2, message naming file, column or
line, and cause) before any model runs.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from bad_input_corpus import (
    ACCEPTED_FILE_KINDS,
    ALL_KINDS,
    FILE_CUSTOMERS,
    FILE_KINDS,
    PARQUET_KINDS,
    ROW_CUSTOMERS,
    ROW_KINDS,
    STAGED,
    Kind,
    counts_by_outcome,
    generate_clean,
    plant_rows,
)
from conftest import run_cx_value
from typer.testing import CliRunner

from cx_value.cli import app
from cx_value.contract import REJECT_REASONS, TABLES_BY_NAME
from cx_value.raw_files import RawDataError, check_folder

COPY_COUNTS = ("copies_staged", "copies_removed", "copies_rejected")


def test_corpus_has_enough_kinds_of_every_outcome() -> None:
    counts = counts_by_outcome()
    print("bad-input corpus kinds by outcome:", counts, "total", sum(counts.values()))
    assert sum(counts.values()) >= 40
    assert all(n >= 5 for n in counts.values()), counts
    names = [kind.name for kind in ALL_KINDS]
    assert len(names) == len(set(names))
    for kind in ALL_KINDS:
        assert kind.table in TABLES_BY_NAME, kind.name
        if kind.outcome == "rejected":
            assert kind.reason in REJECT_REASONS, kind.name
        elif kind.outcome == "refused":
            assert kind.message, kind.name
        else:
            assert kind.values, kind.name


# ------------------------------------------------------------------------ file level

@pytest.fixture(scope="module")
def clean_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("clean") / "raw"
    generate_clean(folder, FILE_CUSTOMERS)
    return folder


@pytest.fixture(scope="module")
def clean_parquet_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("clean_parquet") / "raw"
    generate_clean(folder, FILE_CUSTOMERS, "parquet")
    return folder


def _damaged(clean: Path, kind: Kind, into: Path) -> Path:
    folder = into / kind.name
    shutil.copytree(clean, folder)
    assert kind.damage is not None
    kind.damage(folder)
    return folder


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("kind", (*FILE_KINDS, *PARQUET_KINDS), ids=lambda kind: kind.name)
def test_file_kind_is_refused(kind: Kind, request: pytest.FixtureRequest,
                              tmp_path: Path) -> None:
    # the file-level part of `cx-value check`, which `build --raw-dir` runs before dbt
    # (the CLI's exit code and output are tested on a few kinds below)
    clean = request.getfixturevalue("clean_folder" if kind.fmt == "csv"
                                    else "clean_parquet_folder")
    folder = _damaged(clean, kind, tmp_path)
    with pytest.raises(RawDataError) as refused:
        check_folder(folder, kind.fmt, row_level=False)  # type: ignore[arg-type]
    message = _flat(" ".join(refused.value.problems))
    for fragment in kind.message:
        assert fragment in message, (fragment, message)


REFUSED_BY_BUILD = ("latin1", "missing_required_column", "semicolon_decimal_comma")


@pytest.mark.parametrize("name", REFUSED_BY_BUILD)
def test_build_refuses_before_dbt_and_leaves_the_published_files(
    name: str, clean_folder: Path, tmp_path: Path
) -> None:
    kind = next(k for k in FILE_KINDS if k.name == name)
    folder = _damaged(clean_folder, kind, tmp_path)
    published = tmp_path / "pub" / "cx_value.duckdb"
    published.parent.mkdir()
    con = duckdb.connect(str(published))
    con.execute("create table marker as select 42 as answer")
    con.close()
    exports = published.parent / "exports"
    (exports / "run1").mkdir(parents=True)
    (exports / "run1" / "x.parquet").write_bytes(b"previous export")
    before = (published.read_bytes(), published.stat().st_mtime_ns,
              sorted(p.name for p in published.parent.rglob("*")))
    result = CliRunner(env={
        "CX_DUCKDB_PATH": str(published), "CX_DUCKDB_WORK_PATH": "",
        "DBT_TARGET_PATH": str(tmp_path / "target"), "DBT_LOG_PATH": str(tmp_path / "logs"),
    }).invoke(app, ["build", "--raw-dir", str(folder), "--format", "csv"])
    output = _flat(result.output)
    assert result.exit_code == 2, output
    for fragment in kind.message:
        assert fragment in output, (fragment, output)
    checked = CliRunner().invoke(app, ["check", str(folder), "--format", "csv"])
    assert checked.exit_code == 2
    for fragment in kind.message:
        assert fragment in _flat(checked.output), fragment
    # refused before dbt: no dbt artefacts, and the published files as they were
    assert not (tmp_path / "target").exists()
    assert (published.read_bytes(), published.stat().st_mtime_ns,
            sorted(p.name for p in published.parent.rglob("*"))) == before


def test_accepted_file_kinds_pass_the_check(clean_folder: Path, tmp_path: Path) -> None:
    clean_rows = {item.table.name: item.rows
                  for item in check_folder(clean_folder, "csv", row_level=False)}
    for kind in ACCEPTED_FILE_KINDS:
        folder = _damaged(clean_folder, kind, tmp_path)
        checked = {item.table.name: item
                   for item in check_folder(folder, "csv", row_level=False)}
        item = checked[kind.table]
        if kind.name == "extra_column":
            assert item.extra_columns == ("zz_note",)
            assert item.rows == clean_rows["tickets"]
        elif kind.name == "header_only":
            assert item.rows == 0
        elif kind.name == "optional_column_missing":
            assert item.missing_optional_columns == ("currency",)
            assert item.rows == clean_rows["deals"]
        elif kind.name == "crlf_line_ends":
            assert item.rows == clean_rows["tickets"]
        else:  # pragma: no cover - a new kind needs its assertion here
            pytest.fail(f"no assertion for {kind.name}")


# ------------------------------------------------------------------------- row level

class Built:
    def __init__(self, con: duckdb.DuckDBPyConnection, keys: dict[str, str], output: str):
        self.con = con
        self.keys = keys
        self.output = output


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    base = tmp_path_factory.mktemp("corpus")
    raw = base / "raw"
    generate_clean(raw, ROW_CUSTOMERS)
    keys = plant_rows(raw)
    database = base / "warehouse.duckdb"
    # the corpus packs dozens of defects into a few small tables: far above the share of
    # rejected rows a real export may have before the gate stops it
    result = run_cx_value(
        ["build", "--raw-dir", str(raw), "--format", "csv",
         "--vars", "{cx_max_rejected_share: 0.5}",
         "--select", "+int_raw_rows_reconciled +int_rejected_rows_unioned"],
        {"CX_DUCKDB_PATH": str(database)}, base,
    )
    assert result.returncode == 0, (result.stdout[-6000:], result.stderr[-3000:])
    con = duckdb.connect(str(database), read_only=True)
    yield Built(con, keys, result.stdout)
    con.close()


def _rejected_reasons(built: Built, kind: Kind) -> list[str]:
    key = built.keys[kind.name]
    qualified = TABLES_BY_NAME[kind.table].qualified_name
    if key.strip():
        where, args = "raw_key = ?", [key]
    else:  # no key: the row is found by the marker it carries
        where, args = "raw_key is null and raw_values like ?", [f"%zz_{kind.name}%"]
    return [r[0] for r in built.con.execute(
        f"select reject_reason from intermediate.int_rejected_rows_unioned where source_table = ? "
        f"and {where}", [qualified, *args]).fetchall()]


def _staged_key(key: str) -> str:
    return key.strip().lower()


@pytest.mark.integration
@pytest.mark.parametrize("kind", [k for k in ROW_KINDS if k.outcome == "rejected"],
                         ids=lambda kind: kind.name)
def test_row_kind_is_rejected_with_its_reason(kind: Kind, built: Built) -> None:
    assert _rejected_reasons(built, kind) == [kind.reason]
    model, key_column = STAGED[kind.table]
    staged = built.con.execute(
        f"select count(*) from staging.{model} where {key_column} = ?",
        [_staged_key(built.keys[kind.name])]).fetchone()[0]
    # a conflicting copy's key stays staged (its other copy); nothing else is
    assert staged == (1 if kind.reason == "conflicting_duplicate" else 0)


@pytest.mark.integration
@pytest.mark.parametrize("kind", [k for k in ROW_KINDS if k.outcome == "accepted"],
                         ids=lambda kind: kind.name)
def test_row_kind_is_read_correctly(kind: Kind, built: Built) -> None:
    model, key_column = STAGED[kind.table]
    key = _staged_key(built.keys[kind.name])
    assert _rejected_reasons(built, kind) == []
    values = {c: v for c, v in kind.values.items() if c not in COPY_COUNTS}
    if values:
        rows = built.con.execute(
            f"select {', '.join(values)} from staging.{model} where {key_column} = ?", [key]
        ).fetchall()
        assert rows == [tuple(values.values())]
    if kind.name == "key_cyrillic_lookalike":
        # the Latin key it looks like is staged once, from its own row
        assert built.con.execute("select count(*) from staging.stg_crm__customers "
                                 "where customer_id = 'c0000004'").fetchone()[0] == 1
    if "copies_staged" in kind.values:
        base = model.replace("stg_", "base_")
        counts = built.con.execute(
            f"select count(*) filter (where reject_reason is null and not is_removed_duplicate),"
            f" count(*) filter (where is_removed_duplicate),"
            f" count(*) filter (where reject_reason is not null)"
            f" from staging.{base} where {key_column} = ?", [key]).fetchone()
        assert counts == tuple(kind.values[c] for c in COPY_COUNTS)


@pytest.mark.integration
def test_corpus_build_reconciles_and_reads_the_accepted_files(built: Built) -> None:
    unreconciled = built.con.execute(
        "select source_table from intermediate.int_raw_rows_reconciled where not is_reconciled"
    ).fetchall()
    assert unreconciled == []
    # every planted rejected row is there, and nothing else was rejected: the clean
    # generated rows all stage
    planted = sum(1 for k in ROW_KINDS if k.outcome == "rejected")
    assert built.con.execute("select count(*) from intermediate.int_rejected_rows_unioned"
                             ).fetchone()[0] == planted
    # the header-only referrals file is an empty table; the extra tickets column is ignored
    assert built.con.execute("select count(*) from staging.stg_crm__referrals").fetchone()[0] == 0
    ticket_columns = {r[0] for r in built.con.execute(
        "select column_name from information_schema.columns "
        "where table_name = 'stg_crm__tickets'").fetchall()}
    assert "zz_note" not in ticket_columns and "ticket_id" in ticket_columns

