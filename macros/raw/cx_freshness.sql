{#
    Source freshness measured against the export, not against the wall clock: the
    loaded_at_query of every raw table (rendered by cx_value/contract_render.py).

    dbt reports a table's age as (now - the value this query returns) and compares it
    with warn_after / error_after. The query returns now - lag, so the age dbt judges is
    the table's lag: how long before the export's reference time its latest row was
    loaded. The reference is the end of the day cx_as_of when that var is set, else the
    latest loaded_at of any raw table in the export (what int_observation_date takes the
    observation date from). An old export (the demo data, a re-run of last month's) is
    then fresh when its tables were exported together, and one table whose feed stopped
    is stale however recent the others are. Set cx_as_of to today's date to measure
    against the calendar instead.

    A table declared absent (cx_absent_tables), or holding no loaded_at that parses
    (a header-only file), has nothing that can be stale: its lag is 0. Timestamps are
    parsed as staging parses them (cx_timestamp: offsets honoured, naive values in
    cx_source_timezone), so the lag is in UTC.
#}
{% macro cx_source_loaded_at(source_name, table_name) -%}
    {%- set pinned = var('cx_as_of', none) -%}
    {%- set absent = cx_absent_tables() -%}
    {#- pinned: only the table itself is read; otherwise every raw table, for the reference -#}
    {%- set measured = [] -%}
    {%- for raw in cx_raw_tables() if raw.table not in absent -%}
        {%- if raw.table == table_name or not pinned -%}
            {%- do measured.append(raw) -%}
        {%- endif -%}
    {%- endfor -%}
    with

    {% for raw in measured %}
        loaded_{{ raw.table }} as (
            select
                '{{ raw.table }}' as table_name,
                max({{ cx_timestamp('loaded_at') }}) as last_loaded_at
            from {{ cx_raw_freshness_relation(raw.source, raw.table) }} as raw_{{ raw.table }}
        ),

    {% endfor %}
    exported as (
        {%- for raw in measured %}
            select table_name, last_loaded_at from loaded_{{ raw.table }}
            union all
        {%- endfor %}
        -- keeps the union valid when every table is absent
        select
            'none' as table_name,
            cast(null as {{ dbt.type_timestamp() }}) as last_loaded_at
    ),

    reference as (
        -- one row either way
        {%- if pinned %}
            select
                cast({{ dbt.dateadd('day', 1, "cast('" ~ pinned ~ "' as date)") }}
                    as {{ dbt.type_timestamp() }}) as reference_at
        {%- else %}
            select max(last_loaded_at) as reference_at
            from exported
        {%- endif %}
    ),

    lag as (
        select
            coalesce(
                {{ dbt.datediff('exported.last_loaded_at', 'reference.reference_at', 'second') }}, 0
            ) as lag_seconds
        from reference
        left join exported
            on exported.table_name = '{{ table_name }}'
    )

    select {{ dbt.dateadd('second', '-1 * lag_seconds', dbt.current_timestamp()) }} as loaded_at
    from lag
{%- endmacro %}

{#
    The relation a raw table is read from, resolved as cx_source resolves it: the seed
    of the same name in demo mode (looked up in the graph: freshness runs outside any
    model, where ref() is not available), the file itself in files mode, the declared
    source in tables mode.
#}
{% macro cx_raw_freshness_relation(source_name, table_name) -%}
    {%- set mode = cx_raw_mode() -%}
    {%- if mode == 'demo' -%}
        {%- set seed = graph.nodes.get('seed.' ~ project_name ~ '.' ~ table_name) -%}
        {{ return(api.Relation.create(
            database=seed.database, schema=seed.schema, identifier=seed.alias)) }}
    {%- elif mode == 'files' -%}
        {{ return(cx_read_raw_file(
            cx_raw_dir() ~ '/' ~ table_name ~ '.' ~ cx_raw_format(), cx_raw_format())) }}
    {%- else -%}
        {{ return(source(source_name, table_name)) }}
    {%- endif -%}
{%- endmacro %}
