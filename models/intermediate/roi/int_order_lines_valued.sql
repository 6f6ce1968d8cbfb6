{#
    One row per staged order line known on the journey observation date, valued in
    money (reporting currency): list value, realised value (revenue), discount cost and cost, each
    quantity × unit price. The order's status, month and the customer's segment
    come along so that the ROI mart can aggregate either line set (completed
    orders, or every line) without joining again.
#}
with

as_of as (
    select * from {{ ref('int_observation_date') }}
),

orders as (
    select * from {{ ref('stg_crm__orders') }}
),

order_lines as (
    select * from {{ ref('stg_crm__order_lines') }}
),

customers as (
    select * from {{ ref('dim_customers') }}
),

valued as (
    select
        order_lines.order_line_id,
        order_lines.order_id,
        orders.customer_id,
        customers.segment,
        orders.order_status,
        orders.order_status = 'completed' as is_completed,
        orders.ordered_at,
        {{ cx_month('orders.ordered_at') }} as order_month,
        order_lines.quantity,
        order_lines.list_price,
        order_lines.realised_price,
        order_lines.unit_cost,
        -- exact decimals: sums stay exact to the cent, so discount cost equals list
        -- value minus revenue on any line set
        cast(order_lines.quantity * order_lines.list_price as decimal(38, 4))
            as list_value,
        cast(order_lines.quantity * order_lines.realised_price as decimal(38, 4))
            as revenue,
        cast(
            order_lines.quantity * (order_lines.list_price - order_lines.realised_price)
            as decimal(38, 4)
        ) as discount_cost,
        -- a missing unit cost stays unknown: counting it as 0 would overstate margin
        cast(order_lines.quantity * order_lines.unit_cost as decimal(38, 4)) as cost,
        order_lines.unit_cost is not null as has_unit_cost
    from order_lines
    inner join orders
        on order_lines.order_id = orders.order_id
    inner join customers
        on orders.customer_id = customers.customer_id
    cross join as_of
    where orders.ordered_at < as_of.as_of_end_at
),

final as (
    select
        *,
        case when has_unit_cost then revenue - cost end as margin
    from valued
)

select * from final
