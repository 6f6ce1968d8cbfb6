{#
    Sales cycle per month of closing, deal type and segment: deals won and lost, the
    win rate, and the median and 90th percentile of the days from a deal's creation
    to its close (won and lost alike: a long road to a "no" costs sales time too).
    Open deals have no cycle yet and are left out.
#}
with

deals as (
    select * from {{ ref('stg_crm__deals') }}
),

customers as (
    select * from {{ ref('dim_customers') }}
),

closed_deals as (
    select
        {{ cx_month('deals.closed_at') }} as month_start_date,
        deals.deal_type,
        customers.segment,
        deals.deal_status,
        {{ cx_days_between('deals.created_at', 'deals.closed_at') }} as sales_cycle_days
    from deals
    inner join customers
        on deals.customer_id = customers.customer_id
    where deals.deal_status in ('won', 'lost') and deals.closed_at is not null
),

aggregated as (
    select
        month_start_date,
        deal_type,
        segment,
        count(*) as closed_deals,
        sum(case when deal_status = 'won' then 1 else 0 end) as won_deals,
        sum(case when deal_status = 'lost' then 1 else 0 end) as lost_deals,
        {{ cx_percentile('sales_cycle_days', 0.5) }} as sales_cycle_days_median,
        {{ cx_percentile('sales_cycle_days', 0.9) }} as sales_cycle_days_p90
    from closed_deals
    group by month_start_date, deal_type, segment
),

final as (
    select
        month_start_date,
        deal_type,
        segment,
        cast(closed_deals as {{ dbt.type_bigint() }}) as closed_deals,
        cast(won_deals as {{ dbt.type_bigint() }}) as won_deals,
        cast(lost_deals as {{ dbt.type_bigint() }}) as lost_deals,
        {{ cx_as_double('won_deals') }} / {{ cx_as_double('closed_deals') }} as win_rate,
        {{ cx_as_double('sales_cycle_days_median') }} as sales_cycle_days_median,
        {{ cx_as_double('sales_cycle_days_p90') }} as sales_cycle_days_p90
    from aggregated
)

select * from final
