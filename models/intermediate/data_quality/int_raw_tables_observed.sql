{#
    One row per raw table: whether the warehouse observed it, and over which period.
    A table is observed when at least one of its rows was staged. One the company
    declared absent (cx_absent_tables), one exported empty and one whose every row
    was rejected are all unobserved: nothing in them can back a figure. Marts read
    this to tell "none" (observed, no rows for this customer: a true 0) from
    "unknown" (unobserved: NULL), via the macro cx_observed().
#}
{{ config(materialized='table') }}
{%- set activity_columns = {
    'customers': 'created_at',
    'contacts': 'created_at',
    'deals': 'created_at',
    'orders': 'ordered_at',
    'subscriptions': 'start_date',
    'tickets': 'opened_at',
    'referrals': 'referred_at',
    'survey_responses': 'answered_at',
    'events': 'event_at',
} -%}
{%- set absent = [] -%}
{%- for raw in cx_raw_tables() if raw.table in cx_absent_tables() -%}
    {%- do absent.append("'" ~ raw.source ~ "." ~ raw.table ~ "'") -%}
{%- endfor -%}
{%- set absent_list = absent | join(', ') if absent else "''" -%}

with

reconciled as (
    select * from {{ ref('int_raw_rows_reconciled') }}
),

{% for raw in cx_raw_tables() %}
    {%- set column = activity_columns.get(raw.table) %}
    activity_{{ raw.table }} as (
        select
            '{{ raw.source }}.{{ raw.table }}' as source_table,
            {%- if column %}
                cast(min({{ column }}) as {{ dbt.type_timestamp() }}) as first_activity_at,
                cast(max({{ column }}) as {{ dbt.type_timestamp() }}) as last_activity_at
            from {{ ref('stg_' ~ raw.source ~ '__' ~ raw.table) }}
            {%- else %}
                -- lines carry no time of their own: their orders' period applies
                cast(null as {{ dbt.type_timestamp() }}) as first_activity_at,
                cast(null as {{ dbt.type_timestamp() }}) as last_activity_at
            from (select 1 as one) as no_activity_column
            {%- endif %}
    ),

{% endfor %}
activity as (
    {%- for raw in cx_raw_tables() %}
        select * from activity_{{ raw.table }}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

final as (
    select
        reconciled.source_table,
        {{ dbt.split_part('reconciled.source_table', "'.'", 2) }} as table_name,
        {{ dbt.split_part('reconciled.source_table', "'.'", 1) }} as source_name,
        reconciled.source_table in ({{ absent_list }}) as is_declared_absent,
        reconciled.raw_rows,
        reconciled.staged_rows,
        reconciled.rejected_rows,
        reconciled.erased_rows,
        reconciled.staged_rows > 0 as is_observed,
        case
            when reconciled.staged_rows > 0 then 'observed'
            -- rows of erased customers were never read: they reject nothing
            when reconciled.rejected_rows > 0 then 'all_rows_rejected'
            when reconciled.source_table in ({{ absent_list }}) then 'declared_absent'
            else 'empty'
        end as observation_status,
        activity.first_activity_at,
        activity.last_activity_at
    from reconciled
    inner join activity
        on reconciled.source_table = activity.source_table
)

select * from final
