{#
    The relation a staging model reads a raw table from. Staging models call this
    instead of source() directly so that the same models read the demo seeds, a
    folder of files or existing tables without any change.

    In demo mode the seed of the same name is the raw table: ref() makes one
    `dbt build` load the seeds before the staging models that read them (and unit
    tests mock the seed). Otherwise source() is called, so lineage, documentation
    and freshness stay on the declared source, even when files are read in place.

    Exactly the contract's columns come out, in its order: an optional column the
    file or table leaves out is read as empty, a missing required one stops the
    model with a message naming the table and the column, extra columns are
    dropped unless declared in the var cx_extra_columns (customers and subscriptions;
    macros/staging/cx_extra_columns.sql), which then must be present. A table
    declared absent (cx_absent_tables) is an empty relation.
#}
{% macro cx_source(source_name, table_name, rows='kept') -%}
    {%- set spec = cx_raw_table(table_name) -%}
    {%- set mode = cx_raw_mode() -%}
    {%- set raw = cx_raw_relation(source_name, table_name) -%}
    {%- set relation = raw.relation -%}
    {%- set present = raw.present -%}
    {#- the tables an erasure link reads are dependencies even when no erasure runs:
        dbt infers them when parsing, before any list is known -#}
    {%- set erasure = cx_erasure_links(spec, raw) -%}
    {%- set extras = cx_extra_column_names(table_name) -%}
    {%- if table_name in cx_absent_tables() -%}
        {{ cx_empty_raw_table(spec, extras) }}
    {%- else -%}
        {%- set missing = [] -%}
        {%- for column in spec.required_columns if column not in present -%}
            {%- do missing.append(column) -%}
        {%- endfor -%}
        {#- a declared extra column is a promise about the export: its absence is an error,
            not an empty attribute (the demo seeds have none, so declaring one there fails) -#}
        {%- set missing_extras = [] -%}
        {%- if execute -%}
            {%- for column in extras if column not in present -%}
                {%- do missing_extras.append(column) -%}
            {%- endfor -%}
        {%- endif -%}
        {%- if missing_extras -%}
            {{ exceptions.raise_compiler_error(
                "raw table " ~ source_name ~ "." ~ table_name ~ " (" ~ relation
                ~ ") has no column " ~ missing_extras | join(', ')
                ~ ", declared in the var cx_extra_columns") }}
        {%- endif -%}
        {%- if missing -%}
            {{ exceptions.raise_compiler_error(
                "raw table " ~ source_name ~ "." ~ table_name ~ " (" ~ relation
                ~ ") has no column " ~ missing | join(', ')
                ~ ": every required column of the contract must be present "
                ~ "(docs/raw_data_contract.md)") }}
        {%- endif -%}
        (
            select
                {%- for column in spec.columns %}
                    {%- if column in present %}
                        {{ column }}
                    {%- else %}
                        cast(null as {{ dbt.type_string() }}) as {{ column }}
                    {%- endif %}
                    {%- if not loop.last %},{% endif %}
                {%- endfor %}
                {%- for column in extras %},
                    {{ column }}
                {%- endfor %}
            from {{ relation }} as raw_{{ table_name }}
            {#- erased customers' rows are not read at all (macros/raw/cx_erasure.sql);
                rows='erased' reads only them and rows='all' every row, to count them -#}
            {%- if rows == 'erased' %}
            where {{ cx_erasure_predicate('raw_' ~ table_name, erasure) if cx_erasure_active() else '1 = 0' }}
            {%- elif rows != 'all' and cx_erasure_active() %}
            where not {{ cx_erasure_predicate('raw_' ~ table_name, erasure) }}
            {%- endif %}
        )
    {%- endif -%}
{%- endmacro %}

{#
    The relation of one raw table as this build reads it (a seed, a source, or the
    file read in place) and the columns it has: {'relation': ..., 'present': [...]}.
    The demo seeds carry every contract column; files and tables may leave out
    optional ones, so those are looked up when the model runs. ref() or source() is
    called even for an absent table, so lineage stays whole.
#}
{% macro cx_raw_relation(source_name, table_name) -%}
    {%- set spec = cx_raw_table(table_name) -%}
    {%- set mode = cx_raw_mode() -%}
    {%- if mode == 'demo' -%}
        {%- set relation = ref(table_name) -%}
    {%- else -%}
        {%- set relation = source(source_name, table_name) -%}
    {%- endif -%}
    {%- if table_name in cx_absent_tables() -%}
        {{ return({'relation': none, 'present': []}) }}
    {%- endif -%}
    {%- if mode == 'files' -%}
        {%- set relation = cx_read_raw_file(
            cx_raw_dir() ~ '/' ~ table_name ~ '.' ~ cx_raw_format(), cx_raw_format()) -%}
    {%- endif -%}
    {%- if mode == 'demo' or not execute -%}
        {%- set present = spec.columns -%}
    {%- else -%}
        {%- set present = cx_relation_columns(relation) -%}
    {%- endif -%}
    {{ return({'relation': relation, 'present': present}) }}
{%- endmacro %}

{# The contract entry of one raw table (macros/raw/cx_contract.sql). #}
{% macro cx_raw_table(table_name) -%}
    {%- for spec in cx_raw_tables() if spec.table == table_name -%}
        {{ return(spec) }}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error("unknown raw table '" ~ table_name ~ "'") }}
{%- endmacro %}

{#
    Raw tables the company does not have, declared by the var cx_absent_tables (a
    list, or a comma-separated string) or the environment variable
    CX_ABSENT_TABLES. Names are table names (`events`) or source.table
    (`web.events`). A declared table is read as empty, so every model over it
    builds with zero rows; a table that is merely forgotten still fails.
#}
{% macro cx_absent_tables() -%}
    {#- the project declares the var empty, so the environment is read when it is -#}
    {%- set declared = var('cx_absent_tables', '') -%}
    {%- if not declared -%}
        {%- set declared = env_var('CX_ABSENT_TABLES', '') -%}
    {%- endif -%}
    {%- if declared is string -%}
        {%- set declared = declared.split(',') -%}
    {%- endif -%}
    {%- set known = cx_raw_tables() | map(attribute='table') | list -%}
    {%- set absent = [] -%}
    {%- for item in declared if (item | string | trim) != '' -%}
        {%- set name = (item | string | trim | lower).split('.') | last -%}
        {%- if name not in known -%}
            {{ exceptions.raise_compiler_error(
                "cx_absent_tables names '" ~ item ~ "', which is not a raw table; known: "
                ~ known | join(', ')) }}
        {%- endif -%}
        {%- if name in cx_required_tables() -%}
            {{ exceptions.raise_compiler_error(
                "'" ~ name ~ "' cannot be declared absent: every export needs it") }}
        {%- endif -%}
        {%- do absent.append(name) -%}
    {%- endfor -%}
    {{ return(absent) }}
{%- endmacro %}

{# An empty relation with the raw table's columns, all text: a table the company does not have. #}
{% macro cx_empty_raw_table(spec, extras=[]) -%}
    (
        select
            {%- for column in spec.columns + extras %}
                cast(null as {{ dbt.type_string() }}) as {{ column }}
                {%- if not loop.last %},{% endif %}
            {%- endfor %}
        from (select 1 as nothing) as absent_{{ spec.table }}
        where 1 = 0
    )
{%- endmacro %}

{# The lower-cased column names of a relation or a relation expression, from a query of no rows. #}
{% macro cx_relation_columns(relation) -%}
    {%- set probe = run_query('select * from ' ~ relation ~ ' as probe where 1 = 0') -%}
    {{ return(probe.column_names | map('lower') | list) }}
{%- endmacro %}

{% macro cx_read_raw_file(path, file_format) -%}
    {{ return(adapter.dispatch('cx_read_raw_file', 'cx_value')(path, file_format)) }}
{%- endmacro %}

{# Every column is read as text: dirty values must reach staging to be rejected there. #}
{% macro duckdb__cx_read_raw_file(path, file_format) -%}
    {%- if file_format == 'csv' -%}
        (select * from read_csv({{ cx_sql_string(path) }}, header = true, all_varchar = true))
    {%- else -%}
        (select * from read_parquet({{ cx_sql_string(path) }}))
    {%- endif -%}
{%- endmacro %}

{# Spark's csv.`path` reads no header row, so only Parquet is read in place there. #}
{% macro spark__cx_read_raw_file(path, file_format) -%}
    {%- if file_format != 'parquet' -%}
        {{ exceptions.raise_compiler_error(
            "On Spark, raw files are read in place only as Parquet: convert the CSV files "
            ~ "or load them into tables and use cx_raw_mode=tables") }}
    {%- endif -%}
    (select * from parquet.{{ cx_spark_path(path) }})
{%- endmacro %}

{% macro default__cx_read_raw_file(path, file_format) -%}
    {{ exceptions.raise_compiler_error(
        "Reading raw files directly is not supported on " ~ target.type
        ~ ": load them into tables and use cx_raw_mode=tables") }}
{%- endmacro %}
