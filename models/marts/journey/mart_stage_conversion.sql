{#
    Conversion along the journey, per segment: for each stage and the next stage in
    the fixed order (awareness -> consideration -> ... -> renewal), the customers who
    reached the stage, those who reached the next stage at or after their first
    touchpoint in this one, and how long that took (DECISIONLOG "Customer journey
    marts": a next-stage touchpoint before the stage was entered is not a conversion
    out of it). Customers still inside a stage count as not converted yet, so recent
    cohorts pull the rate down; the days are measured on converters only. Only
    transitions between two stages whose sources were observed are reported
    (cx_journey_stage_sources).
#}
with

touchpoints as (
    select * from {{ ref('fct_journey_touchpoints') }}
),

customers as (
    select * from {{ ref('dim_customers') }}
),

stages as (
    {{ cx_journey_observable_stage_rows() }}
),

stage_entries as (
    select
        customer_id,
        stage_number,
        min(touchpoint_at) as first_touchpoint_at
    from touchpoints
    group by customer_id, stage_number
),

transitions as (
    select
        stage_entries.customer_id,
        stage_entries.stage_number,
        stage_entries.first_touchpoint_at,
        min(next_touchpoints.touchpoint_at) as next_stage_first_touchpoint_at
    from stage_entries
    left join touchpoints as next_touchpoints
        on
            stage_entries.customer_id = next_touchpoints.customer_id
            and stage_entries.stage_number + 1 = next_touchpoints.stage_number
            and stage_entries.first_touchpoint_at <= next_touchpoints.touchpoint_at
    where stage_entries.stage_number < {{ cx_journey_stages() | length }}
    group by
        stage_entries.customer_id,
        stage_entries.stage_number,
        stage_entries.first_touchpoint_at
),

segmented as (
    select
        transitions.stage_number,
        customers.segment,
        transitions.next_stage_first_touchpoint_at,
        {{ cx_days_between(
            'transitions.first_touchpoint_at', 'transitions.next_stage_first_touchpoint_at'
        ) }} as days_to_next_stage
    from transitions
    inner join customers
        on transitions.customer_id = customers.customer_id
),

aggregated as (
    select
        stage_number,
        segment,
        count(*) as customers_reached,
        count(next_stage_first_touchpoint_at) as customers_converted,
        {{ cx_percentile('days_to_next_stage', 0.5) }} as days_to_next_stage_median,
        {{ cx_percentile('days_to_next_stage', 0.9) }} as days_to_next_stage_p90
    from segmented
    group by stage_number, segment
),

segments as (
    select distinct segment from customers
),

grid as (
    select
        stages.stage,
        stages.stage_number,
        next_stages.stage as next_stage,
        segments.segment
    from stages
    inner join stages as next_stages
        on stages.stage_number + 1 = next_stages.stage_number
    cross join segments
    -- a conversion is measured only between stages the data can see: without
    -- onboarding data, "0 % of buyers reached onboarding" would be invented
    where
        stages.is_observable
        and next_stages.is_observable
),

filled as (
    select
        grid.stage,
        grid.stage_number,
        grid.next_stage,
        grid.segment,
        aggregated.days_to_next_stage_median,
        aggregated.days_to_next_stage_p90,
        coalesce(aggregated.customers_reached, 0) as customers_reached,
        coalesce(aggregated.customers_converted, 0) as customers_converted
    from grid
    left join aggregated
        on
            grid.stage_number = aggregated.stage_number
            and grid.segment = aggregated.segment
),

final as (
    select
        stage,
        cast(stage_number as {{ dbt.type_int() }}) as stage_number,
        next_stage,
        segment,
        cast(customers_reached as {{ dbt.type_bigint() }}) as customers_reached,
        cast(customers_converted as {{ dbt.type_bigint() }}) as customers_converted,
        case
            when customers_reached > 0
                then {{ cx_as_double('customers_converted') }} / {{ cx_as_double('customers_reached') }}
        end as conversion_rate,
        case
            when customers_reached > 0
                then 1 - {{ cx_as_double('customers_converted') }} / {{ cx_as_double('customers_reached') }}
        end as drop_off_rate,
        {{ cx_as_double('days_to_next_stage_median') }} as days_to_next_stage_median,
        {{ cx_as_double('days_to_next_stage_p90') }} as days_to_next_stage_p90
    from filled
)

select * from final
