{#
    What each customer paid, over the whole history up to the observation date: gross
    sales, what returns and credit notes gave back, net revenue and its split into
    one-off purchases and contract bills, and the margin of the lines with a known
    cost. One row per customer; a customer without orders has 0 where orders were
    exported and null where they were not.
#}
with

customers as (
    select * from {{ ref('dim_customers') }}
),

as_of as (
    select * from {{ ref('int_observation_date') }}
),

order_lines as (
    select * from {{ ref('int_order_lines_valued') }}
),

trailing_revenue as (
    select * from {{ ref('int_customer_revenue_trailing') }}
),

customer_lines as (
    select
        customer_id,
        sum(gross_revenue) as gross_revenue,
        sum(returned_revenue) as returned_revenue,
        sum(revenue) as net_revenue,
        sum(case when revenue_stream = 'one_off' then revenue else 0 end) as one_off_revenue,
        sum(case when revenue_stream = 'contract' then revenue else 0 end) as contract_revenue,
        sum(case when has_unit_cost then revenue else 0 end) as costed_revenue,
        sum(case when has_unit_cost then cost else 0 end) as cost,
        count(distinct case when not is_return then order_id end) as completed_orders,
        count(distinct case when is_return then order_id end) as return_documents,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at
    from order_lines
    where is_completed
    group by customer_id
),

final as (
    select
        customers.customer_id,
        customers.segment,
        customers.customer_type,
        {%- set money_columns = [
            'gross_revenue', 'returned_revenue', 'net_revenue', 'one_off_revenue',
            'contract_revenue', 'costed_revenue', 'cost',
        ] %}
        {%- for column in money_columns %}
            cast(
                {{ cx_coalesce_observed('customer_lines.' ~ column, ['orders', 'order_lines']) }}
                as decimal(38, 4)
            ) as {{ column }},
        {%- endfor %}
        cast(
            {{ cx_coalesce_observed('customer_lines.costed_revenue - customer_lines.cost', ['orders', 'order_lines']) }}
            as decimal(38, 4)
        ) as margin,
        cast(
            {{ cx_coalesce_observed('customer_lines.completed_orders', ['orders', 'order_lines']) }}
            as {{ dbt.type_bigint() }}
        ) as completed_orders,
        cast(
            {{ cx_coalesce_observed('customer_lines.return_documents', ['orders', 'order_lines']) }}
            as {{ dbt.type_bigint() }}
        ) as return_documents,
        customer_lines.first_order_at,
        customer_lines.last_order_at,
        trailing_revenue.revenue_12m,
        trailing_revenue.revenue_prior_12m,
        as_of.as_of_date
    from customers
    cross join as_of
    left join customer_lines
        on customers.customer_id = customer_lines.customer_id
    left join trailing_revenue
        on customers.customer_id = trailing_revenue.customer_id
)

select * from final
