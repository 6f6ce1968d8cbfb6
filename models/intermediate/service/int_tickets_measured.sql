{#
    One row per ticket opened by the observation date, with the service measures of
    DOMAIN §2. A response or resolution stamped after the observation date is not
    known yet, so it is treated as missing: a rebuild with a pinned as_of sees the
    tickets as they stood on that day.
#}
with

tickets as (
    select * from {{ ref('stg_crm__tickets') }}
),

customers as (
    select * from {{ ref('dim_customers') }}
),

as_of as (
    select * from {{ ref('int_observation_date') }}
),

known as (
    select
        tickets.ticket_id,
        tickets.customer_id,
        tickets.ticket_channel,
        tickets.ticket_category,
        tickets.is_complaint,
        tickets.opened_at,
        tickets.reopen_count,
        tickets.agent_contact_count,
        as_of.as_of_date,
        as_of.as_of_end_at,
        case
            when tickets.first_response_at < as_of.as_of_end_at then tickets.first_response_at
        end as first_response_at,
        case
            when tickets.resolved_at < as_of.as_of_end_at then tickets.resolved_at
        end as resolved_at
    from tickets
    cross join as_of
    where tickets.opened_at < as_of.as_of_end_at
),

measured as (
    select
        known.*,
        known.resolved_at is not null as is_resolved,
        known.reopen_count > 0 as is_reopened,
        {{ cx_hours_between('known.opened_at', 'known.first_response_at') }}
            as first_response_hours,
        {{ cx_hours_between('known.opened_at', 'known.resolved_at') }} as resolution_hours
    from known
),

final as (
    select
        measured.ticket_id,
        measured.customer_id,
        customers.segment,
        customers.customer_type,
        measured.ticket_channel,
        measured.ticket_category,
        measured.is_complaint,
        measured.opened_at,
        cast(measured.opened_at as date) as opened_date,
        {{ cx_month('measured.opened_at') }} as opened_month,
        measured.first_response_at,
        measured.resolved_at,
        measured.reopen_count,
        measured.agent_contact_count,
        measured.first_response_hours,
        measured.resolution_hours,
        measured.first_response_at is not null as is_responded,
        measured.is_resolved,
        measured.is_reopened,
        -- FCR is judged on resolved tickets only: an open ticket may still need a
        -- second contact; unknown when the contact count was not exported
        case
            when measured.is_resolved and measured.agent_contact_count is not null
                then measured.agent_contact_count = 1 and measured.reopen_count = 0
        end as is_first_contact_resolution,
        not measured.is_resolved as is_open,
        case
            when not measured.is_resolved
                then {{ cx_days_between('measured.opened_at', 'measured.as_of_end_at') }}
        end as open_age_days,
        measured.as_of_date
    from measured
    left join customers
        on measured.customer_id = customers.customer_id
)

select * from final
