{#
    One row per month a contract term bills: term t of term_months months bills
    its monthly fee for the periods starting at start_date, start_date + 1 month,
    ... (month arithmetic clamps to the month's last day, as the engines' dateadd
    does). The one definition of "fees paid" that churned value and MRR read, so a
    month-to-month chain and a two-year contract are valued alike, and contract
    bills in orders are never counted beside it.
#}
{%- set max_term_months = var('cx_max_term_months', 120) | int -%}

with

terms as (
    select * from {{ ref('int_subscription_terms_renewed') }}
),

month_offsets as (
    -- generated_number runs 1..max; offsets 0..max - 1
    select generated_number - 1 as billing_month_index
    from ({{ dbt.generate_series(max_term_months) }}) as series
),

billed as (
    select
        terms.subscription_id,
        terms.customer_id,
        terms.term_number,
        month_offsets.billing_month_index,
        cast(
            {{ dbt.dateadd('month', 'month_offsets.billing_month_index', 'terms.start_date') }}
            as date
        ) as period_start_date,
        terms.monthly_fee
    from terms
    inner join month_offsets
        on terms.term_months > month_offsets.billing_month_index
),

final as (
    select
        subscription_id,
        customer_id,
        term_number,
        cast(billing_month_index as {{ dbt.type_int() }}) as billing_month_index,
        period_start_date,
        monthly_fee
    from billed
)

select * from final
