{#
    True when the raw table was observed (at least one staged row), as a scalar
    subquery a model can put in any expression: `case when {{ cx_observed('tickets') }}
    then coalesce(open_complaints, 0) end` is 0 for a customer without complaints in
    an exported ticket table and NULL when there is no ticket data at all
    (CONVENTIONS: unknown is NULL, never a default that looks like a measurement).
    Several tables: all must be observed.
#}
{% macro cx_observed(table_names) -%}
    {%- if table_names is string -%}
        {%- set table_names = [table_names] -%}
    {%- endif -%}
    {%- for table_name in table_names -%}
        {%- do cx_raw_table(table_name) -%}
    {%- endfor -%}
    (
        select count(*) = {{ table_names | length }}
        from {{ ref('int_raw_tables_observed') }}
        where
            is_observed
            and table_name in ({{ cx_quoted_list(table_names) }})
    )
{%- endmacro %}

{#
    coalesce(expression, 0) where the tables were observed, NULL where they were not:
    "no rows for this customer or month" is a true 0 only when the data could have
    held some.
#}
{% macro cx_coalesce_observed(expression, table_names, default=0) -%}
    case when {{ cx_observed(table_names) }} then coalesce({{ expression }}, {{ default }}) end
{%- endmacro %}

{# True when at least one of the raw tables was observed. #}
{% macro cx_any_observed(table_names) -%}
    {%- for table_name in table_names -%}
        {%- do cx_raw_table(table_name) -%}
    {%- endfor -%}
    (
        select count(*) > 0
        from {{ ref('int_raw_tables_observed') }}
        where
            is_observed
            and table_name in ({{ cx_quoted_list(table_names) }})
    )
{%- endmacro %}

{#
    True when the raw table was observed back to `since` (its earliest activity is
    on or before it): a trailing period that starts before the data does is not
    covered, and a sum over it would read as a fall that never happened.
#}
{#- The subquery does not refer to the outer row (Spark allows an outer reference in a
    subquery's WHERE only); the comparison with `since` is made outside it. -#}
{% macro cx_history_covers(table_name, since_expression) -%}
    {%- do cx_raw_table(table_name) -%}
    coalesce(
        (
            select min(first_activity_at)
            from {{ ref('int_raw_tables_observed') }}
            where
                is_observed
                and table_name = '{{ table_name }}'
        ) <= {{ since_expression }},
        false
    )
{%- endmacro %}

{#
    The non-null texts joined by `separator`, null when all are null: which components
    of a row are unknown, say. concat_ws skips nulls on DuckDB and Spark alike.
#}
{% macro cx_join_texts(expressions, separator=', ') -%}
    {{ return(adapter.dispatch('cx_join_texts', 'cx_value')(expressions, separator)) }}
{%- endmacro %}

{% macro default__cx_join_texts(expressions, separator) -%}
    nullif(concat_ws('{{ separator }}', {{ expressions | join(', ') }}), '')
{%- endmacro %}
