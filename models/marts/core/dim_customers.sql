{#
    One row per customer: who they are commercially, when and how they were
    acquired, where their contract stands and where they are on the journey. Keys only, never names or contact
    details: the customer id is the CRM's key, and personal data was pseudonymised
    in staging and is not carried here at all.
#}
with

customers as (
    select * from {{ ref('stg_crm__customers') }}
),

terms as (
    select * from {{ ref('int_subscription_terms_renewed') }}
),

touchpoints as (
    -- the intermediate, not fct_journey_touchpoints: the fact is tested against this model
    select * from {{ ref('int_journey_touchpoints_unioned') }}
),

touchpoint_summaries as (
    select
        customer_id,
        min(touchpoint_at) as first_touchpoint_at,
        max(touchpoint_at) as last_touchpoint_at,
        count(*) as touchpoint_count,
        max(customer_touchpoint_number) as last_touchpoint_number
    from touchpoints
    group by customer_id
),

journey_positions as (
    select
        touchpoint_summaries.customer_id,
        touchpoint_summaries.first_touchpoint_at,
        touchpoint_summaries.last_touchpoint_at,
        touchpoint_summaries.touchpoint_count,
        touchpoints.stage as current_stage
    from touchpoint_summaries
    inner join touchpoints
        on
            touchpoint_summaries.customer_id = touchpoints.customer_id
            and touchpoint_summaries.last_touchpoint_number = touchpoints.customer_touchpoint_number
),

latest_terms as (
    select
        *,
        row_number() over (
            partition by customer_id
            order by term_number desc
        ) as recency_rank
    from terms
),

current_terms as (
    select
        customer_id,
        plan_name,
        monthly_fee,
        end_date,
        notice_date,
        is_churned,
        as_of_date
    from latest_terms
    where recency_rank = 1
),

final as (
    select
        customers.customer_id,
        customers.customer_type,
        customers.segment,
        customers.country_code,
        customers.acquisition_channel,
        customers.owner_id,
        customers.created_at as acquired_at,
        cast(customers.created_at as date) as acquisition_date,
        {{ cx_month('customers.created_at') }} as acquisition_month,
        case
            -- never subscribed, as far as exported contract terms can tell; unknown
            -- (null) when the export has none at all
            when current_terms.customer_id is null and {{ cx_observed('subscriptions') }}
                then 'none'
            when current_terms.customer_id is null then null
            -- churned by notice, but the term it ends still runs and is paid
            when
                current_terms.is_churned and current_terms.end_date >= current_terms.as_of_date
                then 'notice_given'
            when current_terms.is_churned then 'churned'
            when current_terms.end_date < current_terms.as_of_date then 'in_grace'
            when current_terms.notice_date is not null then 'notice_given'
            else 'active'
        end as subscription_status,
        current_terms.plan_name as current_plan_name,
        current_terms.monthly_fee as current_monthly_fee,
        current_terms.end_date as current_term_end_date,
        journey_positions.current_stage,
        journey_positions.first_touchpoint_at,
        journey_positions.last_touchpoint_at,
        cast(
            case
                when
                    {{ cx_any_observed(['events', 'deals', 'orders', 'subscriptions', 'tickets', 'survey_responses']) }}
                    then coalesce(journey_positions.touchpoint_count, 0)
            end as {{ dbt.type_bigint() }}
        ) as touchpoint_count
    from customers
    left join current_terms
        on customers.customer_id = current_terms.customer_id
    left join journey_positions
        on customers.customer_id = journey_positions.customer_id
)

select * from final
