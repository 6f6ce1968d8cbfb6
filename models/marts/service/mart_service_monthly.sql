{#
    Service KPIs per month the ticket was opened, channel and segment. A ticket
    belongs to the month it was opened in, so a month's figures keep changing
    while its tickets are still open; medians come from the tickets themselves.
#}
with

tickets as (
    select * from {{ ref('int_tickets_measured') }}
),

activity_months as (
    select * from {{ ref('int_customer_activity_months_unioned') }}
),

aggregated as (
    select
        opened_month as month_start_date,
        ticket_channel,
        segment,
        {{ cx_service_ticket_kpis() }}
    from tickets
    group by opened_month, ticket_channel, segment
),

segment_customers as (
    select
        activity_month as month_start_date,
        segment,
        count(distinct customer_id) as customers
    from activity_months
    group by activity_month, segment
),

final as (
    select
        aggregated.month_start_date,
        aggregated.ticket_channel,
        aggregated.segment,
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
        on
            aggregated.month_start_date = segment_customers.month_start_date
            and aggregated.segment = segment_customers.segment
)

select * from final
