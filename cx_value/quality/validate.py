"""Run the suites with Great Expectations and report what failed.

One ephemeral GE context, one SQL datasource on the DuckDB file (read-only), one
query asset, batch and validation definition per table: every expectation runs as a
query inside DuckDB; nothing is pulled into pandas. Query assets rather than table
assets because GE reflects a table asset's columns through SQLAlchemy's inspector,
which on duckdb-engine costs about 0.4 s a table; a query asset's columns come from
one cheap query.

Severity is GE's own (``critical``, ``warning``): a critical failure fails the
gate; a warning is reported and the gate still passes.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import yaml

from cx_value.contract import TABLES, Table
from cx_value.profiles import duckdb_settings
from cx_value.quality import suites
from cx_value.settings import raw_mode

PROJECT_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = 5
LAYERS = ("raw", "staging", "marts")
# Without a dbt manifest (a database validated away from its project) the public marts'
# naming scheme stands in for their declaration (access: public).
PUBLIC_PREFIXES = ("fct_", "dim_", "mart_")


@dataclass(frozen=True)
class Finding:
    """One failed expectation."""

    suite: str
    table: str
    column: str | None
    expectation: str
    severity: str
    observed: str
    examples: list[Any] = field(default_factory=list)
    description: str | None = None

    def message(self) -> str:
        where = f"{self.table}" + (f" column {self.column}" if self.column else "")
        text = f"{self.severity}: {self.expectation} failed on {where}: {self.observed}"
        if self.description:
            text += f" ({self.description})"
        if self.examples:
            text += "; examples: " + "; ".join(_short(e) for e in self.examples[:EXAMPLES])
        return text


@dataclass
class ValidationReport:
    """What a validation run found."""

    failures: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0
    layer_seconds: dict[str, float] = field(default_factory=dict)
    table_seconds: dict[str, float] = field(default_factory=dict)
    expectations: int = 0
    docs_index: Path | None = None

    @property
    def success(self) -> bool:
        return not self.failures

    def messages(self) -> list[str]:
        return [f.message() for f in [*self.failures, *self.warnings]]


def _short(value: object, width: int = 160) -> str:
    if isinstance(value, Mapping):
        value = ", ".join(f"{k}={_plain(v)}" for k, v in value.items())
    text = _plain(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _plain(value: object) -> str:
    return repr(value) if isinstance(value, str) else str(value)


# ------------------------------------------------------------------------ running


def run_suites(
    table_suites: Sequence[suites.TableSuite],
    *,
    database: Path | None,
    docs_dir: Path | None = None,
    report: ValidationReport | None = None,
) -> ValidationReport:
    """Validate every suite against ``database`` (in-memory DuckDB when None), in one
    context; write Data Docs into ``docs_dir`` whatever the outcome."""
    import great_expectations as gx

    from cx_value.quality.gx_duckdb import (
        add_duckdb_datasource,
        close,
        ephemeral_context,
        execute,
    )

    report = report or ValidationReport()
    context = ephemeral_context(docs_dir)
    datasource = add_duckdb_datasource(context, database)
    try:
        # setup first: a suite may read another table's prepared copy
        for table_suite in table_suites:
            started = time.perf_counter()
            for statement in table_suite.setup:
                execute(datasource, statement)
            report.table_seconds[table_suite.name] = time.perf_counter() - started
        for table_suite in table_suites:
            started = time.perf_counter() - report.table_seconds.get(table_suite.name, 0.0)
            asset = datasource.add_query_asset(table_suite.name, query=table_suite.query)
            batch = asset.add_batch_definition_whole_table("whole table")
            suite = context.suites.add(gx.ExpectationSuite(
                name=table_suite.name, expectations=table_suite.expectations))
            definition = context.validation_definitions.add(
                gx.ValidationDefinition(name=table_suite.name, data=batch, suite=suite))
            result = definition.run(
                result_format={"result_format": "BASIC", "partial_unexpected_count": EXAMPLES})
            report.expectations += len(result.results)
            for outcome in result.results:
                if outcome.success:
                    continue
                finding = _finding(table_suite, outcome, datasource)
                (report.failures if finding.severity == suites.CRITICAL
                 else report.warnings).append(finding)
            layer = table_suite.suite
            report.table_seconds[table_suite.name] = time.perf_counter() - started
            report.layer_seconds[layer] = (
                report.layer_seconds.get(layer, 0.0) + time.perf_counter() - started)
    finally:
        close(datasource)
        if docs_dir is not None:
            docs_dir.mkdir(parents=True, exist_ok=True)
            context.build_data_docs()
            report.docs_index = docs_dir / "index.html"
    return report


def _finding(table_suite: suites.TableSuite, outcome: Any, datasource: Any) -> Finding:
    from cx_value.quality.gx_duckdb import fetch_rows

    config = outcome.expectation_config
    kwargs, meta = dict(config.kwargs), dict(config.meta or {})
    severity = getattr(config.severity, "value", str(config.severity))
    result = dict(outcome.result or {})
    column = kwargs.get("column") or meta.get("column")
    examples: list[Any] = list(result.get("partial_unexpected_list") or [])[:EXAMPLES]
    if "unexpected_count" in result:
        observed = (f"{result['unexpected_count']:,} of {result.get('element_count', 0):,} "
                    f"rows unexpected ({result.get('unexpected_percent') or 0:.2f} %)")
        if kwargs.get("mostly", 1) < 1:
            observed += f", more than the {1 - kwargs['mostly']:.0%} allowed"
    elif config.type == "expect_column_to_exist":
        observed = "column missing"
    elif config.type == "expect_table_columns_to_match_set":
        missing = ((result.get("details") or {}).get("mismatched") or {}).get("missing") or []
        observed = f"declared columns missing: {', '.join(missing)}"
        column = ", ".join(missing) or None
        examples = []
    elif config.type == "unexpected_rows_expectation":
        observed = f"{result.get('observed_value', '?')} unexpected rows"
        query = kwargs["unexpected_rows_query"].format(batch=f"({table_suite.query})")
        try:
            examples = fetch_rows(datasource, query, EXAMPLES)
        except Exception as exc:  # the examples are a courtesy; the failure stands
            examples = [f"(examples unavailable: {str(exc).splitlines()[0]})"]
        if meta.get("column_from") and examples and isinstance(examples[0], dict):
            column = ", ".join(dict.fromkeys(str(e[meta["column_from"]]) for e in examples))
    else:
        observed = f"observed {result.get('observed_value')!r}"
    if outcome.exception_info and _raised(outcome.exception_info):
        observed = f"could not be evaluated: {_exception_text(outcome.exception_info)}"
    return Finding(
        suite=table_suite.suite, table=table_suite.table, column=column,
        expectation=config.type, severity=severity, observed=observed, examples=examples,
        description=config.description,
    )


def _raised(info: Mapping[str, Any]) -> bool:
    if "raised_exception" in info:
        return bool(info["raised_exception"])
    return any(isinstance(v, Mapping) and v.get("raised_exception") for v in info.values())


def _exception_text(info: Mapping[str, Any]) -> str:
    if "exception_message" in info:
        return str(info["exception_message"]).splitlines()[0]
    for value in info.values():
        if isinstance(value, Mapping) and value.get("exception_message"):
            return str(value["exception_message"]).splitlines()[0]
    return "unknown error"


# --------------------------------------------------------------------- the gate


def project_vars(dbt_vars: Mapping[str, object] | None = None) -> dict[str, object]:
    """dbt_project.yml's vars with ``dbt_vars`` (a run's --vars) on top."""
    project = yaml.load((PROJECT_ROOT / "dbt_project.yml").read_text(),
                        Loader=yaml.CSafeLoader) or {}
    return {**(project.get("vars") or {}), **(dbt_vars or {})}


def rejected_share_settings(variables: Mapping[str, object]) -> tuple[float, str]:
    """The var cx_max_rejected_share and the GE severity cx_rejected_share_severity maps to."""
    share = float(variables.get("cx_max_rejected_share", 0.05))  # type: ignore[arg-type]
    wanted = str(variables.get("cx_rejected_share_severity", "warning")).strip().lower()
    if wanted not in {"warning", "failure"}:
        raise ValueError(f"cx_rejected_share_severity must be warning or failure, not {wanted!r}")
    return share, suites.CRITICAL if wanted == "failure" else suites.WARNING


def raw_schema(source: str, variables: Mapping[str, object]) -> str:
    """The schema dbt reads a source's raw tables from (as models/staging/*/_*__sources.yml).

    The vars are declared empty in dbt_project.yml: empty means "not set", as in the
    macros (``var(...) or env_var(...)``)."""
    if variables.get(f"cx_{source}_schema"):
        return str(variables[f"cx_{source}_schema"])
    if os.environ.get("CX_RAW_SCHEMA"):
        return os.environ["CX_RAW_SCHEMA"]
    return "demo_raw" if raw_mode(os.environ, variables) == "demo" else "raw"


def _catalog(database: Path) -> tuple[dict[str, dict[str, str]], dt.datetime | None]:
    """Every relation's columns (``schema.table`` -> column -> type) and the end of the
    observation date, read before GE opens the file."""
    con = duckdb.connect(str(database), read_only=True, config=duckdb_settings())
    try:
        columns: dict[str, dict[str, str]] = {}
        for schema, table, column, data_type in con.execute(
            "select table_schema, table_name, column_name, data_type "
            "from information_schema.columns order by table_schema, table_name, ordinal_position"
        ).fetchall():
            columns.setdefault(f"{schema}.{table}", {})[column] = data_type
        observed = None
        if "intermediate.int_observation_date" in columns:
            row = con.execute(
                "select max(as_of_end_at) from intermediate.int_observation_date").fetchone()
            observed = row[0] if row else None
    finally:
        con.close()
    return columns, observed


def _public_marts(manifest_path: Path | None, columns: Mapping[str, object]) -> list[str]:
    from cx_value.manifest import public_marts

    try:
        return [m.name for m in public_marts(manifest_path)]
    except FileNotFoundError:
        known = [r.split(".", 1)[1] for r in columns if r.startswith("marts.")]
    return sorted(n for n in known if n.startswith(PUBLIC_PREFIXES))


def database_suites(
    database: Path,
    variables: Mapping[str, object],
    manifest_path: Path | None = None,
    now: dt.datetime | None = None,
) -> tuple[list[suites.TableSuite], list[str]]:
    """Every suite for the warehouse ``database``, and the tables skipped (not built)."""
    columns, as_of_end = _catalog(database)
    max_share, share_severity = rejected_share_settings(variables)
    properties = suites.model_properties(PROJECT_ROOT)
    skipped: list[str] = []
    found: list[suites.TableSuite] = []
    for table in TABLES:
        schema = raw_schema(table.source, variables)
        relation = f"{schema}.{table.name}"
        if relation not in columns:
            skipped.append(f"raw {relation}")
            continue
        found.append(suites.raw_suite(
            table, f"{suites.quote(schema)}.{suites.quote(table.name)}", list(columns[relation]),
            display=relation, max_share=max_share))
    for table in TABLES:
        if f"staging.stg_{table.source}__{table.name}" not in columns:
            skipped.append(f"staging stg_{table.source}__{table.name}")
    # a back-test (cx_as_of earlier than the export) stages rows after its as-of date;
    # the clock of the run then bounds what can have happened
    clock = (now or dt.datetime.now(dt.UTC)).replace(tzinfo=None)
    bound = max(as_of_end or clock, clock) + suites.FUTURE_TOLERANCE
    found += suites.staging_suites(
        columns, properties, future_bound=bound, raw_tables=TABLES,
        max_share=max_share, share_severity=share_severity)
    marts = _public_marts(manifest_path, columns)
    skipped += [f"marts {m}" for m in marts if f"marts.{m}" not in columns]
    schemas = {raw_schema(t.source, variables) for t in TABLES if t.name in ("customers",
                                                                            "contacts")}
    personal = next((sql for sql in (suites.personal_values_sql(s, set(columns)) for s in schemas)
                     if sql), None)
    found += suites.mart_suites(marts, columns, properties, personal_values_sql=personal)
    return found, skipped


def validate_database(
    database: Path,
    *,
    docs_dir: Path | None,
    dbt_vars: Mapping[str, object] | None = None,
    manifest_path: Path | None = None,
) -> ValidationReport:
    """Validate the raw, staging and public-mart suites on ``database`` (opened
    read-only); write GE Data Docs into ``docs_dir`` (index.html) when given, pass or
    fail. ``report.success`` is False when a critical expectation failed."""
    started = time.perf_counter()
    variables = project_vars(dbt_vars)
    table_suites, skipped = database_suites(database, variables, manifest_path)
    report = ValidationReport(skipped=skipped)
    run_suites(table_suites, database=database, docs_dir=docs_dir, report=report)
    report.seconds = time.perf_counter() - started
    return report


def validate_raw_relations(
    relations: Sequence[tuple[Table, str, Sequence[str], str]],
    *,
    max_share: float,
    extra_columns: Mapping[str, Sequence[str]] | None = None,
    row_level: bool = True,
) -> ValidationReport:
    """The raw suite on relations of an in-memory DuckDB (e.g. readers of raw files):
    ``(table, relation SQL, columns present, display name)`` each; ``row_level=False``
    runs its critical, file-level expectations only (:func:`suites.raw_suite`)."""
    started = time.perf_counter()
    table_suites = [
        suites.raw_suite(table, relation, present, display=display, max_share=max_share,
                         extra_columns=(extra_columns or {}).get(table.name, ()),
                         row_level=row_level)
        for table, relation, present, display in relations
    ]
    report = run_suites(table_suites, database=None)
    report.seconds = time.perf_counter() - started
    return report
