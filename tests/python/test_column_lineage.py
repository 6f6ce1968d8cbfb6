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
    PARAMETERS,
    ColumnLineage,
    LineageError,
    SchemaTree,
    checked_columns,
    is_public_mart,
    load_manifest,
    mart_column_lineage,
    relation_schema,
    values_without_source,
)
from conftest import PublishedDemo

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


def _counts(from_clause: str) -> frozenset[str]:
    """The sources of a ``count(*)`` over ``from_clause`` in a mart."""
    return _lineage(f"select count(*) as n {from_clause}", {"n": "BIGINT"})["n"]


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


def test_a_constant_is_on_every_row_and_null_is_no_value() -> None:
    sql = f"""
        with per_customer as (
            select customer_id, 'buyer' as kind from {ORDERS} group by customer_id
        ),
        total as (select 'all' as kind, sum(amount) as amount from {ORDERS})
        select
            'web' as channel,
            1 + 1 as two,
            cast(null as integer) as nps_score,
            p.kind,
            t.kind as total_kind,
            coalesce(t.amount, 0) as amount
        from per_customer as p cross join total as t
    """
    result = _lineage(sql, {"channel": "VARCHAR", "two": "INTEGER", "nps_score": "INTEGER",
                            "kind": "VARCHAR", "total_kind": "VARCHAR", "amount": "DECIMAL"})
    assert result == {
        "channel": {"orders"}, "two": {"orders"}, "nps_score": frozenset(),
        "kind": {"orders"},
        "total_kind": frozenset(),  # an aggregate without GROUP BY has its row regardless
        "amount": {"orders"},  # the 0 of a coalesce adds nothing: this one is checked
    }


def test_a_constant_in_union_branches_takes_each_branch_rows() -> None:
    """Else a type label written as a literal in all branches but one would derive from
    that one table, and hold values when it is empty."""
    sql = f"""
        select o.order_id as id, 'order' as kind, cast(null as varchar) as priority
        from {ORDERS} as o
        union all
        select t.ticket_id as id,
            case when t.priority = 'high' then 'complaint' else 'ticket' end as kind,
            t.priority
        from {TICKETS} as t
    """
    result = _lineage(sql, {"id": "VARCHAR", "kind": "VARCHAR", "priority": "VARCHAR"})
    assert result == {
        "id": {"orders", "tickets"}, "kind": {"orders", "tickets"}, "priority": {"tickets"},
    }


def test_counts_and_sequence_numbers_take_the_rows_they_count() -> None:
    sql = f"""
        select
            count(*) as order_count,
            count(1) + sum(1) as also_counts,
            coalesce(max(true), false) as has_orders,
            row_number() over () as row_number_in_mart,
            rank() over (order by max(c.segment)) as rank_by_customer_column
        from {ORDERS} as o
        left join {CUSTOMERS} as c on o.customer_id = c.customer_id
    """
    result = _lineage(
        sql, {"order_count": "BIGINT", "also_counts": "HUGEINT", "has_orders": "BOOLEAN",
              "row_number_in_mart": "BIGINT", "rank_by_customer_column": "BIGINT"},
    )
    assert result == {
        "order_count": {"orders"}, "also_counts": {"orders"}, "has_orders": {"orders"},
        "row_number_in_mart": {"orders"},
        # a sequence number takes the rows whatever its window reads, besides what it reads
        "rank_by_customer_column": {"orders", "customers"},
    }


def test_a_count_that_reads_a_column_derives_from_that_column_only() -> None:
    """With tickets empty these are a fabricated 0 per customer: the check must see them."""
    sql = f"""
        select
            c.customer_id,
            count(t.ticket_id) as tickets,
            sum(case when t.priority = 'high' then 1 else 0 end) as high_tickets,
            count(*) filter (where t.priority = 'low') as low_tickets,
            count_if(t.priority = 'mid') as mid_tickets,
            count(*) as rows_per_customer
        from {CUSTOMERS} as c
        left join {TICKETS} as t on c.customer_id = t.customer_id
        group by c.customer_id
    """
    result = _lineage(sql, {"customer_id": "VARCHAR", "tickets": "BIGINT",
                            "high_tickets": "HUGEINT", "low_tickets": "BIGINT",
                            "mid_tickets": "BIGINT", "rows_per_customer": "BIGINT"})
    assert result == {
        "customer_id": {"customers"}, "tickets": {"tickets"}, "high_tickets": {"tickets"},
        "low_tickets": {"tickets"}, "mid_tickets": {"tickets"},
        "rows_per_customer": {"customers"},  # a customer left joined to nothing is a row
    }


