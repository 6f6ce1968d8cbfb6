"""Column-level lineage of the public marts: which raw tables each column's values come from.

dbt knows which models a model reads, not which of their columns. This module reads
the ``compiled_code`` of every model in a dbt ``manifest.json`` with sqlglot's DuckDB
dialect, resolves each selected column to the columns of the relations it reads
(``sqlglot.lineage``), and follows those columns upstream, model by model, until it
reaches a raw table of the contract (``cx_value.contract``). It is test support: the
empty-subset test checks column by column, from this lineage rather than from a hand
list, that no public mart holds a value whose only source is an empty table.

**What "derived from" means.** sqlglot follows the expression a column is *selected*
as, every column in it included: ``coalesce(sum(o.amount), 0) as revenue`` comes from
``o.amount``, and so do columns in a CASE condition, an aggregate's FILTER, a window's
PARTITION BY / ORDER BY or a scalar subquery of that expression. It does not follow
join conditions, WHERE, GROUP BY, HAVING or QUALIFY: a table that only decides which
rows exist is not a source of the values in them. That is the meaning the empty-subset
test needs ("a value whose only source is an empty table"), but it means:

- a column whose expression reads no column at all (a literal, ``count(*)``,
  ``row_number()`` without a partition) has *no* raw source, the empty set, although
  a ``count(*)`` over a table counts that table's rows: such counts (and a
  ``coalesce(count, 0)`` of them) are skipped by the empty-subset check. The empty
  set is a result; a column that cannot be resolved is never reported as empty, it
  raises LineageError.
- a grid column (``month_start_date`` from a calendar) keeps its own sources, not those
  of the facts joined onto it.
- a value compared with the observation date derives from every raw table, because
  that date is the latest export time over all of them (see ``parameters``).

**Terminals.** The staging base models ``base_<source>__<table>``
(``models/staging/<source>/base/``) map every column to their raw table ``<table>``:
they are the one place a raw table is read (in files mode through a table function
no schema describes), so lineage stops there. A base model also looks its customer
(or order) up in staging, but only for ``reject_reason`` and ``is_removed_duplicate``,
which decide which rows are staged and never become a mart value. Demo seeds and
declared sources of a contract table map to that table; fixture seeds
(``seeds/fixtures``) to nothing, being hand-written test cases. Any other seed or
source raises, so that a new one forces a decision here.

**Python models** cannot be parsed: every output column is taken as derived from
every column of every ``depends_on`` node. That is coarse. It never makes a column
look source-free, but a column with more sources than it really has is checked less
often by the empty-subset test (it is checked only when *all* its sources are empty).

**Schemas.** ``select *`` and unqualified columns need the columns of upstream
relations: they come from ``information_schema.columns`` of the built DuckDB database,
keyed as dbt-duckdb renders relations in compiled SQL (``"catalog"."schema"."name"``,
the catalog being the database file's stem).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.lineage import Node, lineage
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import build_scope
from sqlglot.schema import MappingSchema

from cx_value.contract import TABLES

DIALECT = "duckdb"
MART_SCHEMA = "marts"
CONTRACT_TABLES = frozenset(t.name for t in TABLES)

RawSources = frozenset[str]
# catalog -> schema -> relation -> column -> DuckDB type, as sqlglot's MappingSchema takes it
SchemaTree = dict[str, dict[str, dict[str, dict[str, str]]]]
# mart name -> column -> raw tables
MartLineage = dict[str, dict[str, RawSources]]

_BASE_MODEL = re.compile(
    r"models/staging/(?P<source>\w+)/base/base_(?P=source)__(?P<table>\w+)\.sql"
)


class LineageError(Exception):
    """Columns that could not be resolved; the message names each model and its error."""


def relation_schema(database: Path | str) -> SchemaTree:
    """Every relation's columns in a built DuckDB database, keyed as compiled SQL names them."""
    with duckdb.connect(str(database), read_only=True) as con:
        rows = con.execute(
            """
            select table_catalog, table_schema, table_name, column_name, data_type
            from information_schema.columns
            order by table_catalog, table_schema, table_name, ordinal_position
            """
        ).fetchall()
    tree: SchemaTree = {}
    for catalog, schema, relation, column, data_type in rows:
        tree.setdefault(catalog, {}).setdefault(schema, {}).setdefault(relation, {})[
            column
        ] = data_type
    return tree


