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
