"""Column lineage of the public marts (tests/python/column_lineage.py).

Unit tests run on hand-made manifests whose answer is known by reading the SQL; the
integration test builds the demo warehouse once and checks columns of the real marts.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
from column_lineage import (
    CONTRACT_TABLES,
    ColumnLineage,
    LineageError,
    SchemaTree,
    is_public_mart,
    load_manifest,
    mart_column_lineage,
    relation_schema,
    values_without_source,
)
from conftest import run_cx_value

# ------------------------------------------------------------------ tiny projects

BASE_COLUMNS = {
    "orders": {"order_id": "VARCHAR", "customer_id": "VARCHAR", "amount": "DECIMAL(38,4)"},
    "tickets": {"ticket_id": "VARCHAR", "customer_id": "VARCHAR", "priority": "VARCHAR"},
    "customers": {"customer_id": "VARCHAR", "segment": "VARCHAR"},
}
BASE_SOURCE = {"orders": "crm", "tickets": "crm", "customers": "crm"}


def _node(
    name: str,
    path: str,
    schema: str,
    sql: str | None = None,
    *,
    resource_type: str = "model",
    language: str = "sql",
    depends_on: tuple[str, ...] = (),
) -> tuple[str, dict[str, Any]]:
    node_id = f"{resource_type}.proj.{name}"
    return node_id, {
        "resource_type": resource_type,
        "name": name,
        "alias": name,
        "original_file_path": path,
        "language": language,
        "config": {"schema": schema},
        "database": "db",
        "schema": schema,
        "compiled_code": sql,
        "depends_on": {"nodes": list(depends_on)},
    }


def _project(
    models: dict[str, tuple[str, dict[str, str]]],
    extra_nodes: dict[str, dict[str, Any]] | None = None,
) -> tuple[dict[str, Any], SchemaTree]:
    """A manifest and a schema: the three base models plus ``models``.

    ``models`` maps a name to (SQL, its output columns); a name starting with ``mart_``
    is a public mart (models/marts/, schema marts), any other an intermediate model.
    """
    nodes: dict[str, dict[str, Any]] = {}
    tree: SchemaTree = {"db": {"staging": {}, "intermediate": {}, "marts": {}}}
    for table, columns in BASE_COLUMNS.items():
        source = BASE_SOURCE[table]
        name = f"base_{source}__{table}"
        path = f"models/staging/{source}/base/{name}.sql"
        node_id, node = _node(name, path, "staging", "select 1 as unparsed")
        nodes[node_id] = node
        tree["db"]["staging"][name] = columns
    for name, (sql, columns) in models.items():
        is_mart = name.startswith("mart_")
        schema = "marts" if is_mart else "intermediate"
        path = f"models/{schema}/area/{name}.sql"
        node_id, node = _node(name, path, schema, sql)
        nodes[node_id] = node
        tree["db"][schema][name] = columns
    nodes.update(extra_nodes or {})
    return {"nodes": nodes, "sources": {}}, tree


def _lineage(sql: str, columns: dict[str, str]) -> dict[str, frozenset[str]]:
    manifest, tree = _project({"mart_x": (sql, columns)})
    return ColumnLineage(manifest, tree).mart_lineage()["mart_x"]


ORDERS = '"db"."staging"."base_crm__orders"'
TICKETS = '"db"."staging"."base_crm__tickets"'
CUSTOMERS = '"db"."staging"."base_crm__customers"'


def test_aggregate_of_one_column_comes_from_its_table() -> None:
    sql = f"""
        select o.customer_id, coalesce(sum(o.amount), 0) as revenue
        from {ORDERS} as o
        group by o.customer_id
    """
    result = _lineage(sql, {"customer_id": "VARCHAR", "revenue": "DECIMAL(38,4)"})
    assert result == {"customer_id": {"orders"}, "revenue": {"orders"}}


def test_literals_and_counts_have_no_source() -> None:
    sql = f"""
        select
            'web' as channel,
            cast(null as integer) as nps_score,
            count(*) as order_count,
            row_number() over () as row_number_in_mart
        from {ORDERS}
    """
    result = _lineage(
        sql, {"channel": "VARCHAR", "nps_score": "INTEGER", "order_count": "BIGINT",
              "row_number_in_mart": "BIGINT"},
    )
    assert result == dict.fromkeys(result, frozenset())
    assert len(result) == 4


def test_a_join_or_filter_is_not_a_source_of_the_selected_values() -> None:
    sql = f"""
        select orders.amount, tickets.priority
        from {ORDERS} as orders
        inner join {CUSTOMERS} as customers
            on orders.customer_id = customers.customer_id
        left join {TICKETS} as tickets
            on orders.customer_id = tickets.customer_id
        where customers.segment = 'smb'
    """
    result = _lineage(sql, {"amount": "DECIMAL(38,4)", "priority": "VARCHAR"})
    assert result == {"amount": {"orders"}, "priority": {"tickets"}}


def test_every_column_in_the_select_expression_counts() -> None:
    """CASE conditions, FILTER and window partitions are part of the value."""
    sql = f"""
        select
            sum(case when c.segment = 'smb' then 1 else 0 end) as smb_rows,
            count(*) filter (where t.priority = 'high') as high_rows,
            max(o.amount) as top_amount
        from {ORDERS} as o
        inner join {CUSTOMERS} as c on o.customer_id = c.customer_id
        inner join {TICKETS} as t on o.customer_id = t.customer_id
    """
    result = _lineage(sql, {"smb_rows": "HUGEINT", "high_rows": "BIGINT",
                            "top_amount": "DECIMAL(38,4)"})
    assert result == {
        "smb_rows": {"customers"}, "high_rows": {"tickets"}, "top_amount": {"orders"},
    }


def test_select_star_through_two_ctes() -> None:
    sql = f"""
        with source as (select * from {ORDERS}),
        renamed as (select * exclude (amount), amount * 2 as double_amount from source)
        select * from renamed
    """
    columns = {"order_id": "VARCHAR", "customer_id": "VARCHAR", "double_amount": "DECIMAL"}
    assert _lineage(sql, columns) == dict.fromkeys(columns, frozenset({"orders"}))


def test_union_all_takes_every_branch() -> None:
    sql = f"""
        select customer_id, 'order' as kind from {ORDERS}
        union all
        select customer_id, priority from {TICKETS}
    """
    result = _lineage(sql, {"customer_id": "VARCHAR", "kind": "VARCHAR"})
    assert result == {"customer_id": {"orders", "tickets"}, "kind": {"tickets"}}


def test_union_all_by_name_pairs_columns_by_name() -> None:
    """Positional pairing would give ``a`` the tickets column; by name it is customers'."""
    sql = f"""
        with unioned as (
            select o.order_id as a, o.amount as b from {ORDERS} as o
            union all by name
            select t.priority as b, c.segment as a, t.ticket_id as only_tickets
            from {TICKETS} as t cross join {CUSTOMERS} as c
        )
        select * from unioned
    """
    result = _lineage(sql, {"a": "VARCHAR", "b": "VARCHAR", "only_tickets": "VARCHAR"})
    assert result == {
        "a": {"orders", "customers"}, "b": {"orders", "tickets"}, "only_tickets": {"tickets"},
    }


