{#
    Purchase histories in weeks as of the observation date: x (repeat purchase
    days), t_x and T, as BG/NBD and Gamma-Gamma expect them. Same-day orders are
    one purchase, as in CDNOW: a basket split over several orders is not a
    repeat purchase.
#}
with

customers as (
    select * from {{ ref('stg_crm__customers') }}
),

orders as (
    select * from {{ ref('stg_crm__orders') }}
),

order_lines as (
    select * from {{ ref('stg_crm__order_lines') }}
),

completed_orders as (
    select
        order_id,
        customer_id,
        cast(ordered_at as date) as purchase_date
    from orders
    where order_status = 'completed'
),

observation as (
    select as_of_date from {{ ref('int_observation_date') }}
),

order_revenue as (
    select
        order_id,
        sum(quantity * realised_price) as revenue
    from order_lines
    group by order_id
),

purchase_days as (
    select
        completed_orders.customer_id,
        completed_orders.purchase_date,
        sum(coalesce(order_revenue.revenue, 0)) as revenue
    from completed_orders
    inner join customers
        on completed_orders.customer_id = customers.customer_id
    cross join observation
    left join order_revenue
        on completed_orders.order_id = order_revenue.order_id
    where
        customers.customer_type = 'b2c'
        and completed_orders.purchase_date <= observation.as_of_date
    group by
        completed_orders.customer_id,
        completed_orders.purchase_date
),

numbered_days as (
    select
        customer_id,
        purchase_date,
        revenue,
        row_number() over (
            partition by customer_id
            order by purchase_date
        ) as purchase_number
    from purchase_days
),

histories as (
    select
        customer_id,
        min(purchase_date) as first_purchase_date,
        max(purchase_date) as last_purchase_date,
        count(*) - 1 as frequency,
        sum(case when purchase_number > 1 then revenue end)
            as repeat_revenue
    from numbered_days
    group by customer_id
),

final as (
    select
        histories.customer_id,
        histories.first_purchase_date,
        histories.last_purchase_date,
        observation.as_of_date,
        histories.frequency,
        {{ cx_as_double(dbt.datediff('histories.first_purchase_date', 'histories.last_purchase_date', 'day')) }}
        / 7 as recency_weeks,
        {{ cx_as_double(dbt.datediff('histories.first_purchase_date', 'observation.as_of_date', 'day')) }}
        / 7 as t_weeks,
        case
            when histories.frequency > 0
                then {{ cx_as_double('histories.repeat_revenue') }} / histories.frequency
        end as monetary_value
    from histories
    cross join observation
)

select * from final
