{#
    Friction per touchpoint: for each stage x touchpoint type x touchpoint name, how
    many touchpoints there were, how many carried a score, how many of those were a
    negative experience, the share of NPS detractors and the expectation-vs-experience
    gap (DOMAIN §1, text 004). Over the whole history: a friction point is a property
    of the touchpoint, and monthly cells would be too thin to rank touchpoints by.
    The score counts are null, not 0, when no survey answers were exported.
#}
with

touchpoints as (
    select * from {{ ref('fct_journey_touchpoints') }}
),

aggregated as (
    select
        stage,
        stage_number,
        touchpoint_type,
        touchpoint_name,
        count(*) as touchpoints,
        count(distinct customer_id) as customers,
        count(is_negative_experience) as scored_touchpoints,
        sum(case when is_negative_experience then 1 else 0 end) as negative_experiences,
        count(nps_score) as nps_respondents,
        sum(case when nps_score <= 6 then 1 else 0 end) as detractors,
        count(expectation_gap) as expectation_gap_respondents,
        sum(expectation_gap) as expectation_gap_sum,
        sum(case when expectation_gap < 0 then 1 else 0 end) as below_expectation_count
    from touchpoints
    group by stage, stage_number, touchpoint_type, touchpoint_name
),

guarded as (
    -- scores come only from survey answers: without them "0 scored" is unknown
    select
        stage,
        stage_number,
        touchpoint_type,
        touchpoint_name,
        touchpoints,
        customers,
        {%- set survey_counts = [
            'scored_touchpoints', 'negative_experiences', 'nps_respondents', 'detractors',
            'expectation_gap_respondents',
        ] %}
        {%- for count in survey_counts %}
            case when {{ cx_observed('survey_responses') }} then {{ count }} end as {{ count }},
        {%- endfor %}
        expectation_gap_sum,
        below_expectation_count
    from aggregated
),

final as (
    select
        stage,
        cast(stage_number as {{ dbt.type_int() }}) as stage_number,
        touchpoint_type,
        touchpoint_name,
        cast(touchpoints as {{ dbt.type_bigint() }}) as touchpoints,
        cast(customers as {{ dbt.type_bigint() }}) as customers,
        cast(scored_touchpoints as {{ dbt.type_bigint() }}) as scored_touchpoints,
        cast(negative_experiences as {{ dbt.type_bigint() }}) as negative_experiences,
        {{ cx_share('negative_experiences', 'scored_touchpoints') }} as negative_share,
        cast(nps_respondents as {{ dbt.type_bigint() }}) as nps_respondents,
        cast(detractors as {{ dbt.type_bigint() }}) as detractors,
        {{ cx_share('detractors', 'nps_respondents') }} as detractor_share,
        cast(expectation_gap_respondents as {{ dbt.type_bigint() }}) as expectation_gap_respondents,
        {{ cx_score_mean('expectation_gap_sum', 'expectation_gap_respondents') }} as expectation_gap_mean,
        {{ cx_share('below_expectation_count', 'expectation_gap_respondents') }} as below_expectation_share
    from guarded
)

select * from final
