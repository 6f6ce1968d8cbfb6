{#
    Does NPS predict? Customers by the NPS class of their latest NPS answer
    (any survey) before the outcome window, and what they did in it: bought
    again, referred someone, renewed. Plus, per customer type, the Pearson
    correlation of the customer's mean NPS score before the window with margin,
    completed orders and revenue in it. One row per customer type and class; the
    correlation columns belong to the type and repeat on its three rows.
#}
with

customers_banded as (
    select * from {{ ref('int_customers_cx_banded') }}
),

scored_customers as (
    select
        *,
        -- unknown stays unknown: no order (referral) data is not "did not repurchase"
        case when window_orders > 0 then 1 when window_orders = 0 then 0 end as has_repurchased,
        case when window_referrals > 0 then 1 when window_referrals = 0 then 0 end as has_referred
    from customers_banded
    where latest_nps_class is not null
),

class_sums as (
    select
        customer_type,
        latest_nps_class as nps_class,
        min(window_start_date) as window_start_date,
        min(window_end_date) as window_end_date,
        count(*) as customers,
        sum(has_repurchased) as repurchasers,
        sum(has_referred) as referrers,
        sum(terms_decided) as terms_decided,
        sum(terms_renewed) as terms_renewed,
        avg(window_revenue) as mean_revenue,
        avg(window_margin) as mean_margin,
        avg({{ cx_as_double('window_orders') }}) as mean_orders
    from scored_customers
    group by customer_type, latest_nps_class
),

correlation_sums as (
    -- sums for Pearson's r, so the correlation is plain arithmetic on every engine
    select
        customer_type,
        count(*) as n,
        sum(mean_nps_score) as sum_nps,
        sum(mean_nps_score * mean_nps_score) as sum_nps_squared,
        sum(window_margin) as sum_margin,
        sum(window_margin * window_margin) as sum_margin_squared,
        sum(mean_nps_score * window_margin) as sum_nps_margin,
        sum({{ cx_as_double('window_orders') }}) as sum_orders,
        sum({{ cx_as_double('window_orders') }} * {{ cx_as_double('window_orders') }}) as sum_orders_squared,
        sum(mean_nps_score * {{ cx_as_double('window_orders') }}) as sum_nps_orders,
        sum(window_revenue) as sum_revenue,
        sum(window_revenue * window_revenue) as sum_revenue_squared,
        sum(mean_nps_score * window_revenue) as sum_nps_revenue
    from scored_customers
    group by customer_type
),

correlations as (
    select
        customer_type,
        n as correlation_customers,
        {{ cx_pearson('n', 'sum_nps', 'sum_margin', 'sum_nps_squared', 'sum_margin_squared', 'sum_nps_margin') }}
            as nps_margin_correlation,
        {{ cx_pearson('n', 'sum_nps', 'sum_orders', 'sum_nps_squared', 'sum_orders_squared', 'sum_nps_orders') }}
            as nps_orders_correlation,
        {{ cx_pearson('n', 'sum_nps', 'sum_revenue', 'sum_nps_squared', 'sum_revenue_squared', 'sum_nps_revenue') }}
            as nps_revenue_correlation
    from correlation_sums
),

final as (
    select
        class_sums.customer_type,
        class_sums.nps_class,
        case class_sums.nps_class
            when 'detractor' then 1
            when 'passive' then 2
            when 'promoter' then 3
        end as nps_class_number,
        class_sums.window_start_date,
        class_sums.window_end_date,
        cast(class_sums.customers as {{ dbt.type_bigint() }}) as customers,
        {{ cx_is_too_small('class_sums.customers') }} as is_too_small,
        cast(class_sums.repurchasers as {{ dbt.type_bigint() }}) as repurchasers,
        {{ cx_share('class_sums.repurchasers', 'class_sums.customers') }} / 100 as repurchase_rate,
        {{ cx_wilson_lower('class_sums.repurchasers', 'class_sums.customers') }} / 100 as repurchase_rate_lower,
        {{ cx_wilson_upper('class_sums.repurchasers', 'class_sums.customers') }} / 100 as repurchase_rate_upper,
        cast(class_sums.referrers as {{ dbt.type_bigint() }}) as referrers,
        {{ cx_share('class_sums.referrers', 'class_sums.customers') }} / 100 as referral_rate,
        {{ cx_wilson_lower('class_sums.referrers', 'class_sums.customers') }} / 100 as referral_rate_lower,
        {{ cx_wilson_upper('class_sums.referrers', 'class_sums.customers') }} / 100 as referral_rate_upper,
        cast(class_sums.terms_decided as {{ dbt.type_bigint() }}) as terms_decided,
        cast(class_sums.terms_renewed as {{ dbt.type_bigint() }}) as terms_renewed,
        {{ cx_share('class_sums.terms_renewed', 'class_sums.terms_decided') }} / 100 as renewal_rate,
        {{ cx_wilson_lower('class_sums.terms_renewed', 'class_sums.terms_decided') }} / 100 as renewal_rate_lower,
        {{ cx_wilson_upper('class_sums.terms_renewed', 'class_sums.terms_decided') }} / 100 as renewal_rate_upper,
        {{ cx_as_double('class_sums.mean_revenue') }} as mean_revenue,
        {{ cx_as_double('class_sums.mean_margin') }} as mean_margin,
        {{ cx_as_double('class_sums.mean_orders') }} as mean_orders,
        cast(correlations.correlation_customers as {{ dbt.type_bigint() }}) as correlation_customers,
        correlations.nps_margin_correlation,
        correlations.nps_orders_correlation,
        correlations.nps_revenue_correlation
    from class_sums
    inner join correlations
        on class_sums.customer_type = correlations.customer_type
)

select * from final