def test_lateral_alias_and_qualify() -> None:
    sql = f"""
        select
            amount * 2 as doubled,
            doubled + 1 as plus_one,
            row_number() over (partition by customer_id order by order_id) as order_number
        from {ORDERS}
        qualify order_number = 1
    """
    result = _lineage(sql, {"doubled": "DECIMAL", "plus_one": "DECIMAL",
                            "order_number": "BIGINT"})
    assert result == dict.fromkeys(result, frozenset({"orders"}))


def test_lineage_recurses_through_upstream_models() -> None:
    manifest, tree = _project({
        "int_customer_revenue": (
            f"""
            select c.customer_id, c.segment, sum(o.amount) as revenue, count(*) as orders
            from {CUSTOMERS} as c
            left join {ORDERS} as o on c.customer_id = o.customer_id
            group by c.customer_id, c.segment
            """,
            {"customer_id": "VARCHAR", "segment": "VARCHAR", "revenue": "DECIMAL",
             "orders": "BIGINT"},
        ),
        "mart_revenue": (
            """
            with revenue as (select * from "db"."intermediate"."int_customer_revenue")
            select segment, sum(revenue) as revenue, sum(orders) as orders
            from revenue group by segment
            """,
            {"segment": "VARCHAR", "revenue": "DECIMAL", "orders": "HUGEINT"},
        ),
    })
    result = ColumnLineage(manifest, tree).mart_lineage()
    assert result == {"mart_revenue": {
        "segment": {"customers"}, "revenue": {"orders"}, "orders": frozenset(),
    }}


