{#
    One row per customer and month in which the customer was active: a running
    contract term, an order, a ticket, a survey answer or an attributed web session
    in that month. The denominator of "complaints per 100 customers": a complaint
    rate is read against the customers who could have complained that month, not
    against every customer ever acquired.
#}
with

as_of as (
    select * from {{ ref('int_observation_date') }}
),

terms as (
    select * from {{ ref('int_subscription_terms_renewed') }}
),

orders as (
    select * from {{ ref('stg_crm__orders') }}
),

tickets as (
    select * from {{ ref('stg_crm__tickets') }}
),

survey_responses as (
    select * from {{ ref('stg_surveys__survey_responses') }}
),

sessions as (
    select * from {{ ref('fct_web_sessions') }}
),

customers as (
    select * from {{ ref('dim_customers') }}
),

months as (
    select distinct month_start_date from {{ ref('dim_dates') }}
),

term_months as (
    select
        terms.customer_id,
        months.month_start_date as activity_month
    from terms
    inner join months
        on
            months.month_start_date >= {{ cx_month('terms.start_date') }}
            and months.month_start_date <= {{ cx_month('terms.end_date') }}
),

event_months as (
    select
        customer_id,
        {{ cx_month('ordered_at') }} as activity_month
    from orders
    union all
    select
        customer_id,
        {{ cx_month('opened_at') }} as activity_month
    from tickets
    union all
    select
        customer_id,
        {{ cx_month('answered_at') }} as activity_month
    from survey_responses
    where customer_id is not null
    union all
    select
        customer_id,
        {{ cx_month('session_started_at') }} as activity_month
    from sessions
    where customer_id is not null
),

unioned as (
    select
        customer_id,
        activity_month
    from term_months
    union all
    select
        customer_id,
        activity_month
    from event_months
),

final as (
    select distinct
        unioned.customer_id,
        customers.segment,
        unioned.activity_month
    from unioned
    inner join customers
        on unioned.customer_id = customers.customer_id
    cross join as_of
    -- months after the observation month are contract terms not yet lived
    where unioned.activity_month <= {{ cx_month('as_of.as_of_date') }}
)

select * from final
