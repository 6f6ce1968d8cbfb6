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
test needs ("a value whose only source is an empty table"). Three additions, for
values that exist because rows exist:

- **Counts take the rows they count.** An expression that holds a *row-counting*
  function derives, besides the columns it reads, from the *row sources* of the FROM
  clause of its SELECT: ``count(*)``, ``count(1)``, ``sum(1)``, ``max(true)`` (an
  aggregate whose arguments and FILTER read no column; its window's PARTITION BY /
  ORDER BY group the rows as GROUP BY does and do not count as reading a value), and
  the sequence numbers ``row_number()``, ``rank()``, ``dense_rank()``, ``ntile()``,
  ``percent_rank()``, ``cume_dist()`` whatever their window reads (every row gets one;
  the ordering only decides which). A conditional count
  (``sum(case when t.is_open then 1 else 0 end)``, ``count(*) filter (where ...)``,
  ``count_if(...)``, ``count(col)``) is *not* row-counting: it derives from the columns
  it reads, as every other expression does, because with those columns' tables empty
  it is a fabricated 0 that the empty-subset test must see, even where the rows come
  from elsewhere (customers left joined to tickets).
- **Constants take the rows they are on.** A projection that reads no column and is
  not NULL (``'order' as touchpoint_type``, ``1 as stage_number``) derives from the
  rows its SELECT returns. Else a label written as a literal in every branch of a union
  but one (``case when is_complaint then 'complaint' else 'ticket' end``) would derive
  from tickets alone, and hold ``'order'`` when tickets is empty. A typed NULL holds no
  value and stays source-free; a literal *inside* an expression that reads a column
  (the 0 of ``coalesce(x, 0)``) adds nothing, so that expression is checked on ``x``.
  ``exists (select ... from t ...)`` likewise derives from the rows of its subquery.
- **Row sources** follow the FROM structure, not the columns, and answer "which tables,
  all empty, leave no row": the rows of ``a left join b`` come from ``a`` (a lookup
  never makes rows exist), of a right join from the right side, of a full join from
  both, of ``semi``/``anti`` joins from the left. An inner or cross join (or a comma
  list) has no row when *either* side has none, so either side's sources are a true
  answer; the first side whose sources are non-empty and hold no required table
  (``cx_value.contract.REQUIRED_TABLES``: ``customers``, in every export) is taken,
  because a set holding ``customers`` is never all empty: ``deals inner join
  customers`` counts deals, and so does ``customers inner join deals``. A union has
  rows from all its branches, ``except`` from its left; a CTE, derived table or
  upstream SQL model from its own query, recursively; a base model from its raw
  table; a parameter model (below) from nothing, so a calendar left joined to facts
  counts calendar rows. An aggregate query without GROUP BY has exactly one row
  whatever it reads, so its rows come from nothing. A table function (``VALUES``,
  ``unnest(col)``) adds no rows of a table. So the typical ``select customer_id,
  count(*) ... from tickets group by customer_id``, left joined to customers and
  coalesced to 0, derives from ``{tickets}`` even though the ticket model looks each
  ticket's customer segment up.

Counting adds sources and never removes any, so a ratio over a count of customers
(``sum(spend) / count(*)``, a share of customers) derives from ``customers`` too and
is checked only when that is empty: its value does depend on the customers counted.

What remains source-free (the empty set): NULLs, values read only from parameters,
and constants whose rows come from nothing (a list of stages written as literals).
The empty set is a result; a column that cannot be resolved is never reported as
empty, it raises LineageError. A grid column (``month_start_date`` from a calendar)
keeps its own sources, not those of the facts joined onto it.

**Parameters.** Some models are read like a dbt var, as a setting of the whole
warehouse rather than data: ``int_observation_date`` (the latest export time over
*every* raw table: without it every column compared with it derives from all ten
tables and is never checked), ``int_raw_tables_observed`` (one row per raw table;
marts read it through ``cx_observed()``, a scalar subquery
``(select count(*) = 1 from int_raw_tables_observed where ...)`` guarding a
``coalesce(x, 0)``: the guard must not make the guarded column derive from every
table) and ``dim_dates`` (the calendar, whose span depends on every table). Their
columns, and the rows they contribute, have no source. ``mart_column_lineage`` treats
the three as parameters by default (``PARAMETERS``); ``ColumnLineage`` takes them as
an argument.

