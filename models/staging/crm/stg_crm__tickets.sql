with

base as (
    select * from {{ ref('base_crm__tickets') }}
),

final as (
    select
        ticket_id,
        customer_id,
        ticket_channel,
        ticket_category,
        is_complaint,
        opened_at,
        first_response_at,
        resolved_at,
        reopen_count,
        agent_contact_count,
        loaded_at
    from base
    where
        reject_reason is null
        and not is_removed_duplicate
)

select * from final
