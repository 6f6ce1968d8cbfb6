{#
    The one trailing revenue of every customer: net revenue (returns and credit notes
    subtracted, bills of contract terms included) of completed documents in the 12
    months up to the end of the observation date, and in the 12 months before those.
    0 for a customer without orders only where orders were exported and their history
    reaches back over the whole period; null otherwise, so a short export is neither
    read as a fall nor as growth.
#}
with

customers as (
    select customer_id from {{ ref('stg_crm__customers') }}
),

as_of as (
    select * from {{ ref('int_observation_date') }}
),

order_lines as (
    select * from {{ ref('int_order_lines_valued') }}
),

windows as (
    select
        as_of_date,
        as_of_end_at,
        {{ dbt.dateadd('month', -12, 'as_of_end_at') }} as year_start_at,
        {{ dbt.dateadd('month', -24, 'as_of_end_at') }} as prior_year_start_at
    from as_of
),

coverage as (
    select
        windows.*,
        {{ cx_observed(['orders', 'order_lines']) }}
        and {{ cx_history_covers('orders', 'windows.year_start_at') }} as is_year_covered,
        {{ cx_observed(['orders', 'order_lines']) }}
        and {{ cx_history_covers('orders', 'windows.prior_year_start_at') }}
            as is_prior_year_covered
    from windows
),

revenues as (
    select
        order_lines.customer_id,
        sum(
            case when order_lines.ordered_at >= coverage.year_start_at then order_lines.revenue end
        ) as revenue_12m,
        sum(
            case when order_lines.ordered_at < coverage.year_start_at then order_lines.revenue end
        ) as revenue_prior_12m
    from order_lines
    cross join coverage
    where
        order_lines.is_completed
        and order_lines.ordered_at < coverage.as_of_end_at
        and order_lines.ordered_at >= coverage.prior_year_start_at
    group by order_lines.customer_id
),

final as (
    select
        customers.customer_id,
        coverage.as_of_date,
        case
            when coverage.is_year_covered
                then {{ cx_as_double('coalesce(revenues.revenue_12m, 0)') }}
        end as revenue_12m,
        case
            when coverage.is_prior_year_covered
                then {{ cx_as_double('coalesce(revenues.revenue_prior_12m, 0)') }}
        end as revenue_prior_12m
    from customers
    cross join coverage
    left join revenues
        on customers.customer_id = revenues.customer_id
)

select * from final
