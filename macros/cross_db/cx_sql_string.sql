{#
    A value written into SQL text as a string literal that holds exactly that text,
    whatever quotes, semicolons or line breaks it contains: paths, vars, settings.
    DuckDB and the standard double a quote; Spark's literals also read a backslash as an
    escape, so both are escaped with one there.
#}
{% macro cx_sql_string(value) -%}
    {{ return(adapter.dispatch('cx_sql_string', 'cx_value')(value | string)) }}
{%- endmacro %}

{% macro default__cx_sql_string(value) -%}
    {{ return("'" ~ value.replace("'", "''") ~ "'") }}
{%- endmacro %}

{% macro spark__cx_sql_string(value) -%}
    {{ return("'" ~ value.replace('\\', '\\\\').replace("'", "\\'") ~ "'") }}
{%- endmacro %}

{# A path as a Spark identifier (parquet.`path`): a backtick inside is doubled. #}
{% macro cx_spark_path(value) -%}
    {{ return('`' ~ (value | string).replace('`', '``') ~ '`') }}
{%- endmacro %}
