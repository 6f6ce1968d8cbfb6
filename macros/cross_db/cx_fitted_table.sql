{#
    A table a Python model makes, read from where another build wrote it. Engines that
    cannot run the project's Python models (dbt-spark runs Python only on a Databricks
    or Dataproc cluster) take the model's output, exported to Parquet by a DuckDB build
    of the same data (cx_value.fitted.export_fitted_tables), from the folder named by
    the var cx_fitted_dir (or CX_FITTED_DIR): <folder>/<model name>.parquet, its
    columns, order and types unchanged.

    The stand-ins (models/marts/*/fitted/) share their names with the Python models, one
    of each pair disabled. dbt 1.11's partial parsing trips over an edit to a disabled
    one ("depends on a node named ... which is disabled"): after editing a stand-in,
    run dbt once with --no-partial-parse.
#}
{% macro cx_fitted_table(model_name) -%}
    {%- set fitted_dir = (var('cx_fitted_dir', '') or env_var('CX_FITTED_DIR', '')) | trim -%}
    {%- if fitted_dir == '' and execute -%}
        {{ exceptions.raise_compiler_error(
            model_name ~ " is a Python model, which " ~ target.type ~ " cannot run here: "
            ~ "set CX_FITTED_DIR (or the var cx_fitted_dir) to a folder of its fitted "
            ~ "output (cx_value.fitted.export_fitted_tables)") }}
    {%- endif -%}
    {{ return(adapter.dispatch('cx_fitted_table', 'cx_value')(
        fitted_dir.rstrip('/') ~ '/' ~ model_name ~ '.parquet')) }}
{%- endmacro %}

{% macro default__cx_fitted_table(path) -%}
    (select * from read_parquet({{ cx_sql_string(path) }}))
{%- endmacro %}

{% macro spark__cx_fitted_table(path) -%}
    (select * from parquet.{{ cx_spark_path(path) }})
{%- endmacro %}
