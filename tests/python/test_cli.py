"""The command line reports contract problems with exit code 2 and names them."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cx_value.cli import app


def test_check_names_the_missing_file(tmp_path: Path) -> None:
    (tmp_path / "customers.csv").write_text("customer_id\nc1\n")
    result = CliRunner().invoke(app, ["check", str(tmp_path)])
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert "customers.csv: missing columns" in output
    assert "contacts.csv: missing file" in output


def test_build_stops_before_dbt_on_a_bad_folder(tmp_path: Path) -> None:
    database = tmp_path / "never.duckdb"
    result = CliRunner(env={"CX_DUCKDB_PATH": str(database)}).invoke(
        app, ["build", "--raw-dir", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "no .csv or .parquet files" in result.output
    assert not database.exists()


def _contract_folder(folder: Path, leave_out: tuple[str, ...] = ()) -> None:
    from cx_value.contract import TABLES

    for table in TABLES:
        if table.name in leave_out:
            continue
        rows = [",".join(table.column_names), ",".join(f"{c}-1" for c in table.column_names)]
        (folder / f"{table.name}.csv").write_text("\n".join(rows) + "\n")


def test_check_with_absent_tables_lists_what_they_feed_and_the_marts_left_empty(
    tmp_path: Path,
) -> None:
    _contract_folder(tmp_path, leave_out=("tickets", "events"))
    result = CliRunner().invoke(app, ["check", str(tmp_path), "--absent", "tickets,web.events"])
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "declared absent" in output
    assert "Marts that will be empty" in output
    assert "mart_service_monthly" in output and "fct_web_sessions" in output


def test_build_refuses_vars_that_are_not_a_mapping(tmp_path: Path) -> None:
    result = CliRunner(env={"CX_DUCKDB_PATH": str(tmp_path / "never.duckdb")}).invoke(
        app, ["build", "--vars", "[1, 2]"]
    )
    assert result.exit_code == 2
    assert "--vars must be a mapping" in " ".join(result.output.split())
    assert not (tmp_path / "never.duckdb").exists()
