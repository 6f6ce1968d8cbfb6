{#
    The observation date of the journey, service and early-warning marts: the
    latest export date in the activity sources (a reproducible "today" for the
    demo), or the var cx_journey_as_of when a run must be pinned to a date.
#}
with

events as (
    select loaded_at from {{ ref('stg_web__events') }}
),

tickets as (
    select loaded_at from {{ ref('stg_crm__tickets') }}
),

survey_responses as (
    select loaded_at from {{ ref('stg_surveys__survey_responses') }}
),

orders as (
    select loaded_at from {{ ref('stg_crm__orders') }}
),

exports as (
    select max(loaded_at) as last_loaded_at from events
    union all
    select max(loaded_at) as last_loaded_at from tickets
    union all
    select max(loaded_at) as last_loaded_at from survey_responses
    union all
    select max(loaded_at) as last_loaded_at from orders
),

observation as (
    select
        {%- if var('cx_journey_as_of', none) %}
            cast('{{ var("cx_journey_as_of") }}' as date) as as_of_date
        {%- else %}
            cast(max(last_loaded_at) as date) as as_of_date
        {%- endif %}
    from exports
),

final as (
    select
        as_of_date,
        -- exclusive upper bound: everything before the next midnight is known
        cast({{ dbt.dateadd('day', 1, 'as_of_date') }} as {{ dbt.type_timestamp() }}) as as_of_end_at
    from observation
)

select * from final
