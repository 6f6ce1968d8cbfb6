{#
    Seed rows on Spark, written as SQL literals. dbt-spark's session connection pastes
    its bindings into the statement as '<value>': an empty cell (None) arrives as the
    text 'None' instead of NULL, and a quote or a backslash in a value breaks the
    statement or changes the value. Here a NULL is NULL and every other value is an
    escaped string literal cast to the column's type, so a seed holds on Spark what it
    holds on DuckDB. Overrides dbt-spark's macro of the same name.
#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set batch_size = get_batch_size() -%}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set types = [] -%}
    {%- for col_name in agate_table.column_names -%}
        {%- do types.append(column_override.get(
            col_name, adapter.convert_type(agate_table, loop.index0))) -%}
    {%- endfor -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(batch_size) -%}
        {%- set sql -%}
            insert into {{ this.render() }} values
            {%- for row in chunk %}
                (
                {%- for value in row -%}
                    {%- if value is none -%}
                        cast(null as {{ types[loop.index0] }})
                    {%- else -%}
                        cast('{{ cx_spark_string_literal(value) }}' as {{ types[loop.index0] }})
                    {%- endif -%}
                    {%- if not loop.last %}, {% endif -%}
                {%- endfor -%}
                ){%- if not loop.last %},{% endif %}
            {%- endfor %}
        {%- endset -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- if loop.first -%}
            {%- do statements.append(sql) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(statements[0] if statements else '') }}
{% endmacro %}

{# The body of a Spark string literal: backslashes and quotes escaped. #}
{% macro cx_spark_string_literal(value) -%}
    {{- (value | string).replace('\\', '\\\\').replace("'", "\\'") -}}
{%- endmacro %}
