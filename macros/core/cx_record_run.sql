{#
    on-run-end: what the run did, stored in the warehouse it built, so that
    `cx-value summary` (or a BI tool) can say whether the last build succeeded and
    what failed or was skipped, even when dbt was run directly. One row per run in
    meta.dbt_runs; one row per node that did not pass in meta.dbt_run_problems.
#}
{% macro cx_record_run(results) -%}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set schema = generate_schema_name('meta', none) | trim -%}
    {%- set counts = {'error': 0, 'fail': 0, 'warn': 0, 'skipped': 0} -%}
    {%- set problems = [] -%}
    {%- for result in results -%}
        {%- set status = result.status | string | lower -%}
        {%- if status in counts -%}
            {%- do counts.update({status: counts[status] + 1}) -%}
            {%- do problems.append(result) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set string_type = dbt.type_string() -%}
    {%- do run_query('create schema if not exists ' ~ schema) -%}
    {%- do run_query(
        'create table if not exists ' ~ schema ~ '.dbt_runs ('
        ~ 'invocation_id ' ~ string_type ~ ', command ' ~ string_type
        ~ ', started_at ' ~ dbt.type_timestamp() ~ ', finished_at ' ~ dbt.type_timestamp()
        ~ ', selection ' ~ string_type ~ ', run_vars ' ~ string_type
        ~ ', reporting_currency ' ~ string_type ~ ', absent_tables ' ~ string_type
        ~ ', nodes ' ~ dbt.type_int() ~ ', errors ' ~ dbt.type_int()
        ~ ', failures ' ~ dbt.type_int() ~ ', warnings ' ~ dbt.type_int()
        ~ ', skipped ' ~ dbt.type_int() ~ ', succeeded ' ~ dbt.type_boolean() ~ ')'
    ) -%}
    {%- do run_query(
        'create table if not exists ' ~ schema ~ '.dbt_run_problems ('
        ~ 'invocation_id ' ~ string_type ~ ', unique_id ' ~ string_type
        ~ ', resource_type ' ~ string_type ~ ', node_name ' ~ string_type
        ~ ', status ' ~ string_type ~ ', message ' ~ string_type ~ ')'
    ) -%}
    {%- set selection = invocation_args_dict.get('select') or [] -%}
    {%- set run_vars = invocation_args_dict.get('vars') or {} -%}
    {%- do run_query(
        'insert into ' ~ schema ~ '.dbt_runs values ('
        ~ cx_sql_text(invocation_id) ~ ', ' ~ cx_sql_text(flags.WHICH)
        ~ ", cast('" ~ run_started_at.strftime('%Y-%m-%d %H:%M:%S') ~ "' as " ~ dbt.type_timestamp() ~ ")"
        ~ ', ' ~ dbt.current_timestamp()
        ~ ', ' ~ cx_sql_text(selection | join(' ')) ~ ', ' ~ cx_sql_text(tojson(run_vars))
        ~ ', ' ~ cx_sql_text(cx_currency()) ~ ', ' ~ cx_sql_text(cx_absent_tables() | join(','))
        ~ ', ' ~ (results | length) ~ ', ' ~ counts['error'] ~ ', ' ~ counts['fail']
        ~ ', ' ~ counts['warn'] ~ ', ' ~ counts['skipped']
        ~ ', ' ~ ('true' if counts['error'] + counts['fail'] == 0 else 'false') ~ ')'
    ) -%}
    {%- for batch in problems | batch(200) -%}
        {%- set rows = [] -%}
        {%- for result in batch -%}
            {%- do rows.append(
                '(' ~ cx_sql_text(invocation_id) ~ ', ' ~ cx_sql_text(result.node.unique_id)
                ~ ', ' ~ cx_sql_text(result.node.resource_type) ~ ', ' ~ cx_sql_text(result.node.name)
                ~ ', ' ~ cx_sql_text(result.status) ~ ', ' ~ cx_sql_text((result.message or '') | string | truncate(1000, true, '…', 0))
                ~ ')'
            ) -%}
        {%- endfor -%}
        {%- do run_query('insert into ' ~ schema ~ '.dbt_run_problems values ' ~ rows | join(', ')) -%}
    {%- endfor -%}
    {{ return('') }}
{%- endmacro %}

{# A Python value as an SQL text literal. #}
{% macro cx_sql_text(value) -%}
    '{{ (value | string).replace("'", "''") }}'
{%- endmacro %}