@pytest.mark.parametrize(
    ("from_clause", "expected"),
    [
        (f"from {TICKETS} as t left join {CUSTOMERS} as c on t.customer_id = c.customer_id",
         {"tickets"}),
        (f"from {TICKETS} as t right join {CUSTOMERS} as c on t.customer_id = c.customer_id",
         {"customers"}),
        (f"from {TICKETS} as t full join {ORDERS} as o on t.customer_id = o.customer_id",
         {"tickets", "orders"}),
        # an inner join has no row when either side has none; customers is in every export
        (f"from {CUSTOMERS} as c inner join {TICKETS} as t on t.customer_id = c.customer_id",
         {"tickets"}),
        (f"from {TICKETS} as t inner join {CUSTOMERS} as c on t.customer_id = c.customer_id",
         {"tickets"}),
        (f"from {TICKETS} as t cross join {ORDERS} as o", {"tickets"}),
        (f"from {TICKETS} as t, {ORDERS} as o", {"tickets"}),
        (f"from {CUSTOMERS} as c cross join {CUSTOMERS} as d", {"customers"}),
        (f"from {TICKETS} as t semi join {ORDERS} as o on t.customer_id = o.customer_id",
         {"tickets"}),
        (f"from {TICKETS} as t anti join {ORDERS} as o on t.customer_id = o.customer_id",
         {"tickets"}),
        (f"from (select customer_id from {ORDERS} union all select customer_id from {TICKETS})"
         " as u", {"orders", "tickets"}),
        (f"from (select customer_id from {ORDERS} except select customer_id from {TICKETS})"
         " as u", {"orders"}),
        (f"from (values (1), (2)) as v(x) left join {TICKETS} as t on true", frozenset()),
        # one row whatever it reads: counting it counts nothing of a table
        (f"from (select max(amount) as top from {ORDERS}) as m", frozenset()),
        (f"from (select customer_id, max(amount) as top from {ORDERS} group by customer_id)"
         " as m", {"orders"}),
        ("", frozenset()),
    ],
)
def test_row_sources_of_joins_and_set_operations(from_clause: str, expected: set[str]) -> None:
    assert _counts(from_clause) == expected


def test_a_count_in_a_subquery_counts_the_subquery_rows() -> None:
    sql = f"""
        select
            c.customer_id,
            (select count(*) from {TICKETS} as t where t.customer_id = c.customer_id)
                as tickets,
            case
                when exists (select 1 from {ORDERS} as o where o.customer_id = c.customer_id)
                    then 'buyer'
            end as buyer_flag,
            -- the subquery says what it reads: not a constant on the customers' rows
            (select max(o.amount) from {ORDERS} as o) as top_amount
        from {CUSTOMERS} as c
    """
    result = _lineage(sql, {"customer_id": "VARCHAR", "tickets": "BIGINT",
                            "buyer_flag": "VARCHAR", "top_amount": "DECIMAL"})
    assert result == {
        "customer_id": {"customers"}, "tickets": {"tickets"}, "buyer_flag": {"orders"},
        "top_amount": {"orders"},
    }


def test_a_per_customer_count_left_joined_and_coalesced_derives_from_its_table() -> None:
    """The typical pattern: the ticket model looks each ticket's segment up in customers,
    yet counting tickets per customer counts tickets only."""
    manifest, tree = _project({
        "int_tickets": (
            f"""
            select t.ticket_id, t.customer_id, c.segment
            from {TICKETS} as t
            left join {CUSTOMERS} as c on t.customer_id = c.customer_id
            """,
            {"ticket_id": "VARCHAR", "customer_id": "VARCHAR", "segment": "VARCHAR"},
        ),
        "mart_health": (
            f"""
            with tickets as (select * from "db"."intermediate"."int_tickets"),
            open_tickets as (
                select customer_id, count(*) as open_tickets
                from tickets
                where segment <> 'test'
                group by customer_id
            )
            select
                customers.customer_id,
                coalesce(open_tickets.open_tickets, 0) as open_tickets,
                coalesce(open_tickets.open_tickets, 0) > 0 as has_open_tickets
            from {CUSTOMERS} as customers
            left join open_tickets on customers.customer_id = open_tickets.customer_id
            """,
            {"customer_id": "VARCHAR", "open_tickets": "BIGINT", "has_open_tickets": "BOOLEAN"},
        ),
    })
    assert ColumnLineage(manifest, tree).mart_lineage()["mart_health"] == {
        "customer_id": {"customers"}, "open_tickets": {"tickets"},
        "has_open_tickets": {"tickets"},
    }


