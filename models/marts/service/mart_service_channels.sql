{#
    Service KPIs per channel over the whole history, once per segment and once
    across all segments (segment = 'all'). Medians and percentiles cannot be
    re-aggregated from mart_service_monthly, so each grain reads the tickets.
#}
with

tickets as (
    select * from {{ ref('int_tickets_measured') }}
),

activity_months as (
    select * from {{ ref('int_customer_activity_months_unioned') }}
),

by_segment as (
    select
        ticket_channel,
        segment,
        false as is_all_segments,
        {{ cx_service_ticket_kpis() }}
    from tickets
    group by ticket_channel, segment
),

all_segments as (
    select
        ticket_channel,
        'all' as segment,
        true as is_all_segments,
        {{ cx_service_ticket_kpis() }}
    from tickets
    group by ticket_channel
),

aggregated as (
    select * from by_segment
    union all
    select * from all_segments
),

segment_customers as (
    select
        segment,
        count(distinct customer_id) as customers
    from activity_months
    group by segment
    union all
    select
        'all' as segment,
        count(distinct customer_id) as customers
    from activity_months
),

final as (
    select
        aggregated.ticket_channel,
        aggregated.segment,
        aggregated.is_all_segments,
        aggregated.tickets,
        aggregated.responded_tickets,
        aggregated.first_response_median_hours,
        aggregated.first_response_p90_hours,
        aggregated.resolved_tickets,
        aggregated.resolution_median_hours,
        aggregated.resolution_p90_hours,
        aggregated.fcr_base_tickets,
        aggregated.fcr_tickets,
        {{ cx_service_ticket_rates('aggregated.') }},
        aggregated.reopened_tickets,
        aggregated.open_tickets,
        aggregated.complaints,
        coalesce(segment_customers.customers, 0) as customers,
        case
            when segment_customers.customers > 0
                then
                    100 * {{ cx_as_double('aggregated.complaints') }}
                    / {{ cx_as_double('segment_customers.customers') }}
        end as complaints_per_100_customers
    from aggregated
    left join segment_customers
        on aggregated.segment = segment_customers.segment
)

select * from final
