{#
    dbt.listagg on Spark. dbt-spark's version concatenates in whatever order the rows
    arrive (it ignores order_by_clause); Spark 4's listagg ... within group (order by)
    keeps the order the project asks for, so a list reads the same as on DuckDB.
    Overrides dbt-spark's macro of the same name.
#}
{% macro spark__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- if limit_num -%}
        {{ exceptions.raise_compiler_error("cx_value's spark__listagg does not take limit_num") }}
    {%- endif -%}
    listagg({{ measure }}, {{ delimiter_text }})
    {%- if order_by_clause %} within group ({{ order_by_clause }}){% endif %}
{%- endmacro %}
