{#
    The alert list of DOMAIN text 003: customers showing an early sign of a bad
    experience, while there is still time to act. One row per customer and reason,
    ranked by what is at stake (the customer's value in the reporting currency), then by how fresh
    the signal is. Thresholds are vars, so a team can tune the list without
    editing the model.
#}
{%- set detractor_days = var('cx_warning_detractor_days', 30) -%}
{%- set open_complaint_days = var('cx_warning_open_complaint_days', 7) -%}
{%- set activity_drop_share = var('cx_warning_activity_drop_share', 0.5) -%}
{%- set min_sessions = var('cx_warning_min_sessions', 3) -%}
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

churn_risk as (
    select * from {{ ref('fct_contract_churn_risk') }}
),

-- fresh_detractor: the latest NPS answer of 0-6 in the last detractor_days days
detractor_answers as (
    select
        survey_responses.customer_id,
        survey_responses.answered_at,
        survey_responses.score,
        row_number() over (
            partition by survey_responses.customer_id
            order by survey_responses.answered_at desc, survey_responses.response_id asc
        ) as recency_number
    from survey_responses
    cross join as_of
    where
        survey_responses.question_type = 'nps'
        and survey_responses.score <= 6
        and survey_responses.answered_at < as_of.as_of_end_at
        and survey_responses.answered_at
        >= {{ dbt.dateadd('day', -detractor_days, 'as_of.as_of_end_at') }}
),

fresh_detractors as (
    select
        customer_id,
        'fresh_detractor' as reason,
        answered_at as reason_at,
        {{ cx_as_double('score') }} as metric_value,
        {{ dbt.concat(["'nps answer '", "cast(score as " ~ dbt.type_string() ~ ")"]) }}
            as detail
    from detractor_answers
    where recency_number = 1
),

-- open_complaint: the oldest complaint still open and older than open_complaint_days
open_complaint_tickets as (
    select
        customer_id,
        opened_at,
        open_age_days,
        count(*) over (partition by customer_id) as open_complaints,
        row_number() over (
            partition by customer_id
            order by opened_at, ticket_id
        ) as age_number
    from tickets
    where
        is_complaint
        and is_open
        and open_age_days > {{ open_complaint_days }}
),

open_complaints as (
    select
        customer_id,
        'open_complaint' as reason,
        opened_at as reason_at,
        open_age_days as metric_value,
        {{ dbt.concat([
            "'open for '",
            "cast(round(open_age_days, 1) as " ~ dbt.type_string() ~ ")",
            "' days ('",
            "cast(open_complaints as " ~ dbt.type_string() ~ ")",
            "' open complaint(s))'",
        ]) }} as detail
    from open_complaint_tickets
    where age_number = 1
),

-- activity_drop: sessions per day in the last recent_days days against the
-- before_days days before them
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
        ) as before_sessions,
        max(sessions.session_started_at) as last_session_at
    from sessions
    cross join as_of
    where
        sessions.customer_id is not null
        and sessions.session_started_at < as_of.as_of_end_at
        and sessions.session_started_at
        >= {{ dbt.dateadd('day', -(recent_days + before_days), 'as_of.as_of_end_at') }}
    group by sessions.customer_id
),

session_rates as (
    select
        customer_id,
        before_sessions,
        recent_sessions,
        last_session_at,
        {{ cx_as_double('recent_sessions') }} / {{ recent_days }} as recent_sessions_per_day,
        {{ cx_as_double('before_sessions') }} / {{ before_days }} as before_sessions_per_day
    from session_windows
),

activity_drops as (
    select
        customer_id,
        'activity_drop' as reason,
        last_session_at as reason_at,
        recent_sessions_per_day / before_sessions_per_day as metric_value,
        {{ dbt.concat([
            "'sessions per 30 days '",
            "cast(round(30 * recent_sessions_per_day, 2) as " ~ dbt.type_string() ~ ")",
            "' (last " ~ recent_days ~ " days) vs '",
            "cast(round(30 * before_sessions_per_day, 2) as " ~ dbt.type_string() ~ ")",
            "' (" ~ before_days ~ " days before)'",
        ]) }} as detail
    from session_rates
    where
        before_sessions >= {{ min_sessions }}
        and recent_sessions_per_day < {{ activity_drop_share }} * before_sessions_per_day
),

warnings as (
    select * from fresh_detractors
    union all
    select * from open_complaints
    union all
    select * from activity_drops
),

customer_churn_risk as (
    select
        customer_id,
        max(churn_probability) as churn_probability,
        -- one model scores every term: its warning and flag are the same on each
        max(churn_model_warning) as churn_model_warning,
        min(case when is_churn_model_identified then 1 else 0 end) = 1
            as is_churn_model_identified
    from churn_risk
    group by customer_id
),

valued as (
    select
        warnings.customer_id,
        warnings.reason,
        warnings.reason_at,
        warnings.metric_value,
        warnings.detail,
        customers.segment,
        customers.customer_type,
        as_of.as_of_date,
        {{ cx_as_double('customer_churn_risk.churn_probability') }} as churn_probability,
        -- net of returns; null where the order history does not cover the last 12 months
        trailing_revenue.revenue_12m,
        {{ cx_as_double('clv.expected_clv_12m') }} as expected_clv_12m,
        clv.clv_model_warning,
        clv.is_clv_model_identified,
        customer_churn_risk.churn_model_warning,
        customer_churn_risk.is_churn_model_identified,
        -- a live contract is worth its fee for a year; a churned one nothing
        case
            when customers.subscription_status in ('active', 'notice_given', 'in_grace')
                then {{ cx_as_double('12 * customers.current_monthly_fee') }}
        end as contract_value_12m
    from warnings
    inner join customers
        on warnings.customer_id = customers.customer_id
    cross join as_of
    left join trailing_revenue
        on warnings.customer_id = trailing_revenue.customer_id
    left join clv
        on warnings.customer_id = clv.customer_id
    left join customer_churn_risk
        on warnings.customer_id = customer_churn_risk.customer_id
),

value_at_stake as (
    select
        *,
        -- forward-looking value (CLV or contract), never below what the customer
        -- paid in the last year: past revenue covers add-ons and customers no
        -- model scores; unknown when none of them is known
        {{ cx_value_at_stake('expected_clv_12m', 'contract_value_12m', 'revenue_12m') }}
            as value_at_stake
    from valued
),

final as (
    select
        {{ dbt.hash(dbt.concat(['customer_id', "'|'", 'reason'])) }} as warning_id,
        customer_id,
        reason,
        reason_at,
        cast(reason_at as date) as reason_date,
        detail,
        metric_value,
        segment,
        customer_type,
        revenue_12m,
        expected_clv_12m,
        contract_value_12m,
        value_at_stake,
        churn_probability,
        -- bigint on every engine (Spark's row_number is an int)
        cast(
            row_number() over (
                order by value_at_stake desc nulls last, reason_at desc, customer_id asc, reason asc
            ) as {{ dbt.type_bigint() }}
        ) as priority_rank,
        as_of_date,
        -- the fitted models behind this row's CLV and churn probability; a model the
        -- row does not use (no score joined) neither warns nor counts as unidentified
        {{ cx_join_warnings(['clv_model_warning', 'churn_model_warning']) }} as model_warnings,
        coalesce(is_clv_model_identified, true)
        and coalesce(is_churn_model_identified, true) as are_models_identified
    from value_at_stake
)

select * from final
