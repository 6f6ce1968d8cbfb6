{%- set raw_columns = [
    'order_line_id', 'order_id', 'product_id', 'quantity', 'list_price',
    'realised_price', 'unit_cost', 'loaded_at',
] -%}

with

source as (
    select * from {{ cx_source('crm', 'order_lines') }}
),

orders as (
    {{ cx_known_orders() }}
),

parsed as (
    select
        {{ cx_raw_passthrough(raw_columns) }},
        {{ cx_text('order_line_id') }} as raw_key,
        {{ cx_id('order_line_id') }} as order_line_id,
        {{ cx_id('order_id') }} as order_id,
        {{ cx_id('product_id') }} as product_id,
        {{ cx_integer('quantity') }} as quantity,
        {{ cx_text('quantity') }} as quantity_text,
        {{ cx_decimal('list_price', 18, 4) }} as list_price,
        {{ cx_text('list_price') }} as list_price_text,
        {{ cx_decimal('realised_price', 18, 4) }} as realised_price,
        {{ cx_text('realised_price') }} as realised_price_text,
        {{ cx_decimal('unit_cost', 18, 4) }} as unit_cost,
        {{ cx_text('unit_cost') }} as unit_cost_text,
        {{ cx_timestamp('loaded_at') }} as loaded_at,
        {{ cx_text('loaded_at') }} as loaded_at_text
    from source
),

validated as (
    select
        parsed.*,
        case
            when parsed.order_line_id is null then 'missing_key'
            when
                parsed.order_id is null
                or parsed.quantity_text is null
                or parsed.list_price_text is null
                or parsed.realised_price_text is null
                or parsed.loaded_at_text is null
                then 'missing_required'
            when
                {{ cx_invalid('parsed.quantity') }}
                or {{ cx_invalid('parsed.list_price') }}
                or {{ cx_invalid('parsed.realised_price') }}
                or {{ cx_invalid('parsed.unit_cost') }}
                then 'invalid_number'
            when {{ cx_invalid_time('parsed.loaded_at') }} then 'invalid_timestamp'
            -- a negative quantity is a return; no quantity at all is not a line
            when
                parsed.quantity = 0
                or parsed.list_price < 0
                or parsed.realised_price < 0
                or parsed.unit_cost < 0
                then 'out_of_range'
            when orders.order_id is null then 'unknown_order'
            when not orders.is_staged then 'rejected_order'
        end as reject_reason
    from parsed
    left join orders
        on parsed.order_id = orders.order_id
),

{{ cx_base_verdicts('validated', 'order_line_id', raw_columns) }}

-- every column of the parse but the raw__ ones (cx_base_verdicts), which sqlfluff cannot count
select * from final  -- noqa: AM04
