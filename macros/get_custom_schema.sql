{#
    Custom schemas are used as named (staging, marts, demo_raw, ...) instead of
    dbt's default `<target schema>_<custom schema>`, so that BI tools see stable
    schema names. Set the var `cx_schema_prefix` (e.g. `dev_alice_`) to keep
    several developers apart in one warehouse.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ var('cx_schema_prefix', '') }}{{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
