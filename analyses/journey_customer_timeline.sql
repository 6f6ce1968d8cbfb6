{#
    Worked example for BI users: one customer's journey, touchpoint by touchpoint,
    with the scores and the negative-experience flag, and beside each touchpoint how
    the customer's segment converts from that stage to the next (mart_stage_conversion).

    Compile, then run the compiled SQL against the warehouse:
        dbt compile --select journey_customer_timeline \
            --vars '{cx_timeline_customer_id: c0000457}'
    The default customer is a demo customer who passed through all seven stages.
#}
with

touchpoints as (
    select * from {{ ref('fct_journey_touchpoints') }}
),

customers as (
    select * from {{ ref('dim_customers') }}
),

conversion as (
    select * from {{ ref('mart_stage_conversion') }}
),

customer_touchpoints as (
    select
        touchpoints.*,
        customers.segment
    from touchpoints
    inner join customers
        on touchpoints.customer_id = customers.customer_id
    where touchpoints.customer_id = '{{ var("cx_timeline_customer_id", "c0000457") }}'
),

final as (
    select
        customer_touchpoints.customer_touchpoint_number as tp_no,
        customer_touchpoints.touchpoint_at,
        customer_touchpoints.stage,
        customer_touchpoints.touchpoint_type,
        customer_touchpoints.touchpoint_name,
        customer_touchpoints.channel,
        customer_touchpoints.nps_score as nps,
        customer_touchpoints.csat_score as csat,
        customer_touchpoints.ces_score as ces,
        customer_touchpoints.expectation_gap as gap,
        customer_touchpoints.is_negative_experience as is_negative,
        conversion.next_stage,
        round(100 * conversion.conversion_rate, 1) as segment_conversion_pct,
        round(conversion.days_to_next_stage_median, 1) as segment_median_days_to_next
    from customer_touchpoints
    left join conversion
        on
            customer_touchpoints.stage = conversion.stage
            and customer_touchpoints.segment = conversion.segment
)

select * from final
order by tp_no
