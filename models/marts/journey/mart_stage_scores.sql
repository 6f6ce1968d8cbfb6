{#
    Survey scores per journey stage, month and segment: NPS with its adjusted-Wald
    interval and the change against the calendar previous month, CSAT, CES and the
    expectation gap. Read from the questionnaires in fct_journey_touchpoints, so a
    questionnaire's answers count once each, in the month it was answered.

    The grid is complete (every stage x month x segment from the first answer to the
    observation month), so that lag() looks at the calendar previous month, not the
    previous month that happened to have answers.
#}
with

touchpoints as (
    select * from {{ ref('fct_journey_touchpoints') }}
),

customers as (
    select * from {{ ref('dim_customers') }}
),

dates as (
    select * from {{ ref('dim_dates') }}
),

stages as (
    {{ cx_journey_stage_rows() }}
),

answers as (
    select
        touchpoints.stage,
        {{ cx_month('touchpoints.touchpoint_at') }} as month_start_date,
        customers.segment,
        touchpoints.nps_score,
        touchpoints.csat_score,
        touchpoints.ces_score,
        touchpoints.expectation_gap
    from touchpoints
    inner join customers
        on touchpoints.customer_id = customers.customer_id
    where touchpoints.touchpoint_type = 'survey'
),

monthly as (
    select
        stage,
        month_start_date,
        segment,
        count(nps_score) as nps_respondents,
        sum(case when nps_score >= 9 then 1 else 0 end) as promoters,
        sum(case when nps_score between 7 and 8 then 1 else 0 end) as passives,
        sum(case when nps_score <= 6 then 1 else 0 end) as detractors,
        count(csat_score) as csat_respondents,
        sum(case when csat_score >= 4 then 1 else 0 end) as csat_satisfied_count,
        sum(csat_score) as csat_score_sum,
        count(ces_score) as ces_respondents,
        sum(case when ces_score >= 5 then 1 else 0 end) as ces_easy_count,
        sum(ces_score) as ces_score_sum,
        count(expectation_gap) as expectation_gap_respondents,
        sum(expectation_gap) as expectation_gap_sum
    from answers
    group by stage, month_start_date, segment
),

months as (
    select distinct
        dates.month_start_date,
        dates.is_as_of_month
    from dates
    where
        dates.is_observed
        and dates.month_start_date >= (select min(monthly.month_start_date) from monthly)
),

segments as (
    select distinct segment from customers
),

grid as (
    select
        stages.stage,
        stages.stage_number,
        months.month_start_date,
        months.is_as_of_month,
        segments.segment
    from stages
    cross join months
    cross join segments
),

filled as (
    select
        grid.stage,
        grid.stage_number,
        grid.month_start_date,
        grid.is_as_of_month,
        grid.segment,
        monthly.csat_score_sum,
        monthly.ces_score_sum,
        monthly.expectation_gap_sum,
        coalesce(monthly.nps_respondents, 0) as nps_respondents,
        coalesce(monthly.promoters, 0) as promoters,
        coalesce(monthly.passives, 0) as passives,
        coalesce(monthly.detractors, 0) as detractors,
        coalesce(monthly.csat_respondents, 0) as csat_respondents,
        coalesce(monthly.csat_satisfied_count, 0) as csat_satisfied_count,
        coalesce(monthly.ces_respondents, 0) as ces_respondents,
        coalesce(monthly.ces_easy_count, 0) as ces_easy_count,
        coalesce(monthly.expectation_gap_respondents, 0) as expectation_gap_respondents
    from grid
    left join monthly
        on
            grid.stage = monthly.stage
            and grid.month_start_date = monthly.month_start_date
            and grid.segment = monthly.segment
),

with_previous as (
    select
        *,
        lag(nps_respondents) over (
            partition by stage, segment
            order by month_start_date
        ) as previous_nps_respondents,
        lag(promoters) over (
            partition by stage, segment
            order by month_start_date
        ) as previous_promoters,
        lag(detractors) over (
            partition by stage, segment
            order by month_start_date
        ) as previous_detractors
    from filled
),

final as (
    select
        stage,
        cast(stage_number as {{ dbt.type_int() }}) as stage_number,
        month_start_date,
        segment,
        is_as_of_month,
        cast(nps_respondents as {{ dbt.type_bigint() }}) as nps_respondents,
        cast(promoters as {{ dbt.type_bigint() }}) as promoters,
        cast(passives as {{ dbt.type_bigint() }}) as passives,
        cast(detractors as {{ dbt.type_bigint() }}) as detractors,
        {{ cx_nps('promoters', 'detractors', 'nps_respondents') }} as nps,
        {{ cx_nps_adjusted('promoters', 'detractors', 'nps_respondents') }} as nps_adjusted,
        {{ cx_nps_lower('promoters', 'detractors', 'nps_respondents') }} as nps_lower,
        {{ cx_nps_upper('promoters', 'detractors', 'nps_respondents') }} as nps_upper,
        {{ cx_is_too_small('nps_respondents') }} as is_nps_too_small,
        cast(previous_nps_respondents as {{ dbt.type_bigint() }}) as previous_month_nps_respondents,
        {{ cx_nps('previous_promoters', 'previous_detractors', 'previous_nps_respondents') }}
            as previous_month_nps,
        {{ cx_nps_change_z(
            'promoters', 'detractors', 'nps_respondents',
            'previous_promoters', 'previous_detractors', 'previous_nps_respondents'
        ) }} as nps_change_z,
        {{ cx_nps_change_is_significant(
            'promoters', 'detractors', 'nps_respondents',
            'previous_promoters', 'previous_detractors', 'previous_nps_respondents'
        ) }} as is_nps_change_significant,
        cast(csat_respondents as {{ dbt.type_bigint() }}) as csat_respondents,
        cast(csat_satisfied_count as {{ dbt.type_bigint() }}) as csat_satisfied_count,
        {{ cx_csat_share('csat_satisfied_count', 'csat_respondents') }} as csat_share,
        {{ cx_wilson_lower('csat_satisfied_count', 'csat_respondents') }} as csat_share_lower,
        {{ cx_wilson_upper('csat_satisfied_count', 'csat_respondents') }} as csat_share_upper,
        {{ cx_score_mean('csat_score_sum', 'csat_respondents') }} as csat_mean,
        cast(ces_respondents as {{ dbt.type_bigint() }}) as ces_respondents,
        cast(ces_easy_count as {{ dbt.type_bigint() }}) as ces_easy_count,
        {{ cx_ces_share('ces_easy_count', 'ces_respondents') }} as ces_share,
        {{ cx_score_mean('ces_score_sum', 'ces_respondents') }} as ces_mean,
        cast(expectation_gap_respondents as {{ dbt.type_bigint() }}) as expectation_gap_respondents,
        {{ cx_score_mean('expectation_gap_sum', 'expectation_gap_respondents') }} as expectation_gap_mean
    from with_previous
)

select * from final
