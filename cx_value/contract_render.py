"""Render the raw-data contract as dbt source and seed properties and as Markdown.

The rendered files are committed; ``cx-value contract render`` rewrites them and a
test fails when they drift from :mod:`cx_value.contract`.
"""

from __future__ import annotations

from pathlib import Path

from cx_value.contract import (
    ORDER_STATUSES,
    ORDER_TYPES,
    REJECT_REASONS,
    REQUIRED_TABLES,
    SOURCES,
    TABLES,
    Column,
    Table,
)

HEADER = "# Rendered from cx_value/contract.py by `cx-value contract render`: edit the contract.\n"

SOURCE_DESCRIPTIONS = {
    "crm": "CRM export: customers, contacts, deals, orders, subscriptions, tickets, referrals.",
    "surveys": "Survey tool export: one row per answer (NPS, CSAT, CES, expectation).",
    "web": "Web-analytics export: one row per tracked event.",
}

# Demo seeds live in demo_raw, user tables in raw unless a schema is named. The vars are
# declared empty in dbt_project.yml, so an unset var falls through to the environment
# (yml is rendered with the vars' raw values: a declared default cannot read it).
_MODE = "(var('cx_raw_mode', '') or env_var('CX_RAW_MODE', 'demo'))"
_SCHEMA = (
    "{{{{ var('cx_{source}_schema', '') or env_var('CX_RAW_SCHEMA', "
    "'demo_raw' if " + _MODE + " == 'demo' else 'raw') }}}}"
)


# Source freshness: how far (days) a raw table's latest loaded_at may lag the export's
# reference time (macros/raw/cx_freshness.sql) before dbt warns / errors. Activity feeds
# get rows every day in any live business, so a lag of days means the feed stopped.
# Reference tables gain rows only when a customer, contact, deal or referral is added,
# which a small business can go months without: the demo export adds no customer in
# its last six months (every generated customer has six months of history), so only
# a lag of most of a year is read as a broken feed there.
ACTIVITY_FRESHNESS_DAYS = (3, 7)
REFERENCE_FRESHNESS_DAYS = (240, 365)
REFERENCE_TABLES = frozenset({"customers", "contacts", "deals", "referrals"})


def freshness_days(table: str) -> tuple[int, int]:
    """(warn, error) lag behind the export, in days, of one raw table."""
    return REFERENCE_FRESHNESS_DAYS if table in REFERENCE_TABLES else ACTIVITY_FRESHNESS_DAYS


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def column_description(column: Column) -> str:
    """One-line description of a raw column: meaning, logical type, required, PII."""
    flags = [column.type, "required" if column.required else "optional"]
    if column.pii:
        flags.append("personal data")
    return f"{column.description} ({', '.join(flags)})"


def render_sources(source: str) -> str:
    """The `_<source>__sources.yml` text of one source system."""
    lines = [
        HEADER.rstrip("\n"),
        "version: 2",
        "",
        "sources:",
        f"  - name: {source}",
        f"    description: {_quote(SOURCE_DESCRIPTIONS[source])}",
        f"    schema: {_quote(_SCHEMA.format(source=source))}",
        "    tables:",
    ]
    for table in (t for t in TABLES if t.source == source):
        warn, error = freshness_days(table.name)
        lines += [
            f"      - name: {table.name}",
            f"        description: {_quote(table.description + f' Key: {table.primary_key}.')}",
            "        config:",
            "          # lag of the latest loaded_at behind the export (cx_freshness.sql)",
            "          loaded_at_query: "
            f"\"{{{{ cx_source_loaded_at('{source}', '{table.name}') }}}}\"",
            "          freshness:",
            f"            warn_after: {{count: {warn}, period: day}}",
            f"            error_after: {{count: {error}, period: day}}",
            "        columns:",
        ]
        for column in table.columns:
            lines += [
                f"          - name: {column.name}",
                f"            description: {_quote(column_description(column))}",
            ]
    return "\n".join(lines) + "\n"


def render_seeds() -> str:
    """Properties of the demo seeds: every column loaded as text, like a raw export.

    The type is `string`: text of any length on DuckDB (an alias of varchar) and on
    Spark, where a varchar needs a length.
    """
    lines = [HEADER.rstrip("\n"), "version: 2", "", "seeds:"]
    for table in TABLES:
        lines += [
            f"  - name: {table.name}",
            f"    description: {_quote(_seed_description(table))}",
            "    config:",
            "      column_types:",
        ]
        lines += [f"        {column.name}: string" for column in table.columns]
        lines += ["    columns:"]
        for column in table.columns:
            lines += [
                f"      - name: {column.name}",
                f"        description: {_quote(column_description(column))}",
            ]
    return "\n".join(lines) + "\n"


def _seed_description(table: Table) -> str:
    return (
        f"Demo export of {table.qualified_name} made by `cx-value generate` (dirty rows "
        "included); read through the source of the same name."
    )


