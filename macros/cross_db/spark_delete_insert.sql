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

{#
    Deletes the rows of an incremental table whose `key` is not among the keys
    `keys_query` returns (a query with one column named as the key): delete+insert only
    replaces the keys a run has rows for, so a key whose every source row vanished from
    the export keeps its old rows without this. Used as a post-hook; a NULL key is kept,
    as delete+insert keeps it. On Spark, which cannot delete from Parquet tables, the
    table is rewritten through a scratch table, as above.
#}
{% macro cx_delete_keys_absent(key, keys_query) -%}
    {{ return(adapter.dispatch('cx_delete_keys_absent', 'cx_value')(key, keys_query)) }}
{%- endmacro %}

{% macro default__cx_delete_keys_absent(key, keys_query) -%}
    delete from {{ this }}
    where
        {{ key }} is not null
        and not exists (
            select 1 from ({{ keys_query }}) as kept_keys
            where kept_keys.{{ key }} = {{ this }}.{{ key }}
        )
{%- endmacro %}

{% macro spark__cx_delete_keys_absent(key, keys_query) -%}
    {%- set kept = '(select kept_keys.' ~ key ~ ' from (' ~ keys_query ~ ') as kept_keys)' -%}
    {%- if execute -%}
        {#- a rewrite only when some key is gone (never on a first build) -#}
        {%- set absent = run_query(
            'select count(*) from ' ~ this ~ ' as stored where stored.' ~ key
            ~ ' is not null and stored.' ~ key ~ ' not in ' ~ kept).columns[0].values()[0] -%}
        {%- if absent == 0 -%}
            {{ return('select 1') }}
        {%- endif -%}
    {%- endif -%}
    {%- set scratch = this.incorporate(path={'identifier': this.identifier ~ '__cx_prune'}) -%}
    {%- do run_query('drop table if exists ' ~ scratch) -%}
    {%- do run_query(
        'create table ' ~ scratch ~ ' as select * from ' ~ this ~ ' as stored'
        ~ ' where stored.' ~ key ~ ' is null or stored.' ~ key ~ ' in ' ~ kept) -%}
    {%- do run_query('insert overwrite table ' ~ this ~ ' select * from ' ~ scratch) -%}
    {%- do run_query('drop table ' ~ scratch) -%}
    refresh table {{ this }}
{%- endmacro %}
