{#
    The one observation date of every mart and model: the latest export date
    (`loaded_at`) across all staged tables, so a rebuild of the same export gives
    the same rows, or the var cx_as_of when a run must be pinned to a date. CLV's
    T, contract outcomes, churn features and every "in the last n days" window are
    measured to it.
#}
{%- set retired_vars = ['cx_clv_as_of', 'cx_retention_as_of', 'cx_churn_as_of', 'cx_journey_as_of'] -%}
{%- for retired in retired_vars -%}
    {%- if var(retired, none) is not none -%}
        {{ exceptions.raise_compiler_error(
            "The var " ~ retired ~ " is retired: every model now uses one observation date. "
            ~ "Set cx_as_of instead.") }}
    {%- endif -%}
{%- endfor -%}
{%- set pinned = var('cx_as_of', none) -%}

with

{% for raw in cx_raw_tables() %}
    exported_{{ raw.table }} as (
        select max(loaded_at) as last_loaded_at
        from {{ ref('stg_' ~ raw.source ~ '__' ~ raw.table) }}
    ),

{% endfor %}
exports as (
    {%- for raw in cx_raw_tables() %}
        select last_loaded_at from exported_{{ raw.table }}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

observation as (
    -- an aggregate either way, so exactly one row
    select
        {%- if pinned %}
            cast('{{ pinned }}' as date) as as_of_date,
            'var cx_as_of' as as_of_source
        {%- else %}
            cast(max(last_loaded_at) as date) as as_of_date,
            'latest export (loaded_at)' as as_of_source
        {%- endif %},
        count(*) as exported_tables
    from exports
),

final as (
    select
        as_of_date,
        -- exclusive upper bound: everything before the next midnight is known
        cast({{ dbt.dateadd('day', 1, 'as_of_date') }} as {{ dbt.type_timestamp() }}) as as_of_end_at,
        as_of_source
    from observation
)

select * from final
