{#
    Where the raw data comes from, in one place. Each setting is a dbt var first,
    then an environment variable, then the default:

    - cx_raw_mode   / CX_RAW_MODE   : demo (default) | files | tables
    - cx_raw_dir    / CX_RAW_DIR    : folder of <table>.csv or <table>.parquet (files mode)
    - cx_raw_format / CX_RAW_FORMAT : parquet (default) | csv (files mode)
    - cx_raw_schema / CX_RAW_SCHEMA : schema holding the raw tables (tables mode);
      per source, cx_crm_schema, cx_surveys_schema and cx_web_schema win.
#}
{% macro cx_raw_mode() -%}
    {%- set mode = (var('cx_raw_mode', '') or env_var('CX_RAW_MODE', 'demo')) | trim | lower -%}
    {%- if mode not in ['demo', 'files', 'tables'] -%}
        {{ exceptions.raise_compiler_error(
            "cx_raw_mode must be demo, files or tables, not '" ~ mode ~ "'") }}
    {%- endif -%}
    {{ return(mode) }}
{%- endmacro %}

{% macro cx_raw_dir() -%}
    {%- set raw_dir = (var('cx_raw_dir', '') or env_var('CX_RAW_DIR', '')) | trim -%}
    {%- if raw_dir == '' -%}
        {{ exceptions.raise_compiler_error(
            "cx_raw_mode is 'files' but no folder is set: set CX_RAW_DIR or the var cx_raw_dir") }}
    {%- endif -%}
    {{ return(raw_dir.rstrip('/')) }}
{%- endmacro %}

{% macro cx_raw_format() -%}
    {%- set fmt = (var('cx_raw_format', '') or env_var('CX_RAW_FORMAT', 'parquet')) | trim | lower -%}
    {%- if fmt not in ['csv', 'parquet'] -%}
        {{ exceptions.raise_compiler_error(
            "cx_raw_format must be csv or parquet, not '" ~ fmt ~ "'") }}
    {%- endif -%}
    {{ return(fmt) }}
{%- endmacro %}
