{#
    Churn features of contract terms, one row per known term (int_subscription_terms_renewed):
    the only definition of the churn model's inputs. The Python fit and backtest read
    this table, and fct_contract_churn_risk scores its current terms.
    Cut-off = end_date + 1 day - lead days, never before the term's start (a monthly
    term is shorter than the lead) and never after the end of the observation date (a
    current term is scored with what is known now); every feature reads only rows
    stamped before it. The label is the terms model's: 1 churned, 0 renewed, NULL
    while neither. A built-in feature whose raw table was not observed is NULL, not 0
    (churn_feature_catalog says why); extra columns declared as churn features
    (cx_extra_columns) follow the built-in ones.
#}
{{ config(materialized='table') }}
{%- set lead_days = var('cx_churn_lead_days', 30) | int -%}
{%- set session_timeout_minutes = var('cx_session_timeout_minutes', 30) | int -%}
{%- set web_days = 91 -%}
{%- set web_baseline_days = 273 -%}
{%- set customer_extras = [] -%}
{%- set subscription_extras = [] -%}
{%- for feature in cx_churn_features() if feature.origin == 'cx_extra_columns' -%}
    {%- if feature.sources[0] == 'customers' -%}
        {%- do customer_extras.append(feature.name) -%}
    {%- else -%}
        {%- do subscription_extras.append(feature.name) -%}
    {%- endif -%}
{%- endfor -%}

with

terms as (
    select * from {{ ref('int_subscription_terms_renewed') }}
),

subscriptions as (
    select * from {{ ref('stg_crm__subscriptions') }}
),

customers as (
    select * from {{ ref('stg_crm__customers') }}
),

tickets as (
    select * from {{ ref('stg_crm__tickets') }}
),

survey_responses as (
    select * from {{ ref('stg_surveys__survey_responses') }}
),

events as (
    select * from {{ ref('stg_web__events') }}
),

orders as (
    select * from {{ ref('stg_crm__orders') }}
),

order_lines as (
    select * from {{ ref('stg_crm__order_lines') }}
),

scored_terms as (
    select
        subscription_id,
        customer_id,
        start_date,
        end_date,
        term_months,
        tenure_months_at_start,
        monthly_fee,
        as_of_date,
        is_current,
        is_churned,
        is_renewed,
        churn_date,
        cast(start_date as timestamp) as term_start_at,
        -- the lead before the end, but inside the term and not past what is known
        greatest(
            cast(start_date as timestamp),
            least(
                {{ dbt.dateadd('day', 1 - lead_days, 'cast(end_date as timestamp)') }},
                {{ dbt.dateadd('day', 1, 'cast(as_of_date as timestamp)') }}
            )
        ) as cutoff_at
    from terms
),

answers_before_cutoff as (
    select
        scored_terms.subscription_id,
        survey_responses.response_id,
        survey_responses.question_type,
        survey_responses.score,
        survey_responses.answered_at,
        survey_responses.answered_at >= scored_terms.term_start_at as is_in_term
    from scored_terms
    inner join survey_responses
        on
            scored_terms.customer_id = survey_responses.customer_id
            and scored_terms.cutoff_at > survey_responses.answered_at
),

survey_features as (
    select
        subscription_id,
        max(
            case when question_type = 'nps' and is_in_term and score <= 6 then 1 else 0 end
        ) as is_detractor_in_term,
        avg(case when question_type = 'csat' and is_in_term then score end) as csat_mean,
        avg(case when question_type = 'ces' and is_in_term then score end) as ces_mean
    from answers_before_cutoff
    group by subscription_id
),

ranked_nps as (
    select
        subscription_id,
        score,
        row_number() over (
            partition by subscription_id
            order by answered_at desc, response_id desc
        ) as answer_rank
    from answers_before_cutoff
    where question_type = 'nps'
),

latest_nps as (
    select
        subscription_id,
        score as latest_nps
    from ranked_nps
    where answer_rank = 1
),

ticket_features as (
    select
        scored_terms.subscription_id,
        count(*) as ticket_count,
        -- the mean of integers: Spark averages decimal literals (1.0, 0.0) as a decimal
        -- rounded to 5 places, DuckDB as a double
        avg(
            case
                when
                    tickets.agent_contact_count = 1 and tickets.reopen_count = 0
                    and tickets.resolved_at is not null
                    then 1
                else 0
            end
        ) as fcr_share,
        max(
            case
                when
                    tickets.is_complaint
                    and (
                        tickets.resolved_at is null
                        or tickets.resolved_at >= scored_terms.cutoff_at
                    )
                    then 1
                else 0
            end
        ) as has_unresolved_complaint
    from scored_terms
    inner join tickets
        on
            scored_terms.customer_id = tickets.customer_id
            and scored_terms.term_start_at <= tickets.opened_at
            and scored_terms.cutoff_at > tickets.opened_at
    group by scored_terms.subscription_id
),

device_links as (
    select
        anonymous_id,
        user_id as customer_id,
        event_at as linked_at,
        row_number() over (
            partition by anonymous_id
            order by event_at, event_id
        ) as link_rank
    from events
    where
        anonymous_id is not null
        and user_id is not null
),