def test_a_parameter_model_has_no_source() -> None:
    manifest, tree = _project({
        "int_as_of": (f"select max(order_id) as as_of from {ORDERS}", {"as_of": "VARCHAR"}),
        "mart_x": (
            f"""
            select t.ticket_id, t.ticket_id < a.as_of as is_old
            from {TICKETS} as t cross join "db"."intermediate"."int_as_of" as a
            """,
            {"ticket_id": "VARCHAR", "is_old": "BOOLEAN"},
        ),
    })
    assert ColumnLineage(manifest, tree).mart_lineage()["mart_x"]["is_old"] == {
        "orders", "tickets",
    }
    with_parameter = ColumnLineage(manifest, tree, parameters={"int_as_of"}).mart_lineage()
    assert with_parameter["mart_x"]["is_old"] == {"tickets"}


def test_python_model_derives_every_column_from_all_its_inputs() -> None:
    manifest, tree = _project({
        "int_orders": (f"select order_id, amount from {ORDERS}",
                       {"order_id": "VARCHAR", "amount": "DECIMAL"}),
        "int_customers": (f"select segment from {CUSTOMERS}", {"segment": "VARCHAR"}),
    })
    node_id, node = _node(
        "mart_fit", "models/marts/area/mart_fit.py", "marts", "def model(dbt, session): ...",
        language="python", depends_on=("model.proj.int_orders", "model.proj.int_customers"),
    )
    manifest["nodes"][node_id] = node
    tree["db"]["marts"]["mart_fit"] = {"parameter": "VARCHAR", "estimate": "DOUBLE"}
    result = ColumnLineage(manifest, tree).mart_lineage()
    assert result == {"mart_fit": {
        "parameter": {"orders", "customers"}, "estimate": {"orders", "customers"},
    }}


def test_seeds_and_sources_are_terminals() -> None:
    demo_id, demo = _node("orders", "seeds/demo/orders.csv", "demo_raw", resource_type="seed")
    fixture_id, fixture = _node(
        "score_cases", "seeds/fixtures/score_cases.csv", "fixtures", resource_type="seed",
    )
    source_id, source = _node("tickets", "models/staging/crm/_crm__sources.yml", "raw",
                              resource_type="source")
    manifest, tree = _project(
        {"mart_x": (
            """
            select o.amount, f.expected, t.priority
            from "db"."demo_raw"."orders" as o
            cross join "db"."fixtures"."score_cases" as f
            cross join "db"."raw"."tickets" as t
            """,
            {"amount": "VARCHAR", "expected": "VARCHAR", "priority": "VARCHAR"},
        )},
        {demo_id: demo, fixture_id: fixture, source_id: source},
    )
    tree["db"]["demo_raw"] = {"orders": {"amount": "VARCHAR"}}
    tree["db"]["fixtures"] = {"score_cases": {"expected": "VARCHAR"}}
    tree["db"]["raw"] = {"tickets": {"priority": "VARCHAR"}}
    assert ColumnLineage(manifest, tree).mart_lineage()["mart_x"] == {
        "amount": {"orders"}, "expected": frozenset(), "priority": {"tickets"},
    }


def test_an_incremental_model_reading_itself_adds_no_source() -> None:
    sql = f"""
        select o.order_id, coalesce(previous.amount, o.amount) as amount
        from {ORDERS} as o
        left join "db"."marts"."mart_x" as previous on o.order_id = previous.order_id
    """
    assert _lineage(sql, {"order_id": "VARCHAR", "amount": "DECIMAL"}) == {
        "order_id": {"orders"}, "amount": {"orders"},
    }


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        # customer_id is in both relations: sqlglot cannot tell which one
        (f"select customer_id from {ORDERS} as o, {TICKETS} as t", "cannot resolve"),
        ('select x.a from "db"."other"."unknown" as x', "not a dbt relation"),
        (f"select columns('order_id') from {ORDERS}", "compiled SQL and database disagree"),
        ("select 1 +", "sqlglot"),
    ],
)
def test_failures_are_loud_and_name_the_model(sql: str, message: str) -> None:
    columns = {"customer_id": "VARCHAR"}
    manifest, tree = _project({"mart_x": (sql, columns)})
    with pytest.raises(LineageError, match=message) as raised:
        ColumnLineage(manifest, tree).mart_lineage()
    assert "mart_x" in str(raised.value)


def test_a_column_missing_upstream_is_an_error_not_an_empty_set() -> None:
    manifest, tree = _project({
        "int_orders": (f"select order_id from {ORDERS}", {"order_id": "VARCHAR"}),
        "mart_x": ('select o.amount from "db"."intermediate"."int_orders" as o',
                   {"amount": "DECIMAL"}),
    })
    # the schema claims int_orders has amount; its compiled SQL does not
    tree["db"]["intermediate"]["int_orders"]["amount"] = "DECIMAL"
    with pytest.raises(LineageError, match=r"int_orders\.amount: not a column"):
        ColumnLineage(manifest, tree).mart_lineage()


