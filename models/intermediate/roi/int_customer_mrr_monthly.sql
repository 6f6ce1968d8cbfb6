{#
    Monthly recurring revenue per subscribed customer and month, from the first
    month of the customer's first term to the observation month, and its movement
    against the month before. MRR at a month is the monthly fee of the terms that
    cover its last day (the observation date in the observation month); a renewed
    term covers the gap up to its renewal, so a renewal starting a few days after
    the end is not a churn and a reactivation. The movement splits the change in
    MRR so that mrr - previous_mrr = new + reactivation + expansion - contraction
    - churned (a test holds the identity).
#}
with

terms as (
    select * from {{ ref('int_subscription_terms_renewed') }}
),

dates as (
    select * from {{ ref('dim_dates') }}
),

observation as (
    select as_of_date from {{ ref('int_observation_date') }}
),

coverage as (
    select
        customer_id,
        monthly_fee,
        start_date,
        case
            when is_renewed
                then cast({{ dbt.dateadd('day', -1, 'renewal_start_date') }} as date)
            else end_date
        end as covered_until_date
    from terms
),

customer_spans as (
    select
        customer_id,
        min({{ cx_month('start_date') }}) as first_month
    from terms
    group by customer_id
),

months as (
    select distinct
        dates.month_start_date,
        -- the day a month's MRR is read on: its last day, or the observation date
        least(
            cast({{ dbt.last_day('dates.month_start_date', 'month') }} as date),
            observation.as_of_date
        ) as reading_date
    from dates
    cross join observation
    where dates.month_start_date <= observation.as_of_date
),

grid as (
    select
        customer_spans.customer_id,
        months.month_start_date,
        months.reading_date
    from customer_spans
    inner join months
        on customer_spans.first_month <= months.month_start_date
),

mrr as (
    select
        grid.customer_id,
        grid.month_start_date,
        coalesce(sum(coverage.monthly_fee), 0) as mrr
    from grid
    left join coverage
        on
            grid.customer_id = coverage.customer_id
            and grid.reading_date >= coverage.start_date
            and grid.reading_date <= coverage.covered_until_date
    group by grid.customer_id, grid.month_start_date
),

with_history as (
    select
        customer_id,
        month_start_date,
        mrr,
        coalesce(
            lag(mrr) over (partition by customer_id order by month_start_date), 0
        ) as previous_mrr,
        coalesce(
            max(mrr) over (
                partition by customer_id
                order by month_start_date
                rows between unbounded preceding and 1 preceding
            ),
            0
        ) as highest_earlier_mrr
    from mrr
),

final as (
    select
        customer_id,
        month_start_date,
        cast(mrr as decimal(18, 2)) as mrr,
        cast(previous_mrr as decimal(18, 2)) as previous_mrr,
        cast(
            case when previous_mrr = 0 and mrr > 0 and highest_earlier_mrr = 0 then mrr else 0 end
            as decimal(18, 2)
        ) as new_mrr,
        cast(
            case when previous_mrr = 0 and mrr > 0 and highest_earlier_mrr > 0 then mrr else 0 end
            as decimal(18, 2)
        ) as reactivation_mrr,
        cast(
            case when previous_mrr > 0 and mrr > previous_mrr then mrr - previous_mrr else 0 end
            as decimal(18, 2)
        ) as expansion_mrr,
        cast(
            case
                when previous_mrr > 0 and mrr > 0 and mrr < previous_mrr then previous_mrr - mrr
                else 0
            end as decimal(18, 2)
        ) as contraction_mrr,
        cast(
            case when previous_mrr > 0 and mrr = 0 then previous_mrr else 0 end
            as decimal(18, 2)
        ) as churned_mrr
    from with_history
)

select * from final