def load_manifest(path: Path | str) -> dict[str, Any]:
    """A dbt ``manifest.json`` as a dict."""
    with open(path, encoding="utf-8") as handle:
        manifest: dict[str, Any] = json.load(handle)
    return manifest


def is_public_mart(node: Mapping[str, Any]) -> bool:
    """A model under ``models/marts/`` materialised in the ``marts`` schema."""
    return (
        node["resource_type"] == "model"
        and node["original_file_path"].startswith("models/marts/")
        # config.schema is the custom schema before cx_schema_prefix is put in front
        and node["config"].get("schema") == MART_SCHEMA
    )


def _key(*parts: str | None) -> tuple[str, ...]:
    # DuckDB identifiers are case-insensitive and sqlglot's DuckDB dialect lower-cases them
    return tuple((p or "").lower() for p in parts)


class ColumnLineage:
    """Raw sources of any column of any model, resolved on demand and memoised.

    Each SQL model is parsed and qualified once, and every column of it resolved in
    that one pass; the raw sources of each (model, column) are computed once.

    ``parameters`` names models whose columns are read as parameters, like a dbt var,
    with no raw source. Empty by default. ``int_observation_date`` is the candidate:
    its date is the latest export time over *every* raw table, so every column that
    compares with it otherwise derives from all ten tables and is never checked by the
    empty-subset test.
    """

    def __init__(
        self,
        manifest: Mapping[str, Any],
        schema: SchemaTree,
        raw_tables: Collection[str] = CONTRACT_TABLES,
        parameters: Collection[str] = (),
    ) -> None:
        self._parameters = frozenset(parameters)
        self.nodes: dict[str, Mapping[str, Any]] = {
            **manifest["nodes"], **manifest.get("sources", {}),
        }
        self._raw_tables = frozenset(raw_tables)
        self._relation_columns = {
            _key(catalog, schema_name, relation): [c.lower() for c in columns]
            for catalog, schemas in schema.items()
            for schema_name, relations in schemas.items()
            for relation, columns in relations.items()
        }
        self._schema = MappingSchema(schema, dialect=DIALECT)  # normalised once, not per model
        self._relations: dict[tuple[str, ...], str] = {}
        for node_id, node in self.nodes.items():
            if node["resource_type"] in ("model", "seed", "snapshot", "source"):
                name = node.get("identifier") or node.get("alias") or node["name"]
                self._relations[_key(node["database"], node["schema"], name)] = node_id
        # model -> output column -> the (upstream node, column) pairs it is selected from
        self._upstream: dict[str, dict[str, frozenset[tuple[str, str]]]] = {}
        self._failed: dict[str, LineageError] = {}  # a model that failed is not parsed again
        self._memo: dict[tuple[str, str], RawSources] = {}
        self._resolving: set[tuple[str, str]] = set()

    # ------------------------------------------------------------------ public

    def columns(self, node_id: str) -> list[str]:
        """The columns of a node's relation in the built database, in order."""
        node = self.nodes[node_id]
        name = node.get("identifier") or node.get("alias") or node["name"]
        found = self._relation_columns.get(_key(node["database"], node["schema"], name))
        if found is None:
            raise LineageError(f"{node['name']}: relation not in the database")
        return found

    def sources(self, node_id: str, column: str) -> RawSources:
        """The raw tables the values of ``node_id.column`` are derived from."""
        key = (node_id, column.lower())
        if key in self._memo:
            return self._memo[key]
        if key in self._resolving:
            raise LineageError(f"{self.nodes[node_id]['name']}.{column}: reads itself")
        self._resolving.add(key)
        try:
            result = self._resolve(node_id, key[1])
        finally:
            self._resolving.discard(key)
        self._memo[key] = result
        return result

    def mart_lineage(self) -> MartLineage:
        """Raw sources of every column of every public mart.

        Raises LineageError listing every mart that could not be resolved, with why.
        """
        result: MartLineage = {}
        errors: list[str] = []
        for node_id, node in sorted(self.nodes.items()):
            if not is_public_mart(node):
                continue
            try:
                columns = self.columns(node_id)
                if node.get("language") != "python":
                    compiled = set(self._sql_upstream(node_id))
                    if compiled != set(columns):
                        raise LineageError(
                            "compiled SQL and database disagree: only in SQL "
                            f"{sorted(compiled - set(columns))}, only in the database "
                            f"{sorted(set(columns) - compiled)}"
                        )
                result[node["name"]] = {c: self.sources(node_id, c) for c in columns}
            except (LineageError, SqlglotError) as error:
                errors.append(f"{node['name']}: {error}")
        if errors:
            raise LineageError("column lineage failed:\n  " + "\n  ".join(errors))
        return result

    # ----------------------------------------------------------------- private

    def _resolve(self, node_id: str, column: str) -> RawSources:
        node = self.nodes[node_id]
        if node["name"] in self._parameters:
            return frozenset()
        terminal = self._terminal(node)
        if terminal is not None:
            return terminal
        if node["resource_type"] != "model":
            raise LineageError(f"{node['name']}: no lineage rule for a {node['resource_type']}")
        if node.get("language") == "python":
            return self._all_sources(node["depends_on"]["nodes"])
        upstream = self._sql_upstream(node_id)
        if column not in upstream:
            raise LineageError(f"{node['name']}.{column}: not a column of the compiled SQL")
        sources: set[str] = set()
        for up_node, up_column in upstream[column]:
            sources |= self.sources(up_node, up_column)
        return frozenset(sources)

    def _terminal(self, node: Mapping[str, Any]) -> RawSources | None:
        """The raw table a terminal node stands for, or None if the node is not terminal."""
        path = node.get("original_file_path", "")
        if node["resource_type"] == "model":
            match = _BASE_MODEL.fullmatch(path)
            return self._raw(match["table"], node) if match else None
        if node["resource_type"] == "seed":
            return frozenset() if path.startswith("seeds/fixtures/") else self._raw(
                node["name"], node
            )
        if node["resource_type"] == "source":
            return self._raw(node["name"], node)
        return None

    def _raw(self, table: str, node: Mapping[str, Any]) -> RawSources:
        if table not in self._raw_tables:
            raise LineageError(f"{node['name']}: {table!r} is not a raw table of the contract")
        return frozenset({table})

    def _all_sources(self, node_ids: Iterable[str]) -> RawSources:
        """Every raw source of every column of the given nodes (a Python model's inputs)."""
        sources: set[str] = set()
        for up_node in node_ids:
            for up_column in self.columns(up_node):
                sources |= self.sources(up_node, up_column)
        return frozenset(sources)

    def _sql_upstream(self, node_id: str) -> dict[str, frozenset[tuple[str, str]]]:
        """Parse one SQL model once: each output column -> the upstream columns it selects."""
        if node_id in self._upstream:
            return self._upstream[node_id]
        if node_id in self._failed:
            raise self._failed[node_id]
        try:
            self._upstream[node_id] = self._parse(node_id)
        except LineageError as error:
            self._failed[node_id] = error
            raise
        return self._upstream[node_id]

    def _parse(self, node_id: str) -> dict[str, frozenset[tuple[str, str]]]:
        node = self.nodes[node_id]
        name = node["name"]
        code = node.get("compiled_code")
        if not code:
            raise LineageError(f"{name}: no compiled_code (compile or build the project first)")
        try:
            qualified = qualify(
                sqlglot.parse_one(code, dialect=DIALECT), dialect=DIALECT, schema=self._schema,
                validate_qualify_columns=False, identify=False,
            )
            _union_by_name_to_positional(qualified)
            scope = build_scope(qualified)
            if scope is None:
                raise LineageError(f"{name}: not a query")
            graph = lineage(None, qualified, self._schema, dialect=DIALECT, scope=scope, copy=False)
        except SqlglotError as error:
            raise LineageError(f"{name}: sqlglot: {error}") from error
        upstream: dict[str, frozenset[tuple[str, str]]] = {}
        for column, root in graph.items():
            upstream[column.lower()] = frozenset(self._leaves(node_id, column, root))
        return upstream

    def _leaves(self, node_id: str, column: str, root: Node) -> Iterable[tuple[str, str]]:
        """The (upstream node, column) pairs at the leaves of one column's lineage graph.

        A leaf with no downstream that is not a table is a select expression reading no
        column (a literal, ``count(*)``): it adds nothing.
        """
        where = f"{self.nodes[node_id]['name']}.{column}"
        for step in root.walk():
            if step.downstream:
                continue
            if isinstance(step.expression, exp.Placeholder):
                raise LineageError(f"{where}: cannot resolve {step.name}")
            if isinstance(step.expression, exp.Star) or step.name.endswith("*"):
                raise LineageError(f"{where}: '*' not expanded (relation missing from schema)")
            if not isinstance(step.expression, exp.Table):
                continue
            table = step.expression
            up_node = self._relations.get(_key(table.catalog, table.db, table.name))
            if up_node is None:
                raise LineageError(f"{where}: reads {table.sql(DIALECT)}, not a dbt relation")
            if up_node == node_id:
                # An incremental model reading its own previous rows ({{ this }}): those
                # were derived from the same sources, so the self-read adds none.
                continue
            leaf = sqlglot.parse_one(step.name, into=exp.Column)
            yield up_node, leaf.name.lower()


