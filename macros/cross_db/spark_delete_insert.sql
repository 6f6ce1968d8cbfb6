{#
    The delete+insert incremental strategy on Spark, which dbt-spark offers only as
    merge on Delta, Iceberg or Hudi tables. The project's incremental models replace
    every row of the keys a run touches (e.g. all sessions of a visitor) with the new
    batch; on plain Parquet tables the same result is a rewrite of the table: the rows
    whose key the batch does not hold (a NULL key is kept, as a delete leaves it), plus
    the batch. Spark cannot overwrite a table
    it is reading, so the result goes through a scratch table first. These two macros
    override dbt-spark's of the same name; every other strategy goes to dbt-spark's.
#}
{% macro dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format) -%}
    {%- if raw_strategy == 'delete+insert' -%}
        {{ return(raw_strategy) }}
    {%- endif -%}
    {{ return(dbt_spark.dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format)) }}
{%- endmacro %}

{% macro dbt_spark_get_incremental_sql(strategy, source, target, existing, unique_key, incremental_predicates) -%}
    {%- if strategy != 'delete+insert' -%}
        {{ return(dbt_spark.dbt_spark_get_incremental_sql(
            strategy, source, target, existing, unique_key, incremental_predicates)) }}
    {%- endif -%}
    {%- if not unique_key or unique_key is not string -%}
        {{ exceptions.raise_compiler_error(
            "delete+insert on Spark needs a unique_key of one column, not " ~ unique_key) }}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(target) | map(attribute='quoted') | join(', ') -%}
    {%- set scratch = target.incorporate(path={'identifier': target.identifier ~ '__cx_rewrite'}) -%}
    {%- do run_query('drop table if exists ' ~ scratch) -%}
    {%- do run_query(
        'create table ' ~ scratch ~ ' as'
        ~ ' select kept.* from (select ' ~ columns ~ ' from ' ~ target ~ ') as kept'
        ~ ' left anti join ' ~ source ~ ' as batch on kept.' ~ unique_key ~ ' = batch.' ~ unique_key
        ~ ' union all select ' ~ columns ~ ' from ' ~ source) -%}
    {%- do run_query('insert overwrite table ' ~ target ~ ' select ' ~ columns ~ ' from ' ~ scratch) -%}
    {%- do run_query('drop table ' ~ scratch) -%}
    refresh table {{ target }}
{%- endmacro %}
