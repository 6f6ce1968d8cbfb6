{#
    One row per customer who existed before the outcome window: the CX measured
    before the window (NPS answers) and the outcomes inside it (spend, margin,
    orders, referrals, contract renewals). The CX-value and NPS-outcome marts
    aggregate this table, so both read one definition of "before" and "in".
#}
{{ config(materialized='table') }}

with

customers as (
    select * from {{ ref('stg_crm__customers') }}
),

survey_responses as (
    select * from {{ ref('stg_surveys__survey_responses') }}
),

order_lines as (
    select * from {{ ref('int_order_lines_valued') }}
),

referrals as (
    select * from {{ ref('stg_crm__referrals') }}
),

terms as (
    select * from {{ ref('int_subscription_terms_renewed') }}
),

journey_as_of as (
    select * from {{ ref('int_observation_date') }}
),

windows as (
    -- 12 months, by default the 12 months that end with the observation date
    -- (exclusive end = the midnight after it), so the outcomes are all observed.
    select
        {%- if var('cx_cx_value_window_start', none) %}
            cast('{{ var("cx_cx_value_window_start") }}' as date) as window_start_date,
            cast(
                {{ dbt.dateadd('month', 12, "cast('" ~ var('cx_cx_value_window_start') ~ "' as date)") }}
                as date
            ) as window_end_date,
        {%- else %}
            cast({{ dbt.dateadd('month', -12, 'as_of_end_at') }} as date) as window_start_date,
            cast(as_of_end_at as date) as window_end_date,
        {%- endif %}
        as_of_date
    from journey_as_of
),

window_timestamps as (
    select
        window_start_date,
        window_end_date,
        as_of_date,
        cast(window_start_date as {{ dbt.type_timestamp() }}) as window_start_at,
        cast(window_end_date as {{ dbt.type_timestamp() }}) as window_end_at
    from windows
),

window_bounds as (
    -- what the data can say about the window: an unobserved source gives null
    -- outcomes, and so does an order history that starts inside the window (its
    -- spend would be a part-year read as a whole one)
    select
        *,
        {{ cx_observed(['orders', 'order_lines']) }}
        and {{ cx_history_covers('orders', 'window_start_at') }} as is_spend_observed,
        {{ cx_observed('survey_responses') }} as is_surveys_observed,
        {{ cx_observed('referrals') }} as is_referrals_observed,
        {{ cx_observed('subscriptions') }} as is_terms_observed
    from window_timestamps
),

population as (
    -- only customers who could have been measured before the window opened
    select
        customers.customer_id,
        customers.customer_type,
        customers.created_at,
        window_bounds.window_start_date,
        window_bounds.window_end_date,
        window_bounds.window_start_at,
        window_bounds.window_end_at,
        window_bounds.is_spend_observed,
        window_bounds.is_surveys_observed,
        window_bounds.is_referrals_observed,
        window_bounds.is_terms_observed
    from customers
    cross join window_bounds
    where customers.created_at < window_bounds.window_start_at
),

nps_answers_before as (
    select
        survey_responses.response_id,
        survey_responses.customer_id,
        survey_responses.touchpoint,
        survey_responses.answered_at,
        survey_responses.score
    from survey_responses
    inner join population
        on survey_responses.customer_id = population.customer_id
    where
        survey_responses.question_type = 'nps'
        and survey_responses.answered_at < population.window_start_at
),

ranked_nps_answers as (
    select
        *,
        row_number() over (
            partition by customer_id
            order by answered_at desc, response_id desc
        ) as recency_rank
    from nps_answers_before
),

ranked_relationship_answers as (
    -- the band: the relationship survey asks every customer the same question at
    -- the same time, unlike the touchpoint surveys that follow events
    select
        customer_id,
        answered_at,
        score,
        row_number() over (
            partition by customer_id
            order by answered_at desc, response_id desc
        ) as recency_rank
    from nps_answers_before
    where touchpoint = 'relationship_survey'
),

nps_summaries as (
    select
        customer_id,
        count(*) as nps_answers_before_window,
        avg({{ cx_as_double('score') }}) as mean_nps_score,
        max(case when recency_rank = 1 then score end) as latest_nps_score
    from ranked_nps_answers
    group by customer_id
),

relationship_answers as (
    select
        customer_id,
        score as relationship_nps_score,
        answered_at as relationship_answered_at
    from ranked_relationship_answers
    where recency_rank = 1
),

scored_answers_before as (
    -- every 0-100 rescaled answer of the year before the window, for the CX index
    select
        survey_responses.customer_id,
        case survey_responses.question_type
            when 'nps' then 100 * {{ cx_as_double('survey_responses.score') }} / 10
            when 'csat' then 100 * ({{ cx_as_double('survey_responses.score') }} - 1) / 4
            when 'ces' then 100 * ({{ cx_as_double('survey_responses.score') }} - 1) / 6
        end as rescaled_score
    from survey_responses
    inner join population
        on survey_responses.customer_id = population.customer_id
    where
        survey_responses.question_type in ('nps', 'csat', 'ces')
        and survey_responses.answered_at < population.window_start_at
        and survey_responses.answered_at
        >= {{ dbt.dateadd('month', -12, 'population.window_start_at') }}
),

cx_indices as (
    select
        customer_id,
        avg(rescaled_score) as cx_index,
        count(*) as cx_index_answers
    from scored_answers_before
    group by customer_id
),

window_spend as (
    -- completed one-off purchases net of returns and credit notes issued in the
    -- window; bills of contract terms are renewal revenue, measured by the terms
    select
        order_lines.customer_id,
        count(
            distinct case when not order_lines.is_return then order_lines.order_id end
        ) as window_orders,
        sum(order_lines.revenue) as window_revenue,
        sum(order_lines.revenue - order_lines.cost) as window_margin
    from order_lines
    inner join population
        on order_lines.customer_id = population.customer_id
    where
        order_lines.is_completed
        and order_lines.revenue_stream = 'one_off'
        and order_lines.ordered_at >= population.window_start_at
        and order_lines.ordered_at < population.window_end_at
    group by order_lines.customer_id
),

window_referrals as (
    select
        referrals.referrer_customer_id as customer_id,
        count(*) as window_referrals
    from referrals
    inner join population
        on referrals.referrer_customer_id = population.customer_id
    where
        referrals.referred_at >= population.window_start_at
        and referrals.referred_at < population.window_end_at
    group by referrals.referrer_customer_id
),

window_terms as (
    -- A term's renewal outcome is read only once it is decided (renewed or churned
    -- by the observation date); an undecided term counts in neither.
    select
        terms.customer_id,
        count(*) as terms_ending_in_window,
        sum(case when terms.is_renewed or terms.is_churned then 1 else 0 end) as terms_decided,
        sum(case when terms.is_renewed then 1 else 0 end) as terms_renewed,
        sum(12 * terms.monthly_fee) as annual_fee_ending
    from terms
    inner join population
        on terms.customer_id = population.customer_id
    where
        terms.end_date >= population.window_start_date
        and terms.end_date < population.window_end_date
    group by terms.customer_id
),

