{#
    One row per customer: a weighted health score 0-100 (DOMAIN §2) from five
    components, each scored 0-100 on the observation date (int_observation_date), a
    colour band, the usage trend, the model outputs a customer-success team reads
    beside it (P(alive), churn probability and drivers, expected CLV), and a
    recommended action with a priority for the riskiest valuable customers.
    A missing component is left out and the remaining weights are rescaled, so a
    customer is scored on what is known about them, not penalised for silence. A
    component is missing when its source was not exported (no tickets at all is not
    "no open complaint") or the customer has no data in it; a score needs at least
    var cx_health_min_components (2) components, or it is null with band `unknown`.
#}
{%- set weights = cx_health_weights() -%}
{%- set green_min = var('cx_health_green_min', 70) -%}
{%- set amber_min = var('cx_health_amber_min', 40) -%}
{%- set p_alive_threshold = var('cx_churn_p_alive_threshold', 0.5) -%}
{%- set min_sessions = var('cx_health_min_sessions', 3) -%}
{%- set falling_ratio = var('cx_health_usage_falling_ratio', 0.8) -%}
{%- set rising_ratio = var('cx_health_usage_rising_ratio', 1.25) -%}
{%- set complaint_penalty = var('cx_health_open_complaint_penalty', 60) -%}
{%- set min_components = var('cx_health_min_components', 2) | int -%}
{%- set recent_days = 90 -%}
{%- set before_days = 180 -%}

with

as_of as (
    select * from {{ ref('int_observation_date') }}
),

customers as (
    select * from {{ ref('dim_customers') }}
),

survey_responses as (
    select * from {{ ref('stg_surveys__survey_responses') }}
),

tickets as (
    select * from {{ ref('int_tickets_measured') }}
),

sessions as (
    select * from {{ ref('fct_web_sessions') }}
),

trailing_revenue as (
    select * from {{ ref('int_customer_revenue_trailing') }}
),

clv as (
    select * from {{ ref('fct_customer_clv') }}
),

retention as (
    select * from {{ ref('fct_customer_retention') }}
),

churn_risk as (
    select * from {{ ref('fct_contract_churn_risk') }}
),

-- latest NPS and CES answer known on the observation date
ranked_answers as (
    select
        survey_responses.customer_id,
        survey_responses.question_type,
        survey_responses.score,
        row_number() over (
            partition by survey_responses.customer_id, survey_responses.question_type
            order by survey_responses.answered_at desc, survey_responses.response_id desc
        ) as recency_number
    from survey_responses
    cross join as_of
    where
        survey_responses.question_type in ('nps', 'ces')
        and survey_responses.answered_at < as_of.as_of_end_at
),

latest_answers as (
    select
        customer_id,
        max(case when question_type = 'nps' then score end) as latest_nps_score,
        max(case when question_type = 'ces' then score end) as latest_ces_score
    from ranked_answers
    where recency_number = 1
    group by customer_id
),

open_complaints as (
    select
        customer_id,
        count(*) as open_complaints
    from tickets
    where is_complaint and is_open
    group by customer_id
),

-- sessions in the last 90 days against the 180 days before, as in the early warnings
session_windows as (
    select
        sessions.customer_id,
        sum(
            case
                when
                    sessions.session_started_at
                    >= {{ dbt.dateadd('day', -recent_days, 'as_of.as_of_end_at') }}
                    then 1
                else 0
            end
        ) as recent_sessions,
        sum(
            case
                when
                    sessions.session_started_at
                    < {{ dbt.dateadd('day', -recent_days, 'as_of.as_of_end_at') }}
                    then 1
                else 0
            end
        ) as before_sessions
    from sessions
    cross join as_of
    where
        sessions.customer_id is not null
        and sessions.session_started_at < as_of.as_of_end_at
        and sessions.session_started_at
        >= {{ dbt.dateadd('day', -(recent_days + before_days), 'as_of.as_of_end_at') }}
    group by sessions.customer_id
),

usage_ratios as (
    select
        customer_id,
        recent_sessions,
        before_sessions,
        -- per-day rates: the windows differ in length
        ({{ cx_as_double('recent_sessions') }} / {{ recent_days }})
        / ({{ cx_as_double('before_sessions') }} / {{ before_days }}) as usage_ratio
    from session_windows
    -- too few earlier sessions make the ratio noise, not a trend
    where before_sessions >= {{ min_sessions }}
),

latest_churn_risk as (
    select
        customer_id,
        churn_probability,
        risk_band,
        top_driver_1,
        top_driver_2,
        top_driver_3,
        churn_model_warning,
        is_churn_model_identified,
        row_number() over (
            partition by customer_id
            order by end_date desc, subscription_id desc
        ) as recency_number
    from churn_risk
),

inputs as (
    select
        customers.customer_id,
        customers.segment,
        customers.customer_type,
        customers.subscription_status,
        as_of.as_of_date,
        latest_answers.latest_nps_score,
        latest_answers.latest_ces_score,
        -- none is 0 only where the source was exported: no ticket data is not "no complaint"
        {{ cx_coalesce_observed('open_complaints.open_complaints', 'tickets') }} as open_complaints,
        {{ cx_coalesce_observed('session_windows.recent_sessions', 'events') }} as recent_sessions,
        {{ cx_coalesce_observed('session_windows.before_sessions', 'events') }} as before_sessions,
        usage_ratios.usage_ratio,
        {{ cx_as_double('clv.p_alive') }} as p_alive,
        {{ cx_as_double('clv.expected_clv_12m') }} as expected_clv_12m,
        {{ cx_as_double('retention.renewal_probability') }} as renewal_probability,
        {{ cx_as_double('latest_churn_risk.churn_probability') }} as churn_probability,
        latest_churn_risk.risk_band as churn_risk_band,
        latest_churn_risk.top_driver_1,
        latest_churn_risk.top_driver_2,
        latest_churn_risk.top_driver_3,
        clv.clv_model_warning,
        clv.is_clv_model_identified,
        retention.retention_model_warning,
        retention.is_retention_model_identified,
        latest_churn_risk.churn_model_warning,
        latest_churn_risk.is_churn_model_identified,
        -- null where the order history does not cover the last 12 months
        trailing_revenue.revenue_12m,
        -- a live contract is worth its fee for a year; a churned one nothing
        case
            when customers.subscription_status in ('active', 'notice_given', 'in_grace')
                then {{ cx_as_double('12 * customers.current_monthly_fee') }}
        end as contract_value_12m
    from customers
    cross join as_of
    left join latest_answers
        on customers.customer_id = latest_answers.customer_id
    left join open_complaints
        on customers.customer_id = open_complaints.customer_id
    left join session_windows
        on customers.customer_id = session_windows.customer_id
    left join usage_ratios
        on customers.customer_id = usage_ratios.customer_id
    left join clv
        on customers.customer_id = clv.customer_id
    left join retention
        on customers.customer_id = retention.customer_id
    left join latest_churn_risk
        on
            customers.customer_id = latest_churn_risk.customer_id
            and latest_churn_risk.recency_number = 1
    left join trailing_revenue
        on customers.customer_id = trailing_revenue.customer_id
),

components as (
    select
        *,
        case
            when latest_nps_score >= 9 then 'promoter'
            when latest_nps_score >= 7 then 'passive'
            when latest_nps_score >= 0 then 'detractor'
        end as nps_class,
        case
            when latest_nps_score >= 9 then 100.0
            when latest_nps_score >= 7 then 50.0
            when latest_nps_score >= 0 then 0.0
        end as nps_component,
        -- CES 1-7 mapped linearly onto 0-100
        100.0 * ({{ cx_as_double('latest_ces_score') }} - 1) / 6 as ces_component,
        -- no open complaint in an exported ticket table is a known 100; no ticket table
        -- is unknown (case, not greatest/least: DuckDB's skip NULL arguments)
        case
            when open_complaints is not null
                then
                    greatest(
                        0.0, 100.0 - {{ complaint_penalty }} * {{ cx_as_double('open_complaints') }}
                    )
        end as complaint_component,
        -- holding the earlier session rate scores 100; a fall scores its ratio
        case when usage_ratio is not null then 100.0 * least(1.0, usage_ratio) end
            as usage_component,
        -- the chance the customer stays: the open term's scored churn risk first
        -- (it reads the term's own signals), else the sBG renewal probability of a
        -- live contract, 0 for a churned contract, else P(alive) of a one-off buyer
        case
            when churn_probability is not null then 100.0 * (1 - churn_probability)
            when renewal_probability is not null then 100.0 * renewal_probability
            when subscription_status = 'churned' then 0.0
            when p_alive is not null then 100.0 * p_alive
        end as survival_component,
        {{ cx_value_at_stake('expected_clv_12m', 'contract_value_12m', 'revenue_12m') }}
            as value_at_stake
    from inputs
),

component_weights as (
    -- the weight of each component the customer has; 0 for a missing one, so the
    -- remaining weights are rescaled below
    select
        *,
        {%- for name, weight in weights.items() %}
            case
                when {{ name }}_component is not null then {{ weight }}
                else 0
            end as {{ name }}_weight,
        {%- endfor %}
        (case when nps_component is null then 0 else 1 end)
        + (case when ces_component is null then 0 else 1 end)
        + (case when complaint_component is null then 0 else 1 end)
        + (case when usage_component is null then 0 else 1 end)
        + (case when survival_component is null then 0 else 1 end) as components_present
    from components
),

weighted as (
    select
        *,
        nps_weight + ces_weight + complaint_weight + usage_weight + survival_weight
            as weight_present,
        coalesce(nps_weight * nps_component, 0)
        + coalesce(ces_weight * ces_component, 0)
        + coalesce(complaint_weight * complaint_component, 0)
        + coalesce(usage_weight * usage_component, 0)
        + coalesce(survival_weight * survival_component, 0) as weighted_sum
    from component_weights
),

scored as (
    select
        *,
        -- four decimals: enough to rank, and a band edge is not decided by rounding noise;
        -- one component alone is that component, not a health score
        case
            when weight_present > 0 and components_present >= {{ min_components }}
                then round(weighted_sum / weight_present, 4)
        end as health_score
    from weighted
),

banded as (
    select
        *,
        case
            when health_score >= {{ green_min }} then 'green'
            when health_score >= {{ amber_min }} then 'amber'
            when health_score is not null then 'red'
            else 'unknown'
        end as health_band,
        case
            when usage_ratio is null then null
            when usage_ratio < {{ falling_ratio }} then 'falling'
            when usage_ratio > {{ rising_ratio }} then 'rising'
            else 'stable'
        end as usage_trend,
        -- a contract says it; else P(alive) of a one-off buyer; else unknown
        case
            when subscription_status = 'churned' then true
            when subscription_status in ('active', 'notice_given', 'in_grace') then false
            when p_alive is not null then p_alive < {{ p_alive_threshold }}
        end as is_churned
    from scored
),

actioned as (
    -- the rule table, first match wins; only customers still worth saving (value
    -- at stake above 0, not churned) get an action
    select
        *,
        case
            when coalesce(is_churned, false) or value_at_stake <= 0 then null
            -- an open complaint is the fixable driver wherever the customer is at risk:
            -- an adoption check-in while it is unresolved would only annoy
            when health_band in ('red', 'amber') and open_complaints > 0
                then 'resolve complaint: call within 48 h'
            when health_band = 'red' and nps_class = 'detractor'
                then 'executive outreach'
            when health_band in ('red', 'amber') and usage_trend = 'falling'
                then 'adoption check-in'
        end as recommended_action
    from banded
),

final as (
    select
        customer_id,
        segment,
        customer_type,
        subscription_status,
        cast(latest_nps_score as {{ dbt.type_int() }}) as latest_nps_score,
        nps_class,
        -- components shown to four decimals, like the score; the score uses them unrounded
        round({{ cx_as_double('nps_component') }}, 4) as nps_component,
        cast(latest_ces_score as {{ dbt.type_int() }}) as latest_ces_score,
        round({{ cx_as_double('ces_component') }}, 4) as ces_component,
        cast(open_complaints as {{ dbt.type_bigint() }}) as open_complaints,
        round({{ cx_as_double('complaint_component') }}, 4) as complaint_component,
        cast(recent_sessions as {{ dbt.type_bigint() }}) as recent_sessions,
        cast(before_sessions as {{ dbt.type_bigint() }}) as before_sessions,
        {{ cx_as_double('usage_ratio') }} as usage_ratio,
        round({{ cx_as_double('usage_component') }}, 4) as usage_component,
        usage_trend,
        round({{ cx_as_double('survival_component') }}, 4) as survival_component,
        cast(components_present as {{ dbt.type_int() }}) as components_present,
        {{ cx_as_double('health_score') }} as health_score,
        health_band,
        p_alive,
        renewal_probability,
        churn_probability,
        churn_risk_band,
        top_driver_1,
        top_driver_2,
        top_driver_3,
        is_churned,
        expected_clv_12m,
        revenue_12m,
        contract_value_12m,
        {{ cx_as_double('value_at_stake') }} as value_at_stake,
        recommended_action,
        case
            -- bigint on every engine (Spark's row_number is an int)
            when recommended_action is not null
                then cast(
                    row_number() over (
                        order by
                            case when recommended_action is null then 1 else 0 end,
                            value_at_stake desc nulls last,
                            health_score asc,
                            customer_id asc
                    ) as {{ dbt.type_bigint() }}
                )
        end as action_priority_rank,
        as_of_date,
        -- the fitted models behind this row's scores: a model the row does not use
        -- (no score joined) neither warns nor counts as unidentified
        {{ cx_join_warnings(['clv_model_warning', 'retention_model_warning', 'churn_model_warning']) }}
            as model_warnings,
        coalesce(is_clv_model_identified, true)
        and coalesce(is_retention_model_identified, true)
        and coalesce(is_churn_model_identified, true) as are_models_identified
    from actioned
)

select * from final