def _union_by_name_to_positional(tree: exp.Expr) -> None:
    """Rewrite DuckDB's ``union [all] by name`` in a qualified tree as a positional union.

    sqlglot's lineage matches set-operation branches by position, which under BY NAME
    pairs the wrong columns. Every branch of a BY NAME chain gets its projections in
    the order of the result (the first branch's columns, then new ones in order of
    appearance), a column it lacks filled with NULL as DuckDB does. (``qualify``
    already expands a ``select *`` over such a union to all of its columns.)
    """
    for setop in tree.find_all(exp.SetOperation, bfs=False):
        if not setop.args.get("by_name"):
            continue
        branches = list(_by_name_branches(setop))
        order = list(dict.fromkeys(n for branch in branches for n in branch.named_selects))
        for branch in branches:
            named = {projection.alias_or_name: projection for projection in branch.selects}
            branch.set(
                "expressions", [named.get(n) or exp.alias_(exp.null(), n) for n in order]
            )


def _by_name_branches(setop: exp.SetOperation) -> Iterable[exp.Select]:
    """The Select branches of a chain of BY NAME set operations, left to right."""
    setop.set("by_name", None)
    for operand in (setop.this, setop.expression):
        while isinstance(operand, exp.Subquery):
            operand = operand.this
        if isinstance(operand, exp.SetOperation) and operand.args.get("by_name"):
            yield from _by_name_branches(operand)
        elif isinstance(operand, exp.Select):
            yield operand
        else:
            # e.g. a positional union nested in a BY NAME one: rare enough to refuse
            raise LineageError(f"union by name over {operand.sql(DIALECT)[:80]}: not supported")