final as (
    select
        population.customer_id,
        population.customer_type,
        population.created_at as acquired_at,
        population.window_start_date,
        population.window_end_date,
        relationship_answers.relationship_nps_score,
        relationship_answers.relationship_answered_at,
        {{ cx_band_of_nps('relationship_answers.relationship_nps_score') }} as cx_band,
        case
            when relationship_answers.relationship_nps_score >= 9 then 3
            when relationship_answers.relationship_nps_score >= 7 then 2
            when relationship_answers.relationship_nps_score >= 0 then 1
        end as cx_band_number,
        nps_summaries.latest_nps_score,
        {{ cx_nps_class('nps_summaries.latest_nps_score') }} as latest_nps_class,
        nps_summaries.mean_nps_score,
        cx_indices.cx_index,
        -- a customer without answers, orders or referrals has 0 of them only where the
        -- source was observed (and, for spend, covers the whole window)
        cast(
            case when population.is_surveys_observed then coalesce(cx_indices.cx_index_answers, 0) end
            as {{ dbt.type_bigint() }}
        ) as cx_index_answers,
        cast(
            case
                when population.is_surveys_observed
                    then coalesce(nps_summaries.nps_answers_before_window, 0)
            end as {{ dbt.type_bigint() }}
        ) as nps_answers_before_window,
        cast(
            case when population.is_spend_observed then coalesce(window_spend.window_orders, 0) end
            as {{ dbt.type_bigint() }}
        ) as window_orders,
        {{ cx_as_double(
            'case when population.is_spend_observed then coalesce(window_spend.window_revenue, 0) end'
        ) }} as window_revenue,
        {{ cx_as_double(
            'case when population.is_spend_observed then coalesce(window_spend.window_margin, 0) end'
        ) }} as window_margin,
        cast(
            case
                when population.is_referrals_observed
                    then coalesce(window_referrals.window_referrals, 0)
            end as {{ dbt.type_bigint() }}
        ) as window_referrals,
        cast(
            case
                when population.is_terms_observed
                    then coalesce(window_terms.terms_ending_in_window, 0)
            end as {{ dbt.type_bigint() }}
        ) as terms_ending_in_window,
        cast(
            case when population.is_terms_observed then coalesce(window_terms.terms_decided, 0) end
            as {{ dbt.type_bigint() }}
        ) as terms_decided,
        cast(
            case when population.is_terms_observed then coalesce(window_terms.terms_renewed, 0) end
            as {{ dbt.type_bigint() }}
        ) as terms_renewed,
        {{ cx_as_double(
            'case when population.is_terms_observed then coalesce(window_terms.annual_fee_ending, 0) end'
        ) }} as annual_fee_ending
    from population
    left join nps_summaries
        on population.customer_id = nps_summaries.customer_id
    left join relationship_answers
        on population.customer_id = relationship_answers.customer_id
    left join cx_indices
        on population.customer_id = cx_indices.customer_id
    left join window_spend
        on population.customer_id = window_spend.customer_id
    left join window_referrals
        on population.customer_id = window_referrals.customer_id
    left join window_terms
        on population.customer_id = window_terms.customer_id
)

select * from final
