{#
    The one valuation of order lines every revenue figure reads: one row per staged
    line whose document was placed by the end of the observation date, valued in
    the reporting currency with exact decimals. Returns are signed: a line of a
    return or credit note, or a line with a negative quantity, has a negative
    quantity, so sums over any line set are net of returns; gross_revenue and
    returned_revenue split them. A returned unit gives back its revenue, its
    discount cost and its cost (it goes back to stock), so margin is net too.
    Bills of contract terms are contract revenue (revenue_stream = contract), never
    a one-off purchase.
#}
{{ config(materialized='table') }}

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

lines as (
    select
        order_lines.order_line_id,
        order_lines.order_id,
        orders.customer_id,
        customers.segment,
        orders.order_status,
        orders.order_status = 'completed' as is_completed,
        orders.order_type,
        -- every line of a return or credit note is a return, whatever sign it was
        -- exported with; elsewhere a negative quantity is one
        orders.order_type in ('return', 'credit_note') or order_lines.quantity < 0 as is_return,
        case
            when orders.order_type = 'contract_billing' or orders.subscription_id is not null
                then 'contract'
            else 'one_off'
        end as revenue_stream,
        orders.original_order_id,
        orders.subscription_id,
        orders.ordered_at,
        {{ cx_month('orders.ordered_at') }} as order_month,
        order_lines.quantity as exported_quantity,
        order_lines.list_price,
        order_lines.realised_price,
        order_lines.unit_cost
    from order_lines
    inner join orders
        on order_lines.order_id = orders.order_id
    inner join customers
        on orders.customer_id = customers.customer_id
    cross join as_of
    where orders.ordered_at < as_of.as_of_end_at
),

signed as (
    select
        *,
        case
            when is_return then -abs(exported_quantity)
            else exported_quantity
        end as quantity
    from lines
),

valued as (
    select
        *,
        -- exact decimals: sums stay exact to the cent, so discount cost equals list
        -- value minus revenue on any line set
        cast(quantity * list_price as decimal(38, 4)) as list_value,
        cast(quantity * realised_price as decimal(38, 4)) as revenue,
        cast(quantity * (list_price - realised_price) as decimal(38, 4)) as discount_cost,
        -- a missing unit cost stays unknown: counting it as 0 would overstate margin
        cast(quantity * unit_cost as decimal(38, 4)) as cost,
        unit_cost is not null as has_unit_cost
    from signed
),

final as (
    select
        order_line_id,
        order_id,
        customer_id,
        segment,
        order_status,
        is_completed,
        order_type,
        is_return,
        revenue_stream,
        original_order_id,
        subscription_id,
        ordered_at,
        order_month,
        quantity,
        list_price,
        realised_price,
        unit_cost,
        list_value,
        revenue,
        discount_cost,
        cost,
        has_unit_cost,
        case when is_return then cast(0 as decimal(38, 4)) else revenue end as gross_revenue,
        case when is_return then -revenue else cast(0 as decimal(38, 4)) end as returned_revenue,
        case when has_unit_cost then revenue - cost end as margin
    from valued
)

select * from final
