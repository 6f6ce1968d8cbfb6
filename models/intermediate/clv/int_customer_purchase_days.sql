{#
    One row per customer and day with a one-off sale on or before the observation
    date: what was sold that day, what was later returned of it, and what remains.
    CLV counts a day as a purchase only when its net stays above 0, so a large
    order cancelled the same day, or an order returned in full later, neither adds
    a purchase nor inflates spend. A return is allocated to the day of the order it
    credits (original_order_id) when linked, otherwise to the customer's latest sale
    day on or before the return; a return with no earlier sale day is left out
    (it credits something bought before the export begins). Bills of contract terms
    are contract revenue and never purchases.
#}
with

order_lines as (
    select * from {{ ref('int_order_lines_valued') }}
),

subscriptions as (
    select * from {{ ref('int_subscription_terms_renewed') }}
),

one_off_lines as (
    select
        order_line_id,
        order_id,
        customer_id,
        original_order_id,
        is_return,
        cast(ordered_at as date) as document_date,
        gross_revenue,
        returned_revenue
    from order_lines
    where
        is_completed
        and revenue_stream = 'one_off'
),

sale_orders as (
    select
        order_id,
        customer_id,
        document_date as purchase_date
    from one_off_lines
    where not is_return
    group by order_id, customer_id, document_date
),

sale_days as (
    select
        customer_id,
        document_date as purchase_date,
        sum(gross_revenue) as gross_revenue
    from one_off_lines
    where not is_return
    group by customer_id, document_date
    having sum(gross_revenue) > 0
),

returns as (
    -- one row per return document (or per order carrying negative lines)
    select
        order_id as return_document_id,
        customer_id,
        document_date as return_date,
        max(original_order_id) as original_order_id,
        sum(returned_revenue) as returned_revenue
    from one_off_lines
    where is_return
    group by order_id, customer_id, document_date
),

linked_returns as (
    select
        returns.return_document_id,
        sale_orders.purchase_date
    from returns
    inner join sale_orders
        on
            returns.original_order_id = sale_orders.order_id
            and returns.customer_id = sale_orders.customer_id
            and returns.return_date >= sale_orders.purchase_date
),

unlinked_returns as (
    select
        returns.return_document_id,
        max(sale_days.purchase_date) as purchase_date
    from returns
    inner join sale_days
        on
            returns.customer_id = sale_days.customer_id
            and returns.return_date >= sale_days.purchase_date
    left join linked_returns
        on returns.return_document_id = linked_returns.return_document_id
    where linked_returns.return_document_id is null
    group by returns.return_document_id
),

allocations as (
    select * from linked_returns
    union all
    select * from unlinked_returns
),

allocated_returns as (
    select
        returns.customer_id,
        allocations.purchase_date,
        sum(returns.returned_revenue) as returned_revenue
    from returns
    inner join allocations
        on returns.return_document_id = allocations.return_document_id
    group by returns.customer_id, allocations.purchase_date
),

contract_customers as (
    select distinct customer_id
    from subscriptions
),

days as (
    select
        sale_days.customer_id,
        sale_days.purchase_date,
        sale_days.gross_revenue,
        coalesce(allocated_returns.returned_revenue, 0) as returned_revenue,
        sale_days.gross_revenue - coalesce(allocated_returns.returned_revenue, 0)
            as net_revenue,
        contract_customers.customer_id is not null as is_contract_customer
    from sale_days
    left join allocated_returns
        on
            sale_days.customer_id = allocated_returns.customer_id
            and sale_days.purchase_date = allocated_returns.purchase_date
    left join contract_customers
        on sale_days.customer_id = contract_customers.customer_id
),

final as (
    select
        customer_id,
        purchase_date,
        cast(gross_revenue as decimal(38, 4)) as gross_revenue,
        cast(returned_revenue as decimal(38, 4)) as returned_revenue,
        cast(net_revenue as decimal(38, 4)) as net_revenue,
        is_contract_customer,
        net_revenue > 0 as is_purchase
    from days
)

select * from final