stitched_events as (
    select
        events.event_id,
        events.event_at,
        coalesce(events.user_id, device_links.customer_id) as customer_id,
        case
            when events.user_id is not null then events.event_at
            else device_links.linked_at
        end as attributed_at
    from events
    left join device_links
        on
            events.anonymous_id = device_links.anonymous_id
            and device_links.link_rank = 1
),

customer_events as (
    select
        customer_id,
        event_at,
        attributed_at,
        lag(event_at) over (
            partition by customer_id
            order by event_at, event_id
        ) as previous_event_at
    from stitched_events
    where customer_id in (select scored_terms.customer_id from scored_terms)
),

sessions as (
    select
        customer_id,
        event_at as session_started_at,
        attributed_at
    from customer_events
    where
        previous_event_at is null
        or event_at >= {{ dbt.dateadd('minute', session_timeout_minutes, 'previous_event_at') }}
),

web_features as (
    select
        scored_terms.subscription_id,
        sum(
            case
                when
                    sessions.session_started_at
                    >= {{ dbt.dateadd('day', -web_days, 'scored_terms.cutoff_at') }}
                    then 1
                else 0
            end
        ) as web_sessions_recent,
        sum(
            case
                when
                    sessions.session_started_at
                    < {{ dbt.dateadd('day', -web_days, 'scored_terms.cutoff_at') }}
                    then 1
                else 0
            end
        ) as web_sessions_baseline
    from scored_terms
    inner join sessions
        on
            scored_terms.customer_id = sessions.customer_id
            and sessions.session_started_at
            >= {{ dbt.dateadd('day', -(web_days + web_baseline_days), 'scored_terms.cutoff_at') }}
            and scored_terms.cutoff_at > sessions.session_started_at
            and scored_terms.cutoff_at > sessions.attributed_at
    group by scored_terms.subscription_id
),

discount_features as (
    select
        scored_terms.subscription_id,
        -- a ratio of doubles: DuckDB divides decimals as doubles, Spark would round the
        -- quotient to 6 decimals
        1.0 - {{ cx_as_double('sum(order_lines.realised_price * order_lines.quantity)') }}
        / nullif({{ cx_as_double('sum(order_lines.list_price * order_lines.quantity)') }}, 0)
            as discount_depth
    from scored_terms
    inner join orders
        on
            scored_terms.customer_id = orders.customer_id
            and scored_terms.term_start_at <= orders.ordered_at
            and scored_terms.cutoff_at > orders.ordered_at
            and orders.order_status = 'completed'
    inner join order_lines
        on orders.order_id = order_lines.order_id
    group by scored_terms.subscription_id
),

final as (
    select
        scored_terms.subscription_id,
        scored_terms.customer_id,
        scored_terms.start_date,
        scored_terms.end_date,
        scored_terms.cutoff_at,
        scored_terms.as_of_date,
        scored_terms.is_current,
        case
            when scored_terms.is_churned then scored_terms.churn_date
            when scored_terms.is_renewed then scored_terms.end_date
        end as outcome_date,
        {{ cx_coalesce_observed('survey_features.is_detractor_in_term', 'survey_responses') }}
            as is_detractor_in_term,
        latest_nps.latest_nps,
        survey_features.csat_mean,
        survey_features.ces_mean,
        {{ cx_coalesce_observed('ticket_features.has_unresolved_complaint', 'tickets') }}
            as has_unresolved_complaint,
        {{ cx_coalesce_observed('ticket_features.ticket_count', 'tickets') }} as ticket_count,
        ticket_features.fcr_share,
        {{ cx_coalesce_observed('web_features.web_sessions_recent', 'events') }}
            as web_sessions_recent,
        {{ cx_coalesce_observed('web_features.web_sessions_baseline', 'events') }}
            as web_sessions_baseline,
        case
            when {{ cx_observed('events') }}
                -- a ratio of doubles, as for discount_depth: Spark's decimal literals
                -- would round the quotient to 6 decimals
                then ln(
                    {{ cx_as_double(
                        'coalesce(web_features.web_sessions_baseline, 0) * '
                        ~ (web_days / web_baseline_days) ~ ' + 1') }}
                    / {{ cx_as_double('coalesce(web_features.web_sessions_recent, 0) + 1') }}
                )
        end as web_sessions_drop,
        discount_features.discount_depth,
        scored_terms.tenure_months_at_start,
        scored_terms.term_months,
        {{ cx_as_double('scored_terms.monthly_fee') }} as monthly_fee,
        {%- for name in customer_extras %}
        customers.{{ name }},
        {%- endfor %}
        {%- for name in subscription_extras %}
        subscriptions.{{ name }},
        {%- endfor %}
        case
            when scored_terms.is_churned then 1
            when scored_terms.is_renewed then 0
        end as is_churned
    from scored_terms
    left join survey_features
        on scored_terms.subscription_id = survey_features.subscription_id
    left join latest_nps
        on scored_terms.subscription_id = latest_nps.subscription_id
    left join ticket_features
        on scored_terms.subscription_id = ticket_features.subscription_id
    left join web_features
        on scored_terms.subscription_id = web_features.subscription_id
    left join discount_features
        on scored_terms.subscription_id = discount_features.subscription_id
    left join customers
        on scored_terms.customer_id = customers.customer_id
    left join subscriptions
        on scored_terms.subscription_id = subscriptions.subscription_id
)

select * from final