def test_a_base_model_outside_the_contract_is_refused() -> None:
    manifest, tree = _project({"mart_x": (
        'select n.x from "db"."staging"."base_crm__notes" as n', {"x": "VARCHAR"},
    )})
    node_id, node = _node("base_crm__notes", "models/staging/crm/base/base_crm__notes.sql",
                          "staging", "select 1")
    manifest["nodes"][node_id] = node
    tree["db"]["staging"]["base_crm__notes"] = {"x": "VARCHAR"}
    with pytest.raises(LineageError, match="'notes' is not a raw table of the contract"):
        ColumnLineage(manifest, tree).mart_lineage()


# ------------------------------------------------------- the database-facing helpers


def test_relation_schema_keys_relations_by_file_catalog(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts; create table marts.m (a integer, B varchar)")
    assert relation_schema(path)["warehouse"]["marts"]["m"] == {"a": "INTEGER", "B": "VARCHAR"}


def test_values_without_source_reports_non_null_columns_of_empty_sources(
    tmp_path: Path,
) -> None:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(
            """
            create schema marts;
            create table marts.mart_service as
            select * from (values
                ('2025-01-01'::date, 0, null::double, 3),
                ('2025-02-01'::date, 0, null::double, 4)
            ) as v(month_start_date, tickets, resolution_hours, customers)
            """
        )
    lineage = {"mart_service": {
        "month_start_date": frozenset({"customers"}),
        "tickets": frozenset({"tickets"}),            # a coalesce(count, 0): a violation
        "resolution_hours": frozenset({"tickets"}),   # NULL as it should be
        "customers": frozenset({"customers", "tickets"}),  # one source is not empty
    }}
    assert values_without_source(path, lineage, {"tickets"}) == [
        "mart_service.tickets: 2 non-null values, sources {tickets} all empty",
    ]
    assert values_without_source(path, lineage, set()) == []


# ------------------------------------------------------------------ the real marts


@pytest.fixture(scope="module")
def demo_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The demo warehouse built once: (manifest.json, database)."""
    scratch = tmp_path_factory.mktemp("lineage")
    database = scratch / "warehouse.duckdb"
    built = run_cx_value(["build"], {"CX_DUCKDB_PATH": str(database)}, scratch)
    assert built.returncode == 0, built.stdout[-5000:]
    return scratch / "target" / "manifest.json", database


@pytest.mark.integration
def test_lineage_of_the_real_marts(demo_build: tuple[Path, Path]) -> None:
    manifest_path, database = demo_build
    manifest = load_manifest(manifest_path)
    started = time.perf_counter()
    lineage = mart_column_lineage(manifest, database)
    elapsed = time.perf_counter() - started
    print(f"column lineage of {len(lineage)} marts, "
          f"{sum(len(c) for c in lineage.values())} columns: {elapsed:.1f} s")
    assert elapsed < 60

    marts = {n["name"] for n in manifest["nodes"].values() if is_public_mart(n)}
    assert len(marts) >= 20
    assert set(lineage) == marts
    every_source = frozenset().union(*(s for cols in lineage.values() for s in cols.values()))
    assert every_source <= CONTRACT_TABLES

    roi = lineage["mart_cx_roi_monthly"]
    assert roi["revenue"] and roi["revenue"] <= {"orders", "order_lines"}
    assert roi["all_lines_realised_value"] == {"order_lines"}
    assert roi["order_lines"] == frozenset()  # count(*): no column read
    assert roi["promoters"] == {"survey_responses"}
    scores = lineage["mart_stage_scores"]
    for column in ("nps", "nps_lower", "nps_upper", "promoters", "detractors"):
        assert "survey_responses" in scores[column], column
    assert lineage["mart_customer_health"]["customer_id"] == {"customers"}
    assert lineage["fct_web_sessions"]["session_id"] == {"events"}
    # Python models: every column from everything their inputs derive from
    fit = lineage["clv_bgnbd_parameters"]
    assert "orders" in fit["estimate"]
    assert len(set(fit.values())) == 1

    # the helper finds values whose sources are "empty" on the full demo data
    violations = values_without_source(database, lineage, {"orders", "order_lines"})
    assert any(v.startswith("mart_cx_roi_monthly.revenue: ") for v in violations), violations
