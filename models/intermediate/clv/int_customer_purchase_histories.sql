{#
    Purchase histories in weeks as of the observation date: x (repeat purchase
    days), t_x and T, as BG/NBD and Gamma-Gamma expect them, for every customer
    whose purchases are discretionary: no contract term (a subscriber is valued by
    the contract, so is never valued twice) and at least one day whose net sale
    stays above 0 after returns (int_customer_purchase_days). Same-day orders are
    one purchase, as in CDNOW: a basket split over several orders is not a repeat
    purchase. m_x is the mean net revenue of the repeat days.
#}
with

observation as (
    select as_of_date from {{ ref('int_observation_date') }}
),

purchase_days as (
    select * from {{ ref('int_customer_purchase_days') }}
    where
        is_purchase
        and not is_contract_customer
),

numbered_days as (
    select
        customer_id,
        purchase_date,
        net_revenue,
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
        sum(case when purchase_number > 1 then net_revenue end) as repeat_revenue
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
