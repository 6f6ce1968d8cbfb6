with

base as (
    select * from {{ ref('base_crm__order_lines') }}
),

final as (
    select
        order_line_id,
        order_id,
        product_id,
        quantity,
        list_price,
        realised_price,
        unit_cost,
        loaded_at
    from base
    where
        reject_reason is null
        and not is_removed_duplicate
)

select * from final
