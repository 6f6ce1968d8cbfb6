{#
    One row per churned contract term (int_subscription_terms_renewed.is_churned),
    dated and valued for the ROI mart. The churn is counted in its churn_month:
    the month of the notice when churn is dated by notice (the default), else the
    month after the end (plus grace) in which the missing renewal became a fact.

    Value lost: the fees the customer paid in the 12 months before the lapse (the
    midnight after the last paid day), summed over every billing month of the
    customer's terms in that window (int_contract_billing_months), so a
    month-to-month customer counts up to twelve monthly fees, not one; contract
    bills in orders are never added to them. Beside it the lost MRR (the last
    term's monthly fee) and the lost 12-month contract value (twelve of them).
#}
with

terms as (
    select * from {{ ref('int_subscription_terms_renewed') }}
),

billing_months as (
    select * from {{ ref('int_contract_billing_months') }}
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
        terms.plan_name,
        terms.term_months,
        terms.start_date,
        terms.end_date,
        terms.notice_date,
        terms.last_paid_date,
        terms.grace_end_date,
        terms.churn_date,
        terms.churn_month,
        terms.monthly_fee,
        cast({{ dbt.dateadd('day', 1, 'terms.last_paid_date') }} as date) as lapse_date
    from terms
    inner join customers
        on terms.customer_id = customers.customer_id
    where terms.is_churned
),

fee_revenue as (
    -- every billing month of the customer's terms that starts in the year before the lapse
    select
        churned_terms.subscription_id,
        sum(billing_months.monthly_fee) as fee_revenue_12m,
        count(*) as paid_months_12m
    from churned_terms
    inner join billing_months
        on
            churned_terms.customer_id = billing_months.customer_id
            and churned_terms.lapse_date > billing_months.period_start_date
            and {{ dbt.dateadd('month', -12, 'churned_terms.lapse_date') }}
            <= billing_months.period_start_date
    group by churned_terms.subscription_id
),

order_revenue as (
    -- completed add-on orders in the 12 months before the lapse, net of returns; bills
    -- of the contract are left out, its fees are counted from the terms above
    select
        churned_terms.subscription_id,
        sum(order_lines.revenue) as order_revenue_12m
    from churned_terms
    inner join order_lines
        on
            churned_terms.customer_id = order_lines.customer_id
            and order_lines.is_completed
            and order_lines.revenue_stream = 'one_off'
            and cast(churned_terms.lapse_date as {{ dbt.type_timestamp() }}) > order_lines.ordered_at
            and {{ dbt.dateadd('month', -12, 'cast(churned_terms.lapse_date as ' ~ dbt.type_timestamp() ~ ')') }}
            <= order_lines.ordered_at
    group by churned_terms.subscription_id
),

final as (
    select
        churned_terms.subscription_id,
        churned_terms.customer_id,
        churned_terms.segment,
        churned_terms.plan_name,
        churned_terms.term_months,
        churned_terms.start_date,
        churned_terms.end_date,
        churned_terms.notice_date,
        churned_terms.last_paid_date,
        churned_terms.grace_end_date,
        churned_terms.churn_date,
        churned_terms.churn_month,
        churned_terms.monthly_fee,
        cast(fee_revenue.paid_months_12m as {{ dbt.type_int() }}) as paid_months_12m,
        cast(fee_revenue.fee_revenue_12m as decimal(38, 4)) as fee_revenue_12m,
        cast(coalesce(order_revenue.order_revenue_12m, 0) as decimal(38, 4))
            as order_revenue_12m,
        cast(
            fee_revenue.fee_revenue_12m + coalesce(order_revenue.order_revenue_12m, 0)
            as decimal(38, 4)
        ) as revenue_12m,
        cast(churned_terms.monthly_fee as decimal(38, 4)) as lost_mrr,
        -- the renewal that did not happen: a year of the last fee
        cast(12 * churned_terms.monthly_fee as decimal(38, 4)) as lost_contract_value_12m
    from churned_terms
    inner join fee_revenue
        on churned_terms.subscription_id = fee_revenue.subscription_id
    left join order_revenue
        on churned_terms.subscription_id = order_revenue.subscription_id
)

select * from final
