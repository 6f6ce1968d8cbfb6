{#
    One row per churned contract term (int_subscription_terms_renewed.is_churned:
    not renewed within the grace period, which is over), dated and valued for the
    ROI mart. The churn is counted in the month its grace period ends: that is
    when it becomes a fact, so a month's count is never revised afterwards.
#}
with

terms as (
    select * from {{ ref('int_subscription_terms_renewed') }}
),

customers as (
    select * from {{ ref('dim_customers') }}
),

order_lines as (
    select * from {{ ref('int_order_lines_valued') }}
),

churned_terms as (
    select
        terms.subscription_id,
        terms.customer_id,
        customers.segment,
        terms.start_date,
        terms.end_date,
        terms.grace_end_date,
        terms.monthly_fee,
        -- the contract lapses at the midnight after its last day
        cast({{ dbt.dateadd('day', 1, 'terms.end_date') }} as {{ dbt.type_timestamp() }})
            as lapsed_at
    from terms
    inner join customers
        on terms.customer_id = customers.customer_id
    where terms.is_churned
),

order_revenue as (
    -- completed add-on orders in the 12 months before the lapse, net of returns; bills
    -- of the contract are left out, its fees are counted from the term below
    select
        churned_terms.subscription_id,
        sum(order_lines.revenue) as order_revenue_12m
    from churned_terms
    inner join order_lines
        on
            churned_terms.customer_id = order_lines.customer_id
            and order_lines.is_completed
            and order_lines.revenue_stream = 'one_off'
            and churned_terms.lapsed_at > order_lines.ordered_at
            and {{ dbt.dateadd('month', -12, 'churned_terms.lapsed_at') }}
            <= order_lines.ordered_at
    group by churned_terms.subscription_id
),

valued as (
    select
        churned_terms.*,
        {{ cx_month('churned_terms.grace_end_date') }} as churn_month,
        -- fees of the last term billed in the 12 months before the lapse; an earlier
        -- term only reaches into that window when the last term is shorter than a
        -- year, and is left out (none in the demo: every term is 12 months)
        cast(
            churned_terms.monthly_fee
            * least(
                12,
                {{ dbt.datediff('churned_terms.start_date', 'churned_terms.lapsed_at', 'month') }}
            ) as decimal(38, 4)
        ) as fee_revenue_12m,
        cast(coalesce(order_revenue.order_revenue_12m, 0) as decimal(38, 4))
            as order_revenue_12m,
        -- the renewal that did not happen: a year of the last fee
        cast(12 * churned_terms.monthly_fee as decimal(38, 4))
            as lost_contract_value_12m
    from churned_terms
    left join order_revenue
        on churned_terms.subscription_id = order_revenue.subscription_id
),

final as (
    select
        subscription_id,
        customer_id,
        segment,
        start_date,
        end_date,
        grace_end_date,
        churn_month,
        monthly_fee,
        fee_revenue_12m,
        order_revenue_12m,
        lost_contract_value_12m,
        fee_revenue_12m + order_revenue_12m as revenue_12m
    from valued
)

select * from final
