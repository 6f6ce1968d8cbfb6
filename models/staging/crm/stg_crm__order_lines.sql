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
        list_price_eur,
        realised_price_eur,
        unit_cost_eur,
        loaded_at
    from base
    where
        reject_reason is null
        and not is_removed_duplicate
)

select * from final
