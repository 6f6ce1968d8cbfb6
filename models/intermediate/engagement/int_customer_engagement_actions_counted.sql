{#
    What each customer did besides paying, counted per customer of dim_customers
    over the 12 months up to the end of the journey observation date
    (int_observation_date): influence actions and visits in attributed web sessions,
    questionnaires answered and comments written. Also the two non-monetary
    inputs of the priority score: the latest NPS answer (any time up to the
    observation date) and the trend of completed-order revenue, net of returns
    (last 12 months against the 12 before). A count is 0 only where its source was
    exported (null otherwise); a trailing revenue is null unless the order history
    reaches back over its whole period, so a short history is not read as growth.

    12 months because the counts are turned into money per year and set beside a
    12-month CLV: last year's behaviour is read as next year's flow. Only
    attributed sessions count (logged in or stitched); shared-device and
    anonymous sessions are nobody's (DECISIONLOG "Identity").
#}
with

customers as (
    select * from {{ ref('dim_customers') }}
),

as_of as (
    select * from {{ ref('int_observation_date') }}
),

sessions as (
    select * from {{ ref('fct_web_sessions') }}
),

touchpoints as (
    select * from {{ ref('fct_journey_touchpoints') }}
),

survey_responses as (
    select * from {{ ref('stg_surveys__survey_responses') }}
),

trailing_revenue as (
    select * from {{ ref('int_customer_revenue_trailing') }}
),

web_actions as (
    select
        sessions.customer_id,
        count(*) as sessions_12m,
        sum(sessions.share_count) as shares_12m,
        sum(sessions.comment_count) as web_comments_12m,
        sum(sessions.review_count) as reviews_12m,
        sum(sessions.referral_click_count) as referral_clicks_12m,
        sum({{ cx_as_double('sessions.session_duration_seconds') }}) / 60.0 as minutes_on_site_12m,
        max(sessions.session_date) as last_visit_date
    from sessions
    cross join as_of
    where
        sessions.customer_id is not null
        and sessions.session_started_at < as_of.as_of_end_at
        and sessions.session_started_at >= {{ dbt.dateadd('month', -12, 'as_of.as_of_end_at') }}
    group by sessions.customer_id
),

questionnaires as (
    select
        touchpoints.customer_id,
        count(*) as questionnaires_12m
    from touchpoints
    cross join as_of
    where
        touchpoints.touchpoint_type = 'survey'
        and touchpoints.touchpoint_at < as_of.as_of_end_at
        and touchpoints.touchpoint_at >= {{ dbt.dateadd('month', -12, 'as_of.as_of_end_at') }}
    group by touchpoints.customer_id
),

survey_comments as (
    -- a blank comment is an empty text box, not feedback
    select
        survey_responses.customer_id,
        count(*) as survey_comments_12m
    from survey_responses
    cross join as_of
    where
        survey_responses.comment_text is not null
        and trim(survey_responses.comment_text) <> ''
        and survey_responses.answered_at < as_of.as_of_end_at
        and survey_responses.answered_at >= {{ dbt.dateadd('month', -12, 'as_of.as_of_end_at') }}
    group by survey_responses.customer_id
),

nps_answers as (
    select
        touchpoints.customer_id,
        touchpoints.nps_score,
        row_number() over (
            partition by touchpoints.customer_id
            order by touchpoints.touchpoint_at desc, touchpoints.touchpoint_id desc
        ) as recency_rank
    from touchpoints
    cross join as_of
    where
        touchpoints.nps_score is not null
        and touchpoints.touchpoint_at < as_of.as_of_end_at
),

latest_nps as (
    select
        customer_id,
        nps_score as latest_nps_score
    from nps_answers
    where recency_rank = 1
),

history as (
    -- what the export can say: a count is 0 only where its source was exported
    select
        {{ cx_observed('events') }} as is_web_observed,
        {{ cx_observed('survey_responses') }} as is_survey_observed
    from as_of
),

final as (
    select
        customers.customer_id,
        as_of.as_of_date,
        {%- for column in ['sessions_12m', 'shares_12m', 'web_comments_12m', 'reviews_12m', 'referral_clicks_12m'] %}
            cast(
                case when history.is_web_observed then coalesce(web_actions.{{ column }}, 0) end
                as {{ dbt.type_bigint() }}
            ) as {{ column }},
        {%- endfor %}
        {{ cx_as_double(
            'case when history.is_web_observed then coalesce(web_actions.minutes_on_site_12m, 0) end'
        ) }} as minutes_on_site_12m,
        web_actions.last_visit_date,
        {{ dbt.datediff('web_actions.last_visit_date', 'as_of.as_of_date', 'day') }}
            as days_since_last_visit,
        cast(
            case when history.is_survey_observed then coalesce(questionnaires.questionnaires_12m, 0) end
            as {{ dbt.type_bigint() }}
        ) as questionnaires_12m,
        cast(
            case when history.is_survey_observed then coalesce(survey_comments.survey_comments_12m, 0) end
            as {{ dbt.type_bigint() }}
        ) as survey_comments_12m,
        latest_nps.latest_nps_score,
        trailing_revenue.revenue_12m,
        trailing_revenue.revenue_prior_12m
    from customers
    cross join as_of
    cross join history
    left join web_actions
        on customers.customer_id = web_actions.customer_id
    left join questionnaires
        on customers.customer_id = questionnaires.customer_id
    left join survey_comments
        on customers.customer_id = survey_comments.customer_id
    left join latest_nps
        on customers.customer_id = latest_nps.customer_id
    left join trailing_revenue
        on customers.customer_id = trailing_revenue.customer_id
)

select * from final