**Terminals.** The staging base models ``base_<source>__<table>``
(``models/staging/<source>/base/``) map every column to their raw table ``<table>``:
they are the one place a raw table is read (in files mode through a table function
no schema describes), so lineage stops there. A base model also looks its customer
(or order) up in staging, but only for ``reject_reason`` and ``is_removed_duplicate``,
which decide which rows are staged and never become a mart value. Demo seeds and
declared sources of a contract table map to that table; fixture seeds
(``seeds/fixtures``) to nothing, being hand-written test cases. Any other seed or
source raises, so that a new one forces a decision here.

**Python models** cannot be parsed: every output column, and the rows, are taken as
derived from every column of every ``depends_on`` node, except columns their yml marks
``meta: {cx_lineage: describes_the_fit}`` (the status, sample size and warning of a
fit, which exist whatever the data). That is coarse. It never makes
a column look source-free, but a column with more sources than it really has is
checked less often by the empty-subset test (it is checked only when *all* its
sources are empty).

**Schemas.** ``select *`` and unqualified columns need the columns of upstream
relations: they come from ``information_schema.columns`` of the built DuckDB database,
keyed as dbt-duckdb renders relations in compiled SQL (``"catalog"."schema"."name"``,
the catalog being the database file's stem).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.lineage import Node, lineage
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import (
    Scope,
    ScopeType,
    build_scope,
    find_all_in_scope,
    walk_in_scope,
)
from sqlglot.schema import MappingSchema

from cx_value.contract import REQUIRED_TABLES, TABLES

DIALECT = "duckdb"
MART_SCHEMA = "marts"
CONTRACT_TABLES = frozenset(t.name for t in TABLES)
# models read as settings of the whole warehouse, not as data (see the module docstring)
PARAMETERS = ("int_observation_date", "int_raw_tables_observed", "dim_dates")

RawSources = frozenset[str]
# catalog -> schema -> relation -> column -> DuckDB type, as sqlglot's MappingSchema takes it
SchemaTree = dict[str, dict[str, dict[str, dict[str, str]]]]
# mart name -> column -> raw tables
MartLineage = dict[str, dict[str, RawSources]]
# (upstream node, column) a column is selected from
Dependency = tuple[str, str]

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

    Each SQL model is parsed and qualified once, and every column of it, and its rows,
    resolved in that one pass; the raw sources of each (model, column) are computed once.

    ``parameters`` names models read like a dbt var, whose columns and rows have no raw
    source (see the module docstring; ``PARAMETERS`` are this project's). Empty by
    default here; a name that is not a node of the manifest raises LineageError, so that
    a renamed model cannot silently stop being a parameter.
    """

    def __init__(
        self,
        manifest: Mapping[str, Any],
        schema: SchemaTree,
        raw_tables: Collection[str] = CONTRACT_TABLES,
        parameters: Collection[str] = (),
        required_tables: Collection[str] = REQUIRED_TABLES,
    ) -> None:
        self.nodes: dict[str, Mapping[str, Any]] = {
            **manifest["nodes"], **manifest.get("sources", {}),
        }
        self._parameters = frozenset(parameters)
        unknown = self._parameters - {node["name"] for node in self.nodes.values()}
        if unknown:
            raise LineageError(f"parameters not in the manifest: {sorted(unknown)}")
        self._raw_tables = frozenset(raw_tables)
        self._required_tables = frozenset(required_tables)
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
        # model -> what its output columns and its rows are selected from
        self._upstream: dict[str, _Upstream] = {}
        self._failed: dict[str, LineageError] = {}  # a model that failed is not parsed again
        self._memo: dict[tuple[str, str | None], RawSources] = {}
        self._resolving: set[tuple[str, str | None]] = set()

    # ------------------------------------------------------------------ public

    def columns(self, node_id: str) -> list[str]:
        """The columns of a node's relation in the built database, in order."""
        node = self.nodes[node_id]
        name = node.get("identifier") or node.get("alias") or node["name"]
        found = self._relation_columns.get(_key(node["database"], node["schema"], name))
        if found is None:
            raise LineageError(f"{node['name']}: relation not in the database")
        return found

    def sources(self, node_id: str, column: str | None) -> RawSources:
        """The raw tables the values of ``node_id.column`` are derived from.

        ``column=None``: the raw tables the node's *rows* come from (module docstring).
        """
        key = (node_id, None if column is None else column.lower())
        if key in self._memo:
            return self._memo[key]
        if key in self._resolving:
            what = "rows" if column is None else column
            raise LineageError(f"{self.nodes[node_id]['name']}.{what}: reads itself")
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
                    compiled = set(self._sql_upstream(node_id).columns)
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

    def _resolve(self, node_id: str, column: str | None) -> RawSources:
        node = self.nodes[node_id]
        if node["name"] in self._parameters:
            return frozenset()
        terminal = self._terminal(node)
        if terminal is not None:
            return terminal
        if node["resource_type"] != "model":
            raise LineageError(f"{node['name']}: no lineage rule for a {node['resource_type']}")
        if node.get("language") == "python":
            meta = (node.get("columns", {}).get(column or "", {}) or {}).get("meta") or {}
            if meta.get("cx_lineage") == "describes_the_fit":
                # declared in the model's yml: the model or parameter name, the fit's
                # status, sample size or warning; it says what the data allowed, so it
                # is filled whatever the data (an empty table gives n = 0, not_enough_data)
                return frozenset()
            return self._all_sources(node["depends_on"]["nodes"])
        upstream = self._sql_upstream(node_id)
        if column is None:
            return upstream.rows
        if column not in upstream.columns:
            raise LineageError(f"{node['name']}.{column}: not a column of the compiled SQL")
        dependencies, counted_rows = upstream.columns[column]
        sources = set(counted_rows)
        for up_node, up_column in dependencies:
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

    def _sql_upstream(self, node_id: str) -> _Upstream:
        """Parse one SQL model once: what its output columns and its rows are selected from."""
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

    def _parse(self, node_id: str) -> _Upstream:
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
            # trim_selects=False: a step's source is then the very SELECT of its scope,
            # not a trimmed copy, which is how _column_upstream finds the FROM a count counts
            graph = lineage(
                None, qualified, self._schema, dialect=DIALECT, scope=scope, copy=False,
                trim_selects=False,
            )
            parsed = _Parsed(node_id, name, {id(s.expression): s for s in scope.traverse()})
            columns = {
                column.lower(): self._column_upstream(parsed, column, root)
                for column, root in graph.items()
            }
            rows = self._scope_rows(parsed, scope)
        except SqlglotError as error:
            raise LineageError(f"{name}: sqlglot: {error}") from error
        return _Upstream(columns, rows)

    def _column_upstream(
        self, parsed: _Parsed, column: str, root: Node,
    ) -> tuple[frozenset[Dependency], RawSources]:
        """What one column's lineage graph reaches: the upstream columns at its leaves, and
        the raw sources of the rows its value exists because of.

        A step whose expression counts rows (``_counts_rows``) adds the rows of the FROM
        clause of its SELECT; a constant step, or the projection of an EXISTS subquery,
        the rows its SELECT returns. A leaf with no downstream that is not a table is a
        select expression reading no column: it adds nothing itself.
        """
        where = f"{parsed.name}.{column}"
        dependencies: set[Dependency] = set()
        counted_rows: set[str] = set()
        for step in root.walk():
            scope = parsed.projection_scope(step)
            if scope is not None:
                if _counts_rows(step.expression):
                    counted_rows |= self._from_rows(parsed, scope)
                elif _is_constant(step.expression) or isinstance(
                    scope.expression.parent, exp.Exists
                ):
                    # a constant is on every row its SELECT returns; exists (select ...
                    # from t) is true because rows of t exist
                    counted_rows |= self._scope_rows(parsed, scope)
            if step.downstream:
                continue
            if isinstance(step.expression, exp.Placeholder):
                raise LineageError(f"{where}: cannot resolve {step.name}")
            if isinstance(step.expression, exp.Star) or step.name.endswith("*"):
                raise LineageError(f"{where}: '*' not expanded (relation missing from schema)")
            if not isinstance(step.expression, exp.Table):
                continue
            up_node = self._relation(parsed.node_id, step.expression, where)
            if up_node is not None:
                leaf = sqlglot.parse_one(step.name, into=exp.Column)
                dependencies.add((up_node, leaf.name.lower()))
        return frozenset(dependencies), frozenset(counted_rows)

    def _scope_rows(self, parsed: _Parsed, scope: Scope) -> RawSources:
        """Where the rows a query (the model, a CTE, a derived table) returns come from."""
        key = id(scope)
        if key not in parsed.scope_rows:
            parsed.scope_rows[key] = frozenset()  # a recursive CTE: its own rows add none
            parsed.scope_rows[key] = self._query_rows(parsed, scope)
        return parsed.scope_rows[key]

    def _query_rows(self, parsed: _Parsed, scope: Scope) -> RawSources:
        """``_scope_rows`` computed, by the kind of query."""
        query = scope.expression
        if isinstance(query, exp.Select):
            if _is_aggregate_without_group(query):
                return frozenset()  # one row, whatever it reads
            return self._from_rows(parsed, scope)
        if isinstance(query, exp.SetOperation):
            branches = scope.set_operation_scopes
            if isinstance(query, exp.Except):
                branches = branches[:1]
            return frozenset().union(*(self._scope_rows(parsed, s) for s in branches))
        if isinstance(query, exp.Subquery) and scope.subquery_scopes:
            return self._scope_rows(parsed, scope.subquery_scopes[0])
        raise LineageError(f"{parsed.name}: rows of {query.sql(DIALECT)[:80]} not understood")

    def _from_rows(self, parsed: _Parsed, scope: Scope) -> RawSources:
        """Where the rows of one SELECT's FROM clause, joins included, come from."""
        key = id(scope)
        if key in parsed.from_rows:
            return parsed.from_rows[key]
        select = scope.expression
        from_clause = select.args.get("from_")
        rows: RawSources = frozenset()
        if from_clause is not None:
            rows = self._relation_rows(parsed, scope, from_clause.this)
            for join in select.args.get("joins") or []:
                side, kind = join.side.upper(), join.kind.upper()
                if kind in ("SEMI", "ANTI") or side == "LEFT":
                    continue  # keeps or drops rows of the left side, never adds any
                joined = self._relation_rows(parsed, scope, join.this)
                if side == "RIGHT":
                    rows = joined
                elif side == "FULL":
                    rows = rows | joined  # rows while either side has some
                else:
                    rows = self._either_side(rows, joined)
        parsed.from_rows[key] = rows
        return rows

    def _either_side(self, left: RawSources, right: RawSources) -> RawSources:
        """The rows of an inner or cross join: either side's sources are enough.

        The join has no row when either side has none, so each side's sources alone
        are a true answer; one set must be chosen, and the union, though also true,
        would be checked only when both are empty. The first side (in FROM order)
        whose sources are not empty and hold no required table is taken: a set with
        ``customers`` in it is never all empty in a real export, so ``deals inner join
        customers`` (a customer lookup that drops unknown customers) counts deals.
        """
        for side in (left, right):
            if side and not side & self._required_tables:
                return side
        return left or right

    def _relation_rows(self, parsed: _Parsed, scope: Scope, relation: exp.Expr) -> RawSources:
        """Where the rows of one relation of a FROM clause come from."""
        selected = scope.selected_sources.get(relation.alias_or_name)
        source = selected[1] if selected else None
        if isinstance(source, exp.Table):
            up_node = self._relation(parsed.node_id, source, parsed.name)
            return frozenset() if up_node is None else self.sources(up_node, None)
        if isinstance(source, Scope):
            if source.scope_type == ScopeType.UDTF:
                # VALUES are literals; unnest(col) multiplies rows of another relation
                return frozenset()
            return self._scope_rows(parsed, source)
        raise LineageError(
            f"{parsed.name}: relation {relation.sql(DIALECT)[:80]} not understood"
        )

    def _relation(self, node_id: str, table: exp.Table, where: str) -> str | None:
        """The dbt node a table reference names; None for a model reading itself or for
        a table function of literals (generate_series: numbers, not data)."""
        if isinstance(table.this, exp.Func):
            return None
        up_node = self._relations.get(_key(table.catalog, table.db, table.name))
        if up_node is None:
            raise LineageError(f"{where}: reads {table.sql(DIALECT)}, not a dbt relation")
        if up_node == node_id:
            # An incremental model reading its own previous rows ({{ this }}): those
            # were derived from the same sources, so the self-read adds none.
            return None
        return up_node


@dataclass(frozen=True)
class _Upstream:
    """One SQL model resolved one step up.

    ``columns``: output column -> (the upstream columns it is selected from, the raw
    sources of the rows it counts); ``rows``: the raw sources of the model's rows.
    """

    columns: dict[str, tuple[frozenset[Dependency], RawSources]]
    rows: RawSources


@dataclass
class _Parsed:
    """One SQL model being resolved: its scopes by the id of their query, and memos."""

    node_id: str
    name: str
    scopes: dict[int, Scope]
    scope_rows: dict[int, RawSources] = field(default_factory=dict)
    from_rows: dict[int, RawSources] = field(default_factory=dict)

    def projection_scope(self, step: Node) -> Scope | None:
        """The scope of the SELECT a lineage step is a projection of, if it is one.

        Table leaves, '*' leaves and the step of a whole set operation are not.
        """
        select = step.source
        if not isinstance(select, exp.Select) or step.expression is select:
            return None
        if not any(p is step.expression for p in select.expressions):
            return None
        return self.scopes.get(id(select))


# A position among rows: every row gets one, the window only decides which.
_SEQUENCE_FUNCTIONS = (
    exp.RowNumber, exp.Rank, exp.DenseRank, exp.Ntile, exp.PercentRank, exp.CumeDist,
)


def _counts_rows(projection: exp.Expr) -> bool:
    """Whether a projection holds a row-counting function (see the module docstring).

    That is a sequence number, or an aggregate whose arguments and FILTER read no
    column. Only the projection's own scope is searched: a count in a scalar subquery
    is a projection of that subquery, a lineage step with a FROM of its own.
    """
    for function in find_all_in_scope(projection, exp.AggFunc, *_SEQUENCE_FUNCTIONS):
        if isinstance(function, _SEQUENCE_FUNCTIONS):
            return True
        counted: exp.Expr = function
        if isinstance(function.parent, exp.Filter) and function.arg_key == "this":
            counted = function.parent
        if next(find_all_in_scope(counted, exp.Column), None) is None:
            return True
    return False


def _is_constant(projection: exp.Expr) -> bool:
    """Whether a projection is a value other than NULL that reads no column (``'order'``).

    A subquery is not looked into (its own lineage step says what it reads); a typed
    NULL (``cast(null as integer)``) holds no value, so it is no constant.
    """
    value = projection.unalias()
    for node in walk_in_scope(value):
        if isinstance(node, exp.Column) or (node is not value and isinstance(node, exp.Query)):
            return False
    while isinstance(value, (exp.Cast, exp.TryCast, exp.Paren)):
        value = value.this
    return not isinstance(value, exp.Null)


def _is_aggregate_without_group(select: exp.Select) -> bool:
    """A SELECT that aggregates (outside a window) without GROUP BY: exactly one row."""
    if select.args.get("group"):
        return False
    for projection in select.expressions:
        for function in find_all_in_scope(projection, exp.AggFunc):
            # the nearest Window or Select above: a Window means one value per row
            if not isinstance(function.find_ancestor(exp.Window, exp.Select), exp.Window):
                return True
    return False


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
    parameters: Collection[str] = PARAMETERS,
) -> MartLineage:
    """Raw sources of every column of every public mart of a built project.

    ``manifest`` is a dbt manifest (dict or path to ``manifest.json``) of the build that
    wrote ``database``; ``parameters`` as in ColumnLineage, this project's by default.
    Raises LineageError listing every mart that failed.
    """
    if not isinstance(manifest, Mapping):
        manifest = load_manifest(manifest)
    resolver = ColumnLineage(manifest, relation_schema(database), parameters=parameters)
    return resolver.mart_lineage()


def checked_columns(
    mart_lineage: Mapping[str, Mapping[str, RawSources]],
    empty_tables: Collection[str],
) -> dict[str, list[str]]:
    """The columns the empty-subset check covers when ``empty_tables`` are empty, per mart.

    A column is covered when its raw-source set is non-empty and lies wholly within
    ``empty_tables``: every value it holds would then come from no data, so it must be
    all NULL. Columns with no source (NULLs, parameters) are never covered. Marts
    with no covered column are left out.
    """
    empty = frozenset(empty_tables)
    covered = {
        mart: [c for c, sources in columns.items() if sources and sources <= empty]
        for mart, columns in sorted(mart_lineage.items())
    }
    return {mart: columns for mart, columns in covered.items() if columns}


def values_without_source(
    database: Path | str,
    mart_lineage: Mapping[str, Mapping[str, RawSources]],
    empty_tables: Collection[str],
    mart_schema: str = MART_SCHEMA,
) -> list[str]:
    """Mart columns holding values although every raw table they derive from is empty.

    The columns of ``checked_columns`` must be all NULL in ``database``. Returns one
    readable line per violation, e.g. ``mart_customer_health.latest_ces_score: 37
    non-null values, sources {survey_responses} all empty``. ``mart_schema`` is where the
    marts are (with ``cx_schema_prefix`` set, that prefix + ``marts``).
    """
    violations: list[str] = []
    with duckdb.connect(str(database), read_only=True) as con:
        for mart, checked in checked_columns(mart_lineage, empty_tables).items():
            counts = con.execute(
                "select "
                + ", ".join(f"count({_quote(c)})" for c in checked)
                + f" from {_quote(mart_schema)}.{_quote(mart)}"
            ).fetchone()
            assert counts is not None
            for column, count in zip(checked, counts, strict=True):
                if count:
                    names = ", ".join(sorted(mart_lineage[mart][column]))
                    violations.append(
                        f"{mart}.{column}: {count} non-null values, sources {{{names}}} all empty"
                    )
    return violations


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'
