with

base as (
    select * from {{ ref('base_crm__orders') }}
),

final as (
    select
        order_id,
        customer_id,
        ordered_at,
        order_channel,
        order_status,
        order_type,
        original_order_id,
        subscription_id,
        loaded_at
    from base
    where
        reject_reason is null
        and not is_removed_duplicate
)

select * from final