def test_an_observed_guard_adds_no_source_to_the_guarded_column() -> None:
    """cx_observed('tickets') is a scalar subquery counting rows of int_raw_tables_observed:
    a parameter, so the guarded coalesce(count, 0) still derives from tickets only."""
    models = {
        "int_raw_tables_observed": (
            f"""
            select 'orders' as table_name, o.order_id is not null as is_observed
            from {ORDERS} as o
            union all
            select 'tickets' as table_name, t.ticket_id is not null as is_observed
            from {TICKETS} as t
            """,
            {"table_name": "VARCHAR", "is_observed": "BOOLEAN"},
        ),
        "mart_health": (
            f"""
            with per_customer as (
                select customer_id, count(*) as n from {TICKETS} group by customer_id
            )
            select
                c.customer_id,
                case
                    when (
                        select count(*) = 1
                        from "db"."intermediate"."int_raw_tables_observed"
                        where is_observed and table_name in ('tickets')
                    )
                        then coalesce(t.n, 0)
                end as open_complaints
            from {CUSTOMERS} as c
            left join per_customer as t on c.customer_id = t.customer_id
            """,
            {"customer_id": "VARCHAR", "open_complaints": "BIGINT"},
        ),
    }
    manifest, tree = _project(models)
    guarded = ColumnLineage(manifest, tree, parameters={"int_raw_tables_observed"})
    assert guarded.mart_lineage()["mart_health"] == {
        "customer_id": {"customers"}, "open_complaints": {"tickets"},
    }
    # read as data, the guard counts rows of every table it books
    unguarded = ColumnLineage(manifest, tree).mart_lineage()["mart_health"]
    assert unguarded["open_complaints"] == {"tickets", "orders"}


def test_a_calendar_parameter_left_joined_to_facts_counts_calendar_rows() -> None:
    manifest, tree = _project({
        "int_calendar": (
            f"select distinct o.order_id as month_start_date from {ORDERS} as o",
            {"month_start_date": "VARCHAR"},
        ),
        "mart_monthly": (
            f"""
            select cal.month_start_date, count(*) as calendar_rows, count(t.ticket_id) as tickets
            from "db"."intermediate"."int_calendar" as cal
            left join {TICKETS} as t on cal.month_start_date = t.ticket_id
            group by cal.month_start_date
            """,
            {"month_start_date": "VARCHAR", "calendar_rows": "BIGINT", "tickets": "BIGINT"},
        ),
    })
    result = ColumnLineage(manifest, tree, parameters={"int_calendar"}).mart_lineage()
    assert result["mart_monthly"] == {
        "month_start_date": frozenset(), "calendar_rows": frozenset(), "tickets": {"tickets"},
    }


def test_unknown_parameters_are_refused() -> None:
    manifest, tree = _project({})
    with pytest.raises(LineageError, match="int_gone"):
        ColumnLineage(manifest, tree, parameters={"int_gone"})


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
    # 'order' is on every order row
    assert result == {"customer_id": {"orders", "tickets"}, "kind": {"orders", "tickets"}}


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
        # count(*) of customers left joined to orders: a customer without orders is a row
        "segment": {"customers"}, "revenue": {"orders"}, "orders": {"customers"},
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


def test_rows_of_a_python_model_come_from_all_its_inputs() -> None:
    manifest, tree = _project({
        "int_orders": (f"select order_id from {ORDERS}", {"order_id": "VARCHAR"}),
        "mart_x": ('select count(*) as n from "db"."intermediate"."int_fit"', {"n": "BIGINT"}),
    })
    node_id, node = _node(
        "int_fit", "models/intermediate/area/int_fit.py", "intermediate", "def model(): ...",
        language="python", depends_on=("model.proj.int_orders",),
    )
    manifest["nodes"][node_id] = node
    tree["db"]["intermediate"]["int_fit"] = {"estimate": "DOUBLE"}
    assert ColumnLineage(manifest, tree).mart_lineage()["mart_x"] == {"n": {"orders"}}


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
    assert checked_columns(lineage, {"tickets"}) == {
        "mart_service": ["tickets", "resolution_hours"],
    }
    assert values_without_source(path, lineage, {"tickets"}) == [
        "mart_service.tickets: 2 non-null values, sources {tickets} all empty",
    ]
    assert checked_columns(lineage, set()) == {}
    assert values_without_source(path, lineage, set()) == []


