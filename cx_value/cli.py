"""The `cx-value` command line: generate demo data, check and load raw folders, build."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table as RichTable

from cx_value.raw_files import FORMATS, RawDataError, check_folder, detect_format, load_folder

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
contract_app = typer.Typer(no_args_is_help=True, help="The raw-data contract.")
app.add_typer(contract_app, name="contract")
console = Console()
err_console = Console(stderr=True)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE = Path(os.environ.get("CX_DUCKDB_PATH", ".data/cx_value.duckdb"))


def _format_option(value: str | None) -> str | None:
    if value is not None and value not in FORMATS:
        raise typer.BadParameter(f"must be one of {', '.join(FORMATS)}")
    return value


def _fail(problems: list[str]) -> None:
    err_console.print(f"[bold red]raw data does not meet the contract ({len(problems)}):")
    for problem in problems:
        err_console.print(f"  - {problem}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


@app.command()
def generate(
    out: Annotated[Path, typer.Option(help="Folder to write the raw tables and _truth/ into.")],
    customers: Annotated[int, typer.Option(min=1, help="Number of customers.")] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same bytes.")] = 42,
    file_format: Annotated[
        str, typer.Option("--format", callback=_format_option, help="csv or parquet.")
    ] = "parquet",
    dirty_share: Annotated[
        float, typer.Option(min=0.0, max=0.5, help="Share of extra dirty rows per table.")
    ] = 0.02,
    as_of: Annotated[str, typer.Option(help="Last day of the simulated history.")] = "2026-06-30",
    bill_subscriptions: Annotated[
        bool,
        typer.Option(
            "--bill-subscriptions",
            help="Also write one contract_billing order per month of each contract term.",
        ),
    ] = False,
) -> None:
    """Generate demo raw data with a planted truth (see _truth/truth.json beside it)."""
    from cx_value.generate import generate as run_generator

    summary = run_generator(
        out_dir=out,
        customers=customers,
        seed=seed,
        fmt=file_format,  # type: ignore[arg-type]
        dirty_share=dirty_share,
        as_of=date.fromisoformat(as_of),
        progress=True,
        bill_subscriptions=bill_subscriptions,
    )
    table = RichTable(title=f"Generated {customers:,} customers in {summary.seconds:.1f} s")
    table.add_column("raw table")
    table.add_column("rows", justify="right")
    for name, rows in summary.rows.items():
        table.add_row(name, f"{rows:,}")
    console.print(table)
    console.print(f"written to {out}")


@app.command()
def check(
    raw_dir: Annotated[Path, typer.Argument(help="Folder of <table>.csv or <table>.parquet.")],
    file_format: Annotated[
        str | None, typer.Option("--format", callback=_format_option, help="csv or parquet.")
    ] = None,
) -> None:
    """Check a folder of raw files against the contract: every file, every column."""
    try:
        checked = check_folder(raw_dir, file_format)  # type: ignore[arg-type]
    except RawDataError as exc:
        _fail(exc.problems)
        return
    table = RichTable(title=f"{raw_dir}: meets the raw-data contract")
    table.add_column("raw table")
    table.add_column("file")
    table.add_column("rows", justify="right")
    table.add_column("ignored extra columns")
    for item in checked:
        table.add_row(
            item.table.qualified_name, item.path.name, f"{item.rows:,}",
            ", ".join(item.extra_columns),
        )
    console.print(table)


@app.command()
def load(
    raw_dir: Annotated[Path, typer.Argument(help="Folder of <table>.csv or <table>.parquet.")],
    database: Annotated[Path, typer.Option(help="DuckDB file to load into.")] = DEFAULT_DATABASE,
    schema: Annotated[str, typer.Option(help="Schema for the raw tables.")] = "raw",
    file_format: Annotated[
        str | None, typer.Option("--format", callback=_format_option, help="csv or parquet.")
    ] = None,
) -> None:
    """Check a raw folder, then load it into warehouse tables in one transaction."""
    try:
        checked = load_folder(raw_dir, database, schema, file_format)  # type: ignore[arg-type]
    except RawDataError as exc:
        _fail(exc.problems)
        return
    total = sum(item.rows for item in checked)
    console.print(
        f"loaded {len(checked)} raw tables ({total:,} rows) into {database} schema {schema}; "
        f"build with CX_RAW_MODE=tables CX_RAW_SCHEMA={schema}"
    )


@app.command()
def build(
    raw_dir: Annotated[
        Path | None,
        typer.Option(help="Read raw files from this folder instead of the demo seeds."),
    ] = None,
    file_format: Annotated[
        str | None, typer.Option("--format", callback=_format_option, help="csv or parquet.")
    ] = None,
    select: Annotated[str | None, typer.Option(help="dbt node selection.")] = None,
    full_refresh: Annotated[bool, typer.Option(help="Rebuild incremental models.")] = False,
) -> None:
    """Run `dbt build`; with --raw-dir the folder is checked first, so a bad file stops
    the run before any model is touched."""
    from cx_value.dbt_runner import run_dbt

    if raw_dir is not None:
        try:
            fmt = file_format or detect_format(raw_dir)
            check_folder(raw_dir, fmt)  # type: ignore[arg-type]
        except RawDataError as exc:
            _fail(exc.problems)
            return
        os.environ["CX_RAW_MODE"] = "files"
        os.environ["CX_RAW_DIR"] = str(raw_dir.resolve())
        os.environ["CX_RAW_FORMAT"] = fmt
    database = Path(os.environ.get("CX_DUCKDB_PATH", DEFAULT_DATABASE))
    database.parent.mkdir(parents=True, exist_ok=True)
    args = ["build"]
    if select:
        args += ["--select", select]
    if full_refresh:
        args.append("--full-refresh")
    if not run_dbt(args, PROJECT_ROOT):
        raise typer.Exit(code=1)


@app.command()
def summary(
    database: Annotated[Path, typer.Option(help="DuckDB file to read.")] = DEFAULT_DATABASE,
) -> None:
    """Print where the database is and its headline figures."""
    from cx_value.report import print_summary

    print_summary(database, console)


@contract_app.command("render")
def contract_render() -> None:
    """Rewrite the dbt source/seed properties and docs/raw_data_contract.md from the contract."""
    from cx_value.contract_render import write_rendered

    changed = write_rendered(PROJECT_ROOT)
    for path in changed:
        console.print(f"wrote {path.relative_to(PROJECT_ROOT)}")
    if not changed:
        console.print("rendered files are up to date")


if __name__ == "__main__":  # pragma: no cover
    app()
