{#
    Building blocks of the journey marts that engines spell differently.
#}

{#
    A continuous percentile (linear interpolation between order statistics, as
    numpy.percentile and pandas' quantile do by default), so a median of two
    values is their mean on every engine.
#}
{% macro cx_percentile(expression, fraction) -%}
    {{ return(adapter.dispatch('cx_percentile', 'cx_value')(expression, fraction)) }}
{%- endmacro %}

{% macro default__cx_percentile(expression, fraction) -%}
    percentile_cont({{ fraction }}) within group (order by {{ expression }})
{%- endmacro %}

{% macro duckdb__cx_percentile(expression, fraction) -%}
    quantile_cont({{ expression }}, {{ fraction }})
{%- endmacro %}

{% macro spark__cx_percentile(expression, fraction) -%}
    percentile({{ expression }}, {{ fraction }})
{%- endmacro %}

{# Hours between two timestamps as a double, to the second. #}
{% macro cx_hours_between(start_expression, end_expression) -%}
    {{ cx_as_double(dbt.datediff(start_expression, end_expression, 'second')) }} / 3600.0
{%- endmacro %}

{# Days between two timestamps as a double, to the second. #}
{% macro cx_days_between(start_expression, end_expression) -%}
    {{ cx_as_double(dbt.datediff(start_expression, end_expression, 'second')) }} / 86400.0
{%- endmacro %}

{# First day of the month of a date or timestamp, as a date. #}
{% macro cx_month(expression) -%}
    cast({{ dbt.date_trunc('month', expression) }} as date)
{%- endmacro %}
