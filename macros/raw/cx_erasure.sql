{#
    Erasure: the customers of the erasure list (`--erasure-list FILE`, CX_ERASURE_LIST)
    are removed from every model by not reading their raw rows at all: cx_source
    leaves out every raw row the contract's erasure link ties to an erased customer
    (`erasure` in macros/raw/cx_contract.sql, rendered from cx_value/contract.py):

    - a customer column naming one (customers, contacts, deals, orders, subscriptions,
      tickets, survey responses; referrals on either side; web events' user_id);
    - a parent row that is erased (an order line of an erased customer's order);
    - a device id ever seen with an erased customer (every web event of that
      anonymous_id, logged in or not: a device id is personal data too).

    So erased rows reach no staged, rejected, intermediate or mart model; only their
    number per table is kept (stg_erasure__raw_rows_counted), so that the raw rows
    still reconcile. Ids are compared as staging normalises them (cx_id).

    On DuckDB the ids are a session variable the dbt plugin sets from the file
    (cx_value.dbt_plugin): they are in no compiled SQL, log, manifest or run record
    (they are never dbt vars, which meta.dbt_runs records). Other engines read them when
    the SQL is compiled, from CX_ERASED_CUSTOMERS (comma-separated ids): there they are
    in the compiled SQL and dbt's artefacts, so purge the raw files (`cx-value purge`)
    instead where that matters.
#}

{# Whether this build erases anyone; false while parsing (nothing is read then). #}
{% macro cx_erasure_active() -%}
    {{ return(adapter.dispatch('cx_erasure_active', 'cx_value')()) }}
{%- endmacro %}

{% macro duckdb__cx_erasure_active() -%}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {#- unset without the plugin (a linter compiling the project): a build cannot run
        without it anyway, the salt it also sets is checked where the SQL runs -#}
    {%- set result = run_query(
        "select coalesce(len(getvariable('cx_erased_customers')), 0) as erased") -%}
    {{ return(result.columns[0].values()[0] > 0) }}
{%- endmacro %}

{% macro default__cx_erasure_active() -%}
    {%- if env_var('CX_ERASURE_LIST', '') != '' and cx_compiled_erased_ids() | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "CX_ERASURE_LIST is set, but on " ~ target.type ~ " the erased ids are read "
            ~ "from CX_ERASED_CUSTOMERS (comma-separated) when the SQL is compiled; set it, "
            ~ "or purge the raw files with `cx-value purge`") }}
    {%- endif -%}
    {{ return(execute and cx_compiled_erased_ids() | length > 0) }}
{%- endmacro %}

{# The erased ids as a query of one column, customer_id. #}
{% macro cx_erased_ids_query() -%}
    {{ return(adapter.dispatch('cx_erased_ids_query', 'cx_value')()) }}
{%- endmacro %}

{% macro duckdb__cx_erased_ids_query() -%}
    select {{ cx_id('erased.customer_id') }}
    from (select unnest(getvariable('cx_erased_customers')) as customer_id) as erased
{%- endmacro %}

{% macro default__cx_erased_ids_query() -%}
    {%- for customer_id in cx_compiled_erased_ids() -%}
        select {{ cx_id(cx_sql_string(customer_id)) }} as customer_id
        {%- if not loop.last %} union all {% endif -%}
    {%- endfor -%}
{%- endmacro %}

{% macro cx_compiled_erased_ids() -%}
    {%- set ids = [] -%}
    {%- for item in env_var('CX_ERASED_CUSTOMERS', '').split(',') if item | trim != '' -%}
        {%- do ids.append(item | trim) -%}
    {%- endfor -%}
    {{ return(ids) }}
{%- endmacro %}

{#
    The erasure link of a raw table with the relations it reads and only the columns
    the relation has (an optional column left out of a file links nothing). The
    parent's relation is resolved even when no erasure runs: dbt records the
    dependency while parsing.
#}
{% macro cx_erasure_links(spec, raw) -%}
    {%- set link = spec.erasure -%}
    {%- set customer_columns = [] -%}
    {%- for column in link.customer_columns if column in raw.present -%}
        {%- do customer_columns.append(column) -%}
    {%- endfor -%}
    {%- set parent = none -%}
    {%- if link.parent -%}
        {%- set parent_spec = cx_raw_table(link.parent.table) -%}
        {%- set parent_raw = cx_raw_relation(parent_spec.source, parent_spec.table) -%}
        {%- set parent_columns = [] -%}
        {%- for column in parent_spec.erasure.customer_columns if column in parent_raw.present -%}
            {%- do parent_columns.append(column) -%}
        {%- endfor -%}
        {%- if parent_raw.relation is not none and link.parent.column in raw.present
            and parent_columns -%}
            {%- set parent = {
                'column': link.parent.column, 'relation': parent_raw.relation,
                'key': parent_spec.key, 'customer_columns': parent_columns} -%}
        {%- endif -%}
    {%- endif -%}
    {%- set device = none -%}
    {%- if link.device_column and link.device_column in raw.present and customer_columns -%}
        {%- set device = {'column': link.device_column, 'relation': raw.relation} -%}
    {%- endif -%}
    {{ return({'customer_columns': customer_columns, 'parent': parent, 'device': device}) }}
{%- endmacro %}

{# True for a row of `alias` naming an erased customer in one of `columns`. #}
{% macro cx_names_erased_customer(alias, columns) -%}
    (
        1 = 0
        {%- for column in columns %}
            or coalesce({{ cx_id(alias ~ '.' ~ column) }} in ({{ cx_erased_ids_query() }}), false)
        {%- endfor %}
    )
{%- endmacro %}

{# True for a row of `alias` that the links (cx_erasure_links) tie to an erased customer. #}
{% macro cx_erasure_predicate(alias, links) -%}
    (
        {{ cx_names_erased_customer(alias, links.customer_columns) }}
        {%- if links.parent %}
            or coalesce({{ cx_id(alias ~ '.' ~ links.parent.column) }} in (
                select {{ cx_id('erased_parent.' ~ links.parent.key) }}
                from {{ links.parent.relation }} as erased_parent
                where {{ cx_names_erased_customer('erased_parent', links.parent.customer_columns) }}
            ), false)
        {%- endif %}
        {%- if links.device %}
            or coalesce({{ cx_id(alias ~ '.' ~ links.device.column) }} in (
                select {{ cx_id('erased_device.' ~ links.device.column) }}
                from {{ links.device.relation }} as erased_device
                where {{ cx_names_erased_customer('erased_device', links.customer_columns) }}
            ), false)
        {%- endif %}
    )
{%- endmacro %}
