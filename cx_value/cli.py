"""The `cx-value` command line: generate demo data, check and load raw folders, build."""

from __future__ import annotations

import contextlib
import os
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table as RichTable

from cx_value.profiles import duckdb_settings
from cx_value.quality.validate import project_vars
from cx_value.raw_files import (
    FORMATS,
    RawDataError,
    absent_tables,
    check_folder,
    declared_extra_columns,
    detect_format,
    load_folder,
)
from cx_value.settings import raw_mode, setting_problems

if TYPE_CHECKING:
    from cx_value.publish import Paths

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


def _fail(problems: list[str], heading: str = "raw data does not meet the contract") -> NoReturn:
    err_console.print(f"[bold red]{heading} ({len(problems)}):")
    for problem in problems:
        err_console.print(f"  - {problem}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


PROFILES = ("demo", "contracts")


def _profile_option(value: str) -> str:
    if value not in PROFILES:
        raise typer.BadParameter(f"must be one of {', '.join(PROFILES)}")
    return value


@app.command()
def generate(
    out: Annotated[Path, typer.Option(help="Folder to write the raw tables and _truth/ into.")],
    profile: Annotated[
        str,
        typer.Option(
            callback=_profile_option,
            help="demo: every raw table of a B2B/B2C business with dirty rows "
            "(_truth/truth.json). contracts: a telecom/SaaS contract book, customers and "
            "subscriptions only, no dirty rows, planted per-plan retention "
            "(_truth/contract_book.json).",
        ),
    ] = "demo",
    customers: Annotated[
        int | None,
        typer.Option(min=1, help="Number of customers [default: 2000 demo, 6000 contracts]."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same bytes.")] = 42,
    file_format: Annotated[
        str, typer.Option("--format", callback=_format_option, help="csv or parquet.")
    ] = "parquet",
    dirty_share: Annotated[
        float,
        typer.Option(min=0.0, max=0.5,
                     help="Share of extra dirty rows per table (demo profile only)."),
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
    """Generate raw data with a planted truth (in _truth/ beside it)."""
    n = customers if customers is not None else (6000 if profile == "contracts" else 2000)
    if profile == "contracts":
        from cx_value.generate.contract_book import ABSENT_TABLES, generate_contract_book

        summary = generate_contract_book(
            out_dir=out,
            customers=n,
            seed=seed,
            fmt=file_format,  # type: ignore[arg-type]
            as_of=date.fromisoformat(as_of),
            bill_subscriptions=bill_subscriptions,
        )
        absent = list(ABSENT_TABLES)
        if not bill_subscriptions:
            absent += ["orders", "order_lines"]
        note = f"check and build it with --absent {','.join(absent)}"
    else:
        from cx_value.generate import generate as run_generator

        summary = run_generator(
            out_dir=out,
            customers=n,
            seed=seed,
            fmt=file_format,  # type: ignore[arg-type]
            dirty_share=dirty_share,
            as_of=date.fromisoformat(as_of),
            progress=True,
            bill_subscriptions=bill_subscriptions,
        )
        note = ""
    table = RichTable(title=f"Generated {n:,} customers in {summary.seconds:.1f} s")
    table.add_column("raw table")
    table.add_column("rows", justify="right")
    for name, rows in summary.rows.items():
        table.add_row(name, f"{rows:,}")
    console.print(table)
    console.print(f"written to {out}; truth in {summary.truth_path}")
    if note:
        console.print(note)


AbsentOption = Annotated[
    str | None,
    typer.Option(
        "--absent",
        help="Raw tables the company does not have, comma-separated (e.g. events,tickets): "
        "read as empty. Without it a missing file is an error. Also CX_ABSENT_TABLES.",
    ),
]


ErasureOption = Annotated[
    Path | None,
    typer.Option(
        "--erasure-list",
        help="CSV file with a header customer_id: customers whose rows are left out of "
        "every model and export (their orders' lines and their devices' web events too). "
        "Also CX_ERASURE_LIST.",
    ),
]


def _erasure(option: Path | None) -> tuple[Path | None, tuple[str, ...]]:
    """The erasure list from --erasure-list or CX_ERASURE_LIST, and its ids; exits 2
    naming the file when it cannot be read."""
    from cx_value.erasure import ERASURE_VARIABLE, ErasureListError, read_erasure_list

    configured = os.environ.get(ERASURE_VARIABLE, "").strip()
    path = option if option is not None else (Path(configured) if configured else None)
    if path is None:
        return None, ()
    try:
        return path, read_erasure_list(path)
    except ErasureListError as exc:
        _fail([str(exc)], "cannot read the erasure list")


def _absent(option: str | None, dbt_vars: dict | None = None) -> tuple[str, ...]:
    """Absent tables from --absent, the var cx_absent_tables or CX_ABSENT_TABLES."""
    declared = option
    if declared is None and dbt_vars and "cx_absent_tables" in dbt_vars:
        value = dbt_vars["cx_absent_tables"]
        declared = ",".join(value) if isinstance(value, list) else str(value or "")
    if declared is None:
        declared = os.environ.get("CX_ABSENT_TABLES", "")
    try:
        return absent_tables(declared)
    except RawDataError as exc:
        _fail(exc.problems)


@app.command()
def check(
    raw_dir: Annotated[Path, typer.Argument(help="Folder of <table>.csv or <table>.parquet.")],
    file_format: Annotated[
        str | None, typer.Option("--format", callback=_format_option, help="csv or parquet.")
    ] = None,
    absent: AbsentOption = None,
    dbt_vars: Annotated[
        str | None,
        typer.Option("--vars", help="dbt vars as YAML or JSON, as given to build (reads "
                     "cx_absent_tables and cx_extra_columns)."),
    ] = None,
    erasure_list: ErasureOption = None,
) -> None:
    """Check a folder of raw files against the contract: every file, every column; say
    which areas each table feeds and which marts will be empty."""
    from cx_value.coverage import areas_fed, empty_marts

    parsed_vars = _parse_vars(dbt_vars)
    declared = _absent(absent, parsed_vars)
    erasure_path, erased = _erasure(erasure_list)
    try:
        checked = check_folder(raw_dir, file_format, declared,  # type: ignore[arg-type]
                               declared_extra_columns(project_vars(parsed_vars)))
    except RawDataError as exc:
        _fail(exc.problems)
    feeds = areas_fed(PROJECT_ROOT)
    table = RichTable(title=f"{raw_dir}: meets the raw-data contract")
    table.add_column("raw table")
    table.add_column("file")
    table.add_column("rows", justify="right")
    table.add_column("feeds")
    table.add_column("notes")
    for item in checked:
        notes = []
        if item.missing_optional_columns:
            notes.append("read as empty: " + ", ".join(item.missing_optional_columns))
        if item.extra_columns:
            notes.append("ignored: " + ", ".join(item.extra_columns))
        table.add_row(
            item.table.qualified_name,
            "declared absent" if item.path is None else item.path.name,
            f"{item.rows:,}",
            ", ".join(feeds.get(item.table.name, ())),
            "; ".join(notes),
        )
    console.print(table)
    warned = [w for item in checked for w in item.warnings]
    if warned:
        console.print(f"notes ({len(warned)}; rows that staging will reject with a reason):")
        for warning in warned:
            console.print(f"  - {warning}", highlight=False, soft_wrap=True)
    observed = [item.table.name for item in checked if item.rows > 0]
    unmet = empty_marts(PROJECT_ROOT, observed)
    if unmet:
        empty = RichTable(title="Marts that will be empty (the rows they need are not there)")
        empty.add_column("mart")
        empty.add_column("why")
        for name, why in unmet.items():
            empty.add_row(name, why)
        console.print(empty)
    else:
        console.print("every mart has the tables its rows need")
    if erasure_path is not None:
        from cx_value.erasure import erased_row_counts

        counts = erased_row_counts(raw_dir, erased, file_format or detect_format(raw_dir))
        left_out = ", ".join(f"{name} {n:,}" for name, (_, n) in counts.items() if n)
        console.print(f"erasure list {erasure_path}: {len(erased):,} customers; a build "
                      f"leaves out their rows: {left_out or 'none in this folder'}",
                      highlight=False, soft_wrap=True)


@app.command()
def load(
    raw_dir: Annotated[Path, typer.Argument(help="Folder of <table>.csv or <table>.parquet.")],
    database: Annotated[
        Path | None,
        typer.Option(help="DuckDB file to load into [default: the working database dbt "
                     "builds, CX_DUCKDB_WORK_PATH or <CX_DUCKDB_PATH folder>/work/]."),
    ] = None,
    schema: Annotated[str, typer.Option(help="Schema for the raw tables.")] = "raw",
    file_format: Annotated[
        str | None, typer.Option("--format", callback=_format_option, help="csv or parquet.")
    ] = None,
    absent: AbsentOption = None,
) -> None:
    """Check a raw folder, then load it into warehouse tables in one transaction."""
    if database is None:
        from cx_value.publish import prepare_working, resolve_paths

        # raw tables are read by dbt, which builds the working database (the published
        # one is a copy of it and must never be written to)
        paths = resolve_paths()
        prepare_working(paths)
        database = paths.working
    declared = _absent(absent)
    try:
        checked = load_folder(  # type: ignore[arg-type]
            raw_dir, database, schema, file_format, declared
        )
    except RawDataError as exc:
        _fail(exc.problems)
    total = sum(item.rows for item in checked)
    loaded = [item for item in checked if item.path is not None]
    hint = f"CX_RAW_MODE=tables CX_RAW_SCHEMA={schema}"
    if declared:
        hint += f" CX_ABSENT_TABLES={','.join(declared)}"
    console.print(
        f"loaded {len(loaded)} raw tables ({total:,} rows) into {database} schema {schema}; "
        f"build with {hint}"
    )


def _parse_vars(text: str | None) -> dict:
    """The --vars argument as a mapping (YAML or JSON, as dbt takes it)."""
    import yaml

    if not text:
        return {}
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise typer.BadParameter(f"--vars is not YAML or JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise typer.BadParameter("--vars must be a mapping, e.g. '{cx_as_of: 2025-06-30}'")
    return parsed


@app.command()
def build(
    raw_dir: Annotated[
        Path | None,
        typer.Option(help="Read raw files from this folder instead of the demo seeds."),
    ] = None,
    file_format: Annotated[
        str | None, typer.Option("--format", callback=_format_option, help="csv or parquet.")
    ] = None,
    absent: AbsentOption = None,
    dbt_vars: Annotated[
        str | None,
        typer.Option(
            "--vars",
            help="dbt vars as YAML or JSON, e.g. '{cx_as_of: 2025-06-30, cx_currency: GBP}'.",
        ),
    ] = None,
    select: Annotated[str | None, typer.Option(help="dbt node selection.")] = None,
    exclude: Annotated[str | None, typer.Option(help="dbt nodes to leave out.")] = None,
    full_refresh: Annotated[bool, typer.Option(help="Rebuild incremental models.")] = False,
    unit_tests: Annotated[
        bool,
        typer.Option(help="Also run dbt's unit tests (fixed inputs, so they check the code, "
                          "not the data: `make test` runs them)."),
    ] = False,
    erasure_list: ErasureOption = None,
) -> None:
    """Run `dbt build` into the working database, validate it (the data-quality gate) and,
    only when it passes, publish it: the database file swapped in by an atomic rename and
    Parquet exports of the public marts. With --raw-dir the folder is checked first, so a
    bad file stops the run before any model is touched."""
    import json

    from cx_value.dbt_runner import run_dbt
    from cx_value.publish import (
        PublishError,
        current_run,
        new_run_id,
        prepare_working,
        resolve_paths,
    )

    parsed_vars = _parse_vars(dbt_vars)
    declared = _absent(absent, parsed_vars)
    erasure_path, erased = _erasure(erasure_list)
    if erased and (select or exclude):
        _fail(["an erasure rebuilds every model from nothing, so that no model keeps an "
               "erased customer's rows: drop --select/--exclude"],
              "cannot build with these settings")
    if absent is not None:
        # the option wins over a var of the same name, so check and build agree
        parsed_vars["cx_absent_tables"] = ",".join(declared)
    settings_env = dict(os.environ)
    if raw_dir is not None:
        # the folder given here is what the build reads, whatever the environment says
        settings_env.update(CX_RAW_MODE="files", CX_RAW_DIR=str(raw_dir),
                            CX_RAW_FORMAT=file_format or "parquet")
    problems = setting_problems(
        settings_env, {k: v for k, v in parsed_vars.items() if raw_dir is None
                       or k not in ("cx_raw_mode", "cx_raw_dir", "cx_raw_format")})
    if problems:
        _fail(problems, "cannot build with these settings")
    if raw_dir is not None:
        try:
            fmt = file_format or detect_format(raw_dir)
            # file-level only: staging rejects and counts bad rows itself, and the
            # row-level raw suite (`cx-value check`) would read every file once more
            check_folder(raw_dir, fmt, declared,  # type: ignore[arg-type]
                         declared_extra_columns(project_vars(parsed_vars)), row_level=False)
        except RawDataError as exc:
            _fail(exc.problems)
        os.environ["CX_RAW_MODE"] = "files"
        os.environ["CX_RAW_DIR"] = str(raw_dir.resolve())
        os.environ["CX_RAW_FORMAT"] = fmt
    os.environ["CX_ABSENT_TABLES"] = ",".join(declared)
    # the ids reach dbt through the plugin (cx_value.dbt_plugin) reading this file:
    # never as dbt vars, which meta.dbt_runs records
    from cx_value.erasure import ERASURE_VARIABLE

    os.environ[ERASURE_VARIABLE] = str(erasure_path.resolve()) if erasure_path else ""
    paths = resolve_paths()
    # dbt (profiles.yml) writes the working database only; absolute, since dbt may
    # resolve a relative path against another folder than ours
    os.environ["CX_DUCKDB_WORK_PATH"] = str(paths.working.resolve())
    _recover(paths)
    # raw tables (cx_raw_mode tables) may live in the working database itself
    # (`cx-value load`): it is then kept and every model rebuilt in it instead
    keep_working = bool(erased) and raw_mode(os.environ, parsed_vars) == "tables"
    if erased and not keep_working:
        _start_empty(paths)
    if keep_working:
        paths.working.parent.mkdir(parents=True, exist_ok=True)
        full_refresh = True
        console.print("erasure with raw tables: every model is rebuilt from nothing "
                      "(--full-refresh); the raw tables themselves still hold the erased "
                      "customers' rows: delete them there, or purge the files "
                      "(`cx-value purge`) and load them again", highlight=False,
                      soft_wrap=True)
    try:
        if not erased and prepare_working(paths):
            console.print(f"working database {paths.working} starts from a copy of the "
                          f"published one, so incremental models keep their state")
    except PublishError as exc:
        err_console.print(f"[bold red]cannot prepare the working database[/]: {exc}")
        raise typer.Exit(code=1) from exc
    run_id = new_run_id()
    args = ["build"]
    if parsed_vars:
        args += ["--vars", json.dumps(parsed_vars, default=str)]
    if select:
        args += ["--select", select]
    if exclude:
        args += ["--exclude", exclude]
    if full_refresh:
        args.append("--full-refresh")
    if not unit_tests:
        # their inputs are fixed rows: they test the code, which CI tests, not the data
        args += ["--exclude-resource-type", "unit_test"]
    # a dbt killed mid-run leaves a working database with some models rebuilt and some
    # not, and records no run: this marker tells `cx-value publish` not to publish it
    unfinished = _unfinished_marker(paths)
    unfinished.write_text(run_id + "\n")
    succeeded = run_dbt(args, PROJECT_ROOT)
    unfinished.unlink(missing_ok=True)
    if not succeeded:
        _record_status(paths, {
            "run_id": run_id, "command": "build", "finished_at": _now(),
            "dbt_succeeded": False, "validation": None, "published": False,
            "published_run_id": current_run(paths.exports),
        })
        err_console.print(
            "[bold red]build failed[/] (dbt): see the errors above; `cx-value summary` lists "
            f"what failed and what was skipped. Nothing was published: {paths.published} "
            "and the exports are untouched."
        )
        raise typer.Exit(code=1)
    _gate_and_publish(paths, project_vars(parsed_vars), run_id, "build")
    if erased:
        from cx_value.publish import prune_runs

        # the exports of earlier runs hold the erased customers' rows
        removed = prune_runs(paths.exports, keep=1)
        console.print(f"erased {len(erased):,} customers ({erasure_path}); removed the "
                      f"earlier exports: {', '.join(removed) or 'none'}",
                      highlight=False, soft_wrap=True)


def _start_empty(paths: Paths) -> None:
    """Delete the working database, so an erasure build starts from nothing: a copy of
    the published one would carry the erased customers' rows in incremental models and
    in the file's freed pages. The run log (meta) starts again with it."""
    try:
        for path in (paths.working, paths.working.with_name(paths.working.name + ".wal")):
            path.unlink(missing_ok=True)
        paths.working.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        err_console.print(f"[bold red]cannot start the working database afresh[/]: {exc}")
        raise typer.Exit(code=1) from exc
    console.print(f"erasure: {paths.working} is built from nothing (no copy of the "
                  "published database)")


def _unfinished_marker(paths: Paths) -> Path:
    """The file that exists while `cx-value build` runs dbt on the working database."""
    return paths.working.with_name(f".{paths.working.name}.dbt-running")


def _started_after(started_at: object, marker: Path) -> bool:
    """Whether a recorded dbt run (``started_at``: naive UTC, to the second) began after
    ``marker`` was written: a plain `dbt build` that finished since a killed one."""
    from datetime import UTC, datetime

    if not isinstance(started_at, datetime):
        return False
    written = datetime.fromtimestamp(int(marker.stat().st_mtime), UTC).replace(tzinfo=None)
    return started_at >= written


def _recover(paths: Paths) -> None:
    """Finish what an interrupted publish left (see publish.recover), one line each."""
    from cx_value.publish import PublishError, recover

    try:
        for line in recover(paths):
            console.print(f"[yellow]{line}[/]", highlight=False, soft_wrap=True)
    except (PublishError, OSError) as exc:
        err_console.print(f"[yellow]could not check the published files for an "
                          f"interrupted publish[/]: {exc}", highlight=False, soft_wrap=True)


def _record_status(paths: Paths, status: dict[str, object]) -> None:
    """Write ``last_run.json``. When that fails (a full disk), remove the old one rather
    than leave it describing an earlier run, and say so: the outcome printed and the
    exit code stand either way."""
    from cx_value.publish import write_status

    try:
        write_status(paths, status)
    except OSError as exc:
        with contextlib.suppress(OSError):
            paths.status.unlink(missing_ok=True)
        err_console.print(f"[yellow]could not record this run in {paths.status}[/]: {exc}",
                          highlight=False, soft_wrap=True)


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="seconds")


def _gate_and_publish(paths: Paths, dbt_vars: dict, run_id: str, command: str) -> None:
    """Validate the working database; publish it when the gate passes, else exit 1 with
    every failed expectation named and the published files left as they were."""
    import duckdb

    from cx_value.publish import (
        PublishError,
        checkpoint,
        current_run,
        publish,
    )
    from cx_value.quality import validate_database

    status: dict[str, object] = {"run_id": run_id, "command": command, "dbt_succeeded": True}
    try:
        # the gate reads the file the copy will be taken from: fold the WAL in first
        checkpoint(paths.working)
    except PublishError as exc:
        err_console.print(f"[bold red]cannot validate[/]: {exc}")
        raise typer.Exit(code=1) from exc
    console.print(f"validating the working database {paths.working} (the data-quality "
                  "gate)", highlight=False, soft_wrap=True)
    try:
        report = validate_database(paths.working, docs_dir=paths.data_docs, dbt_vars=dbt_vars)
    except Exception as exc:
        # a gate that cannot run has not passed: record it and publish nothing
        _record_status(paths, {**status, "finished_at": _now(), "published": False,
                               "validation": {"success": False, "failures": None,
                                              "messages": [f"the gate could not run: {exc}"]},
                               "published_run_id": current_run(paths.exports)})
        err_console.print(f"[bold red]validation could not run[/]: {exc}. Nothing was "
                          f"published: {paths.published} and {paths.current} are untouched.",
                          highlight=False, soft_wrap=True)
        raise typer.Exit(code=1) from exc
    docs = report.docs_index.resolve() if report.docs_index else None
    validation = {
        "success": report.success, "failures": len(report.failures),
        "warnings": len(report.warnings), "seconds": round(report.seconds, 2),
        "messages": [f.message() for f in [*report.failures, *report.warnings]][:50],
        "docs_index": str(docs) if docs else None,
    }
    for finding in report.warnings:
        console.print(f"[yellow]{finding.message()}[/]",
                      highlight=False, soft_wrap=True)
    if not report.success:
        _record_status(paths, {**status, "finished_at": _now(), "validation": validation,
                               "published": False,
                               "published_run_id": current_run(paths.exports)})
        err_console.print(
            f"[bold red]validation failed[/]: {len(report.failures)} critical expectations "
            "did not pass on the working database:"
        )
        for finding in report.failures:
            err_console.print(f"  - {finding.message()}", highlight=False, soft_wrap=True)
        err_console.print(
            f"Nothing was published: {paths.published} and {paths.current} are untouched. "
            f"The working database is {paths.working}; Data Docs: {docs}",
            highlight=False, soft_wrap=True,
        )
        raise typer.Exit(code=1)
    console.print(f"publishing run {run_id} into {paths.publish_dir}", highlight=False,
                  soft_wrap=True)
    try:
        done = publish(paths, run_id)
    except (PublishError, OSError, duckdb.Error) as exc:
        # said first: recording the failure can itself fail on a full disk
        err_console.print(f"[bold red]publishing failed[/]: {exc}", highlight=False,
                          soft_wrap=True)
        _record_status(paths, {**status, "finished_at": _now(), "validation": validation,
                               "published": False, "publish_error": str(exc),
                               "published_run_id": current_run(paths.exports)})
        raise typer.Exit(code=1) from exc
    for line in done.recovered:
        console.print(f"[yellow]{line}[/]", highlight=False, soft_wrap=True)
    for line in done.warnings:
        err_console.print(f"[yellow]{line}[/]", highlight=False, soft_wrap=True)
    marts = done.manifest["marts"]
    assert isinstance(marts, dict)
    _record_status(paths, {
        **status, "finished_at": _now(), "validation": validation, "published": True,
        "published_run_id": done.run_id, "publish_seconds": round(done.seconds, 2),
        "exported_marts": len(marts), "exported_rows": sum(m["rows"] for m in marts.values()),
    })
    console.print(
        f"[bold green]validated and published[/] run {done.run_id} in {done.seconds:.1f} s "
        f"(gate {report.seconds:.1f} s)\n"
        f"  published database: {paths.published.resolve()}\n"
        f"  exports:            {paths.current.absolute()} -> {done.run_id} "
        f"({len(marts)} marts)\n"
        f"  data docs:          {docs}",
        highlight=False, soft_wrap=True,
    )


@app.command("publish")
def publish_command(
    dbt_vars: Annotated[
        str | None,
        typer.Option("--vars", help="dbt vars for the gate's thresholds (default: those of "
                     "the dbt run that built the working database)."),
    ] = None,
) -> None:
    """Validate the working database as it is (e.g. after a plain `dbt build`) and publish
    it, without rebuilding. Refuses when its last recorded dbt run failed."""
    from cx_value.publish import new_run_id, resolve_paths
    from cx_value.report import last_run

    paths = resolve_paths()
    _recover(paths)
    if not paths.working.exists():
        err_console.print(f"[bold red]no working database at {paths.working}[/]: run "
                          "`dbt build` or `cx-value build` first")
        raise typer.Exit(code=1)
    import json

    import duckdb

    try:
        con = duckdb.connect(str(paths.working), read_only=True, config=duckdb_settings())
    except duckdb.Error as exc:
        err_console.print(f"[bold red]cannot open {paths.working}[/]: {exc}")
        raise typer.Exit(code=1) from exc
    try:
        run = last_run(con)
        recorded = con.execute(
            "select run_vars, started_at from meta.dbt_runs where invocation_id = ?",
            [run.invocation_id]
        ).fetchone() if run else None
    finally:
        con.close()
    unfinished = _unfinished_marker(paths)
    if unfinished.exists() and not (recorded and _started_after(recorded[1], unfinished)):
        err_console.print(
            f"[bold red]not published[/]: the dbt run of `cx-value build` (run "
            f"{unfinished.read_text().strip()}) on {paths.working} did not finish (it was "
            "killed), so some models may be rebuilt and others not; rebuild",
            highlight=False, soft_wrap=True)
        raise typer.Exit(code=1)
    if run is not None and not run.succeeded:
        err_console.print(
            f"[bold red]not published[/]: the last dbt {run.command} on {paths.working} "
            f"failed ({run.errors} errors, {run.failures} failed tests); fix and rebuild"
        )
        raise typer.Exit(code=1)
    run_vars = json.loads(recorded[0]) if recorded and recorded[0] else {}
    merged = project_vars(run_vars if isinstance(run_vars, dict) else {})
    _gate_and_publish(paths, merged | _parse_vars(dbt_vars), new_run_id(), "publish")


@app.command()
def purge(
    raw_dir: Annotated[Path, typer.Argument(help="Folder of <table>.csv or <table>.parquet.")],
    erasure_list: Annotated[
        Path,
        typer.Option("--erasure-list", help="CSV file with a header customer_id: the "
                     "customers whose rows to remove."),
    ],
    file_format: Annotated[
        str | None, typer.Option("--format", callback=_format_option, help="csv or parquet.")
    ] = None,
) -> None:
    """Remove the erasure list's customers from the raw files themselves: every row tied
    to one (their orders' lines and their devices' web events too) goes. Each file is
    rewritten by rename, with its format and columns; prints the rows removed per file."""
    from cx_value.erasure import purge_folder

    if not raw_dir.is_dir():
        _fail([f"raw folder {raw_dir} does not exist"], "cannot purge")
    _, erased = _erasure(erasure_list)
    try:
        fmt = file_format or detect_format(raw_dir)
    except RawDataError as exc:
        _fail(exc.problems, "cannot purge")
    purged = purge_folder(raw_dir, erased, fmt)
    table = RichTable(title=f"{raw_dir}: purged {len(erased):,} customers")
    table.add_column("file")
    table.add_column("rows before", justify="right")
    table.add_column("rows removed", justify="right")
    for item in purged:
        table.add_row(item.path.name, f"{item.rows_before:,}", f"{item.rows_removed:,}")
    console.print(table)
    console.print(f"removed {sum(p.rows_removed for p in purged):,} rows; earlier copies "
                  "of these files (backups, loaded raw tables) are not touched")


@app.command()
def summary(
    database: Annotated[Path, typer.Option(help="DuckDB file to read.")] = DEFAULT_DATABASE,
) -> None:
    """Say whether the last build succeeded, what data it saw, its headline figures, the
    fitted models' warnings and which marts are empty and why. Exits 1 after a failed
    build."""
    from cx_value.publish import resolve_paths
    from cx_value.report import print_summary

    if database.exists():
        _recover(resolve_paths(database))
    raise typer.Exit(code=print_summary(database, console))


@contract_app.command("render")
def contract_render() -> None:
    """Rewrite the dbt source/seed properties and docs/raw_data_contract.md from the contract."""
    from cx_value.contract_render import write_rendered

    changed = write_rendered(PROJECT_ROOT)
    for path in changed:
        console.print(f"wrote {path.relative_to(PROJECT_ROOT)}")
    if not changed:
        console.print("rendered files are up to date")


@app.command()
def dashboard(
    database: Annotated[
        Path, typer.Option(help="Published DuckDB file to read (opened read-only).")
    ] = DEFAULT_DATABASE,
    out: Annotated[
        Path | None,
        typer.Option(help="HTML file to write [default: dashboard.html beside the database]."),
    ] = None,
    screenshot: Annotated[
        Path | None,
        typer.Option(help="Also save a PNG of the whole page here (headless Chromium: "
                     "`make browser`)."),
    ] = None,
) -> None:
    """Write the dashboard: one self-contained HTML page of the public marts (no server,
    no network), and print its path."""
    from cx_value.dashboard import write_dashboard

    if not database.exists():
        err_console.print(f"[bold red]{database} does not exist[/]: build it first "
                          "(`cx-value build`)")
        raise typer.Exit(code=1)
    written = write_dashboard(database, out or database.parent / "dashboard.html")
    console.print(str(written), highlight=False, soft_wrap=True)
    if screenshot is not None:
        from cx_value.dashboard.browser import BrowserMissingError
        from cx_value.dashboard.browser import screenshot as take_screenshot

        try:
            console.print(str(take_screenshot(written, screenshot)), highlight=False,
                          soft_wrap=True)
        except BrowserMissingError as exc:
            err_console.print(f"[bold red]no screenshot[/]: {exc}")
            raise typer.Exit(code=1) from exc


def main() -> None:
    """The `cx-value` entry point: the command, then an exit that skips the interpreter's
    teardown. duckdb's bindings (nanobind) list dozens of "leaked" objects at teardown
    once Great Expectations has been imported: harmless, but it buries the run's last
    lines. Log handlers are flushed first; every database is closed by then."""
    import logging
    import sys

    code = 0
    try:
        app()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    main()
