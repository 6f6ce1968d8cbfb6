with

base as (
    select * from {{ ref('base_crm__deals') }}
),

final as (
    select
        deal_id,
        customer_id,
        deal_type,
        deal_status,
        amount,
        created_at,
        closed_at,
        loaded_at
    from base
    where
        reject_reason is null
        and not is_removed_duplicate
)

select * from final
