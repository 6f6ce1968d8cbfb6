{#
    Every touchpoint of a known customer, one row each, with its journey stage and
    its place in the customer's sequence. The base of fct_journey_touchpoints and of
    the journey columns of dim_customers (which cannot read the fact: the fact is
    tested against dim_customers), so it reads staging, not the dimension.
    Rules for stages and timestamps: DECISIONLOG "Customer journey marts".
#}
{{ config(materialized='table') }}

with

customers as (
    select * from {{ ref('stg_crm__customers') }}
),

sessions as (
    select * from {{ ref('fct_web_sessions') }}
),

deals as (
    select * from {{ ref('stg_crm__deals') }}
),

orders as (
    select * from {{ ref('stg_crm__orders') }}
),

terms as (
    select * from {{ ref('int_subscription_terms_renewed') }}
),

tickets as (
    select * from {{ ref('stg_crm__tickets') }}
),

questionnaires as (
    select * from {{ ref('int_survey_questionnaires_pivoted') }}
),

as_of as (
    select * from {{ ref('int_observation_date') }}
),

web_touchpoints as (
    select
        {{ dbt.concat(["'web_session:'", 'sessions.session_id']) }} as touchpoint_id,
        sessions.customer_id,
        sessions.session_started_at as touchpoint_at,
        -- before the customer existed in the CRM the site formed their image of us;
        -- the first weeks after are onboarding, everything later is usage
        case
            when sessions.session_started_at < customers.created_at then 'awareness'
            when
                sessions.session_started_at
                < {{ dbt.dateadd('day', var('cx_onboarding_days', 30), 'customers.created_at') }}
                then 'onboarding'
            else 'usage'
        end as stage,  -- noqa: RF04
        'web_session' as touchpoint_type,
        case when sessions.is_engaged then 'engaged_session' else 'bounced_session' end
            as touchpoint_name,
        'web' as channel,
        sessions.session_id as source_id,
        {{ cx_touchpoint_without_scores() }}
    from sessions
    inner join customers
        on sessions.customer_id = customers.customer_id
),

deal_opened_touchpoints as (
    select
        {{ dbt.concat(["'deal_opened:'", 'deal_id']) }} as touchpoint_id,
        customer_id,
        created_at as touchpoint_at,
        'consideration' as stage,  -- noqa: RF04
        'deal_opened' as touchpoint_type,
        deal_type as touchpoint_name,
        'sales' as channel,
        deal_id as source_id,
        {{ cx_touchpoint_without_scores() }}
    from deals
),

deal_closed_touchpoints as (
    select
        {{ dbt.concat(["'deal_closed:'", 'deal_id']) }} as touchpoint_id,
        customer_id,
        closed_at as touchpoint_at,
        'consideration' as stage,  -- noqa: RF04
        'deal_closed' as touchpoint_type,
        deal_type as touchpoint_name,
        'sales' as channel,
        deal_id as source_id,
        {{ cx_touchpoint_without_scores() }}
    from deals
    where deal_status in ('won', 'lost') and closed_at is not null
),

order_touchpoints as (
    select
        {{ dbt.concat(["'order:'", 'order_id']) }} as touchpoint_id,
        customer_id,
        ordered_at as touchpoint_at,
        'purchase' as stage,  -- noqa: RF04
        -- a return or credit note is part of the purchase experience
        case
            when order_type in ('return', 'credit_note') then 'return'
            else 'order'
        end as touchpoint_type,
        order_status as touchpoint_name,
        order_channel as channel,
        order_id as source_id,
        {{ cx_touchpoint_without_scores() }}
    from orders
    -- a bill of a contract term is not something the customer did
    where order_type != 'contract_billing'
),

term_started_touchpoints as (
    select
        {{ dbt.concat(["'term_started:'", 'subscription_id']) }} as touchpoint_id,
        customer_id,
        cast(start_date as {{ dbt.type_timestamp() }}) as touchpoint_at,
        -- the first contract is the purchase; every later term is a renewal won
        case when term_number = 1 then 'purchase' else 'renewal' end as stage,  -- noqa: RF04
        'term_started' as touchpoint_type,
        plan_name as touchpoint_name,
        'contract' as channel,
        subscription_id as source_id,
        {{ cx_touchpoint_without_scores() }}
    from terms
),

term_churned_touchpoints as (
    select
        {{ dbt.concat(["'term_churned:'", 'subscription_id']) }} as touchpoint_id,
        customer_id,
        -- the renewal was lost when the term lapsed: the midnight after its last day
        cast({{ dbt.dateadd('day', 1, 'end_date') }} as {{ dbt.type_timestamp() }}) as touchpoint_at,
        'renewal' as stage,  -- noqa: RF04
        'term_churned' as touchpoint_type,
        plan_name as touchpoint_name,
        'contract' as channel,
        subscription_id as source_id,
        {{ cx_touchpoint_without_scores() }}
    from terms
    where is_churned
),

ticket_touchpoints as (
    select
        {{ dbt.concat(["'ticket:'", 'ticket_id']) }} as touchpoint_id,
        customer_id,
        opened_at as touchpoint_at,
        'service' as stage,  -- noqa: RF04
        case when is_complaint then 'complaint' else 'ticket' end as touchpoint_type,
        ticket_category as touchpoint_name,
        ticket_channel as channel,
        ticket_id as source_id,
        {{ cx_touchpoint_without_scores() }}
    from tickets
),

survey_touchpoints as (
    select
        {{ dbt.concat(["'survey:'", 'questionnaire_id']) }} as touchpoint_id,
        customer_id,
        answered_at as touchpoint_at,
        stage,
        'survey' as touchpoint_type,
        touchpoint as touchpoint_name,
        'survey' as channel,
        questionnaire_id as source_id,
        cast(nps_score as {{ dbt.type_int() }}) as nps_score,
        cast(csat_score as {{ dbt.type_int() }}) as csat_score,
        cast(ces_score as {{ dbt.type_int() }}) as ces_score,
        cast(expectation_score as {{ dbt.type_int() }}) as expectation_score
    from questionnaires
),

{% for model_name in cx_touchpoint_models() %}
{{ model_name }}_touchpoints as (
    -- the analyst's own touchpoints (var cx_touchpoint_models): no questionnaire, so
    -- no scores, like every other touchpoint but a survey
    select
        cast(touchpoint_id as {{ dbt.type_string() }}) as touchpoint_id,
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(touchpoint_at as {{ dbt.type_timestamp() }}) as touchpoint_at,
        cast(stage as {{ dbt.type_string() }}) as stage,  -- noqa: RF04
        cast(touchpoint_type as {{ dbt.type_string() }}) as touchpoint_type,
        cast(touchpoint_name as {{ dbt.type_string() }}) as touchpoint_name,
        cast(channel as {{ dbt.type_string() }}) as channel,
        cast(source_id as {{ dbt.type_string() }}) as source_id,
        {{ cx_touchpoint_without_scores() }}
    from {{ ref(model_name) }}
),

{% endfor %}
unioned as (
    select * from web_touchpoints
    union all
    select * from deal_opened_touchpoints
    union all
    select * from deal_closed_touchpoints
    union all
    select * from order_touchpoints
    union all
    select * from term_started_touchpoints
    union all
    select * from term_churned_touchpoints
    union all
    select * from ticket_touchpoints
    union all
    select * from survey_touchpoints
    {%- for model_name in cx_touchpoint_models() %}
    union all
    select * from {{ model_name }}_touchpoints
    {%- endfor %}
),

observed as (
    -- a renewal term signed before its start lies ahead of the observation date:
    -- it has not happened yet, so it is not a touchpoint yet
    select unioned.*
    from unioned
    cross join as_of
    where unioned.touchpoint_at < as_of.as_of_end_at
),

scored as (
    select
        *,
        case
            when csat_score is not null and expectation_score is not null
                then csat_score - expectation_score
        end as expectation_gap
    from observed
),

final as (
    select
        touchpoint_id,
        customer_id,
        touchpoint_at,
        cast(touchpoint_at as date) as touchpoint_date,
        stage,
        {{ cx_journey_stage_number('stage') }} as stage_number,
        touchpoint_type,
        touchpoint_name,
        channel,
        source_id,
        nps_score,
        csat_score,
        ces_score,
        expectation_score,
        expectation_gap,
        {{ cx_is_negative_experience('nps_score', 'csat_score', 'ces_score', 'expectation_gap') }}
            as is_negative_experience,
        row_number() over (
            partition by customer_id
            order by touchpoint_at, touchpoint_id
        ) as customer_touchpoint_number
    from scored
)

select * from final