def render_markdown() -> str:
    """docs/raw_data_contract.md."""
    out = [
        "# Raw-data contract",
        "",
        "<!-- Rendered from cx_value/contract.py by `cx-value contract render`. -->",
        "",
        "The tables cx-value reads, per source system. Every column may arrive as text; "
        "the type is what staging casts it to. A file or table must have every required "
        "column; optional columns may be empty or left out (staging reads a missing one as "
        "empty); extra columns are ignored unless declared in the var `cx_extra_columns` "
        "(`customers` and `subscriptions` only; see docs/extra_columns.md). Every table "
        "but `customers` may be missing "
        "from an export altogether when it is declared absent (`--absent` or the var "
        "`cx_absent_tables`); a header-only file is an empty table. Ids are "
        "trimmed and lower-cased, timestamps are converted to UTC (a value without an "
        "offset is taken as UTC), and personal columns are pseudonymised in staging.",
        "",
        "Feed it as demo seeds (default), as a folder of `<table>.csv` or "
        "`<table>.parquet` files, or as existing warehouse tables: see the README.",
        "",
    ]
    for source in SOURCES:
        out += [f"## `{source}`: {SOURCE_DESCRIPTIONS[source]}", ""]
        for table in (t for t in TABLES if t.source == source):
            out += [
                f"### `{table.name}`",
                "",
                f"{table.description} Primary key: `{table.primary_key}`.",
                "",
                f"Erasure (`--erasure-list`, `cx-value purge`): {_erasure_words(table)}.",
                "",
                "| column | type | required | meaning |",
                "| --- | --- | --- | --- |",
            ]
            for c in table.columns:
                meaning = c.description + (" **Personal data.**" if c.pii else "")
                out.append(
                    f"| `{c.name}` | {c.type} | {'yes' if c.required else 'no'} | {meaning} |"
                )
            out.append("")
    out += [
        "## Reject reasons",
        "",
        "A row that fails a rule lands in the table's `stg_<source>__<table>_rejected` model "
        "with the first reason that applies, in this order:",
        "",
        "| reason | meaning |",
        "| --- | --- |",
    ]
    out += [f"| `{reason}` | {meaning} |" for reason, meaning in REJECT_REASONS.items()]
    out += [
        "",
        "Rows that share a primary key after normalisation are duplicates: the latest "
        "`loaded_at` is staged and the others are counted as removed duplicates, so that "
        "for every table raw rows = staged rows + rejected rows + removed duplicates.",
        "",
    ]
    return "\n".join(out)


def render_sql_macro() -> str:
    """macros/raw/cx_contract.sql: the contract's tables and columns for the SQL side."""
    lines = [
        "{#",
        "    Rendered from cx_value/contract.py by `cx-value contract render`: edit the",
        "    contract, not this file. The raw tables, their key and their columns, for the",
        "    macros and models that treat every raw table alike (cx_source reads exactly",
        "    these columns; optional ones may be missing from a file or table). `erasure`",
        "    links a row to its customer for the erasure list (cx_erasure.sql).",
        "#}",
        "{% macro cx_raw_tables() -%}",
        "    {{ return([",
    ]
    for table in TABLES:
        required = ", ".join(f"'{c}'" for c in table.required_columns)
        columns = ", ".join(f"'{c}'" for c in table.column_names)
        lines += [
            f"        {{'source': '{table.source}', 'table': '{table.name}', "
            f"'key': '{table.primary_key}',",
            f"         'columns': [{columns}],",
            f"         'required_columns': [{required}],",
            f"         'erasure': {_erasure_literal(table)}}},",
        ]
    lines += [
        "    ]) }}",
        "{%- endmacro %}",
        "",
        "{# Tables every export must have; any other may be declared absent. #}",
        "{% macro cx_required_tables() -%}",
        "    {{ return([" + ", ".join(f"'{t}'" for t in REQUIRED_TABLES) + "]) }}",
        "{%- endmacro %}",
        "",
        "{# Columns of the contract holding personal data: never a feature, never carried. #}",
        "{% macro cx_pii_columns() -%}",
        "    {{ return([" + ", ".join(
            f"'{c}'" for c in sorted({c.name for t in TABLES for c in t.columns if c.pii}))
        + "]) }}",
        "{%- endmacro %}",
        "",
        "{% macro cx_order_types() -%}",
        "    {{ return([" + ", ".join(f"'{t}'" for t in ORDER_TYPES) + "]) }}",
        "{%- endmacro %}",
        "",
        "{% macro cx_order_statuses() -%}",
        "    {{ return([" + ", ".join(f"'{t}'" for t in ORDER_STATUSES) + "]) }}",
        "{%- endmacro %}",
        "",
    ]
    return "\n".join(lines)


def _erasure_words(table: Table) -> str:
    """How a row of the table is tied to an erased customer, in words."""
    link = table.erasure
    ways = [f"`{c}` is an erased customer" for c in link.customer_columns]
    if link.parent:
        ways.append(f"the `{link.parent[1]}` row its `{link.parent[0]}` names is erased")
    if link.device_column:
        ways.append(f"its `{link.device_column}` was ever seen with an erased customer")
    return "a row goes when " + " or ".join(ways)


def _erasure_literal(table: Table) -> str:
    """The table's erasure link as a Jinja mapping literal."""
    link = table.erasure
    customers = ", ".join(f"'{c}'" for c in link.customer_columns)
    parent = (f"{{'column': '{link.parent[0]}', 'table': '{link.parent[1]}'}}"
              if link.parent else "none")
    device = f"'{link.device_column}'" if link.device_column else "none"
    return f"{{'customer_columns': [{customers}], 'parent': {parent}, 'device_column': {device}}}"


def rendered_files(root: Path) -> dict[Path, str]:
    """Every rendered file, by path under the project root."""
    files = {
        root / "models" / "staging" / s / f"_{s}__sources.yml": render_sources(s) for s in SOURCES
    }
    files[root / "seeds" / "demo" / "_demo__seeds.yml"] = render_seeds()
    files[root / "docs" / "raw_data_contract.md"] = render_markdown()
    files[root / "macros" / "raw" / "cx_contract.sql"] = render_sql_macro()
    return files


def write_rendered(root: Path) -> list[Path]:
    """Write the rendered files; return the ones that changed."""
    changed = []
    for path, text in rendered_files(root).items():
        if not path.exists() or path.read_text() != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            changed.append(path)
    return changed
