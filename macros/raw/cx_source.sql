{#
    The relation a staging model reads a raw table from. Staging models call this
    instead of source() directly so that the same models read the demo seeds, a
    folder of files or existing tables without any change.

    In demo mode the seed of the same name is the raw table: ref() makes one
    `dbt build` load the seeds before the staging models that read them (and unit
    tests mock the seed). Otherwise source() is called, so lineage, documentation
    and freshness stay on the declared source, even when files are read in place.
#}
{% macro cx_source(source_name, table_name) -%}
    {%- set mode = cx_raw_mode() -%}
    {%- if mode == 'demo' -%}
        {{ ref(table_name) }}
    {%- elif mode == 'files' -%}
        {%- do source(source_name, table_name) -%}
        {{ cx_read_raw_file(cx_raw_dir() ~ '/' ~ table_name ~ '.' ~ cx_raw_format(), cx_raw_format()) }}
    {%- else -%}
        {{ source(source_name, table_name) }}
    {%- endif -%}
{%- endmacro %}

{% macro cx_read_raw_file(path, file_format) -%}
    {{ return(adapter.dispatch('cx_read_raw_file', 'cx_value')(path, file_format)) }}
{%- endmacro %}

{# Every column is read as text: dirty values must reach staging to be rejected there. #}
{% macro duckdb__cx_read_raw_file(path, file_format) -%}
    {%- if file_format == 'csv' -%}
        (select * from read_csv('{{ path }}', header = true, all_varchar = true))
    {%- else -%}
        (select * from read_parquet('{{ path }}'))
    {%- endif -%}
{%- endmacro %}

{# Spark's csv.`path` reads no header row, so only Parquet is read in place there. #}
{% macro spark__cx_read_raw_file(path, file_format) -%}
    {%- if file_format != 'parquet' -%}
        {{ exceptions.raise_compiler_error(
            "On Spark, raw files are read in place only as Parquet: convert the CSV files "
            ~ "or load them into tables and use cx_raw_mode=tables") }}
    {%- endif -%}
    (select * from parquet.`{{ path }}`)
{%- endmacro %}

{% macro default__cx_read_raw_file(path, file_format) -%}
    {{ exceptions.raise_compiler_error(
        "Reading raw files directly is not supported on " ~ target.type
        ~ ": load them into tables and use cx_raw_mode=tables") }}
{%- endmacro %}