# ------------------------------------------------------------------ the real marts


@pytest.fixture(scope="module")
def demo_build(published_demo: PublishedDemo) -> tuple[Path, Path]:
    """The demo warehouse `make test` built and published: (its manifest.json, database)."""
    return published_demo.manifest, published_demo.published


# Empty sets the subset test is about: each optional table alone, orders with their lines
EMPTY_SETS = (
    {"tickets"}, {"subscriptions"}, {"survey_responses"}, {"events"}, {"orders", "order_lines"},
)


@pytest.mark.integration
def test_lineage_of_the_real_marts(demo_build: tuple[Path, Path]) -> None:
    manifest_path, database = demo_build
    manifest = load_manifest(manifest_path)
    started = time.perf_counter()
    lineage = mart_column_lineage(manifest, database)  # PARAMETERS by default
    elapsed = time.perf_counter() - started
    columns = [sources for cols in lineage.values() for sources in cols.values()]
    print(f"column lineage of {len(lineage)} marts, {len(columns)} columns: {elapsed:.1f} s; "
          f"{sum(not s for s in columns)} without a source, "
          f"{sum(s == CONTRACT_TABLES for s in columns)} from every table")
    for empty in EMPTY_SETS:
        covered = checked_columns(lineage, empty)
        print(f"  checked when {sorted(empty)} empty: "
              f"{sum(len(c) for c in covered.values())} columns of {len(covered)} marts")
    assert elapsed < 60

    marts = {n["name"] for n in manifest["nodes"].values() if is_public_mart(n)}
    assert len(marts) >= 20
    assert set(lineage) == marts
    every_source = frozenset().union(*columns)
    assert every_source <= CONTRACT_TABLES
    # the observation date, the observed-tables guard and the calendar are parameters
    assert not any(s == CONTRACT_TABLES for s in columns)
    assert all(not s for s in lineage["dim_dates"].values())

    roi = lineage["mart_cx_roi_monthly"]
    assert roi["net_revenue"] and roi["net_revenue"] <= {"orders", "order_lines"}
    assert roi["all_lines_realised_value"] == {"order_lines", "orders"}  # net of returns
    assert roi["order_lines"] == {"order_lines"}  # count(*) of lines
    assert roi["promoters"] == {"survey_responses"}
    scores = lineage["mart_stage_scores"]
    for column in ("nps", "nps_lower", "nps_upper", "promoters", "detractors"):
        assert "survey_responses" in scores[column], column
    # per-customer or per-month counts, coalesced to 0: what the empty-subset test is for
    assert lineage["mart_customer_health"]["open_complaints"] == {"tickets"}
    assert lineage["mart_service_monthly"]["tickets"] == {"tickets"}
    assert lineage["mart_nps_outcomes"]["repurchasers"] == {"orders", "order_lines"}
    assert lineage["fct_web_sessions"]["event_count"] == {"events"}
    assert lineage["mart_sales_cycle"]["closed_deals"] == {"deals"}
    assert {"tickets", "events"} <= lineage["dim_customers"]["touchpoint_count"]
    # a literal label in every branch of the touchpoint union but the tickets one
    assert {"tickets", "orders"} <= lineage["fct_journey_touchpoints"]["touchpoint_type"]
    assert lineage["mart_customer_health"]["customer_id"] == {"customers"}
    assert lineage["fct_web_sessions"]["session_id"] == {"events"}
    # Python models: every column from everything their inputs derive from
    fit = lineage["clv_bgnbd_parameters"]
    assert "orders" in fit["estimate"]
    # ... except the columns the yml declares to describe the fit (status, n, warning)
    assert fit["status"] == frozenset() and fit["n_customers"] == frozenset()
    assert fit["estimate"] == fit["standard_error"] == fit["log_likelihood"]

    assert mart_column_lineage(manifest, database, PARAMETERS) == lineage
    # the helper finds values whose sources are "empty" on the full demo data
    violations = values_without_source(database, lineage, {"orders", "order_lines"})
    assert any(v.startswith("mart_cx_roi_monthly.net_revenue: ") for v in violations), violations