def mart_column_lineage(
    manifest: Mapping[str, Any] | Path | str,
    database: Path | str,
    parameters: Collection[str] = (),
) -> MartLineage:
    """Raw sources of every column of every public mart of a built project.

    ``manifest`` is a dbt manifest (dict or path to ``manifest.json``) of the build that
    wrote ``database``; ``parameters`` as in ColumnLineage. Raises LineageError listing
    every mart that failed.
    """
    if not isinstance(manifest, Mapping):
        manifest = load_manifest(manifest)
    resolver = ColumnLineage(manifest, relation_schema(database), parameters=parameters)
    return resolver.mart_lineage()


def values_without_source(
    database: Path | str,
    mart_lineage: Mapping[str, Mapping[str, RawSources]],
    empty_tables: Collection[str],
    mart_schema: str = MART_SCHEMA,
) -> list[str]:
    """Mart columns holding values although every raw table they derive from is empty.

    A column is checked when its raw-source set is non-empty and lies wholly within
    ``empty_tables``; it must then be all NULL in ``database``. Columns with no source
    (literals, counts) are skipped. Returns one readable line per violation, e.g.
    ``mart_customer_health.latest_ces_score: 37 non-null values, sources
    {survey_responses} all empty``. ``mart_schema`` is where the marts are (with
    ``cx_schema_prefix`` set, that prefix + ``marts``).
    """
    empty = frozenset(empty_tables)
    violations: list[str] = []
    with duckdb.connect(str(database), read_only=True) as con:
        for mart, columns in sorted(mart_lineage.items()):
            checked = [c for c, sources in columns.items() if sources and sources <= empty]
            if not checked:
                continue
            counts = con.execute(
                "select "
                + ", ".join(f"count({_quote(c)})" for c in checked)
                + f" from {_quote(mart_schema)}.{_quote(mart)}"
            ).fetchone()
            assert counts is not None
            for column, count in zip(checked, counts, strict=True):
                if count:
                    names = ", ".join(sorted(columns[column]))
                    violations.append(
                        f"{mart}.{column}: {count} non-null values, sources {{{names}}} all empty"
                    )
    return violations


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'
