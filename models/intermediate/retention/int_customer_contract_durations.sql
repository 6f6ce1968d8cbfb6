{{ config(materialized='table') }}
{#
    Per subscribed customer, the sBG duration: T = t for a customer who churned at
    the end of term t (t payments, no renewal), censored at t (T > t) for one who has
    renewed t times and has not churned. A term after a churn (a win-back) does not
    extend the first lifetime.
#}
with

terms as (
    select * from {{ ref('int_subscription_terms_renewed') }}
),

first_churn as (
    select
        customer_id,
        min(case when is_churned then term_number end) as churned_term_number
    from terms
    group by customer_id
),

lifetimes as (
    select
        terms.customer_id,
        terms.as_of_date,
        first_churn.churned_term_number,
        terms.term_number,
        terms.start_date,
        terms.monthly_fee,
        terms.is_renewed
    from terms
    inner join first_churn
        on terms.customer_id = first_churn.customer_id
    where
        first_churn.churned_term_number is null
        or terms.term_number <= first_churn.churned_term_number
),

latest_terms as (
    select
        customer_id,
        monthly_fee,
        row_number() over (
            partition by customer_id
            order by term_number desc
        ) as recency_rank
    from lifetimes
),

durations as (
    select
        customer_id,
        max(as_of_date) as as_of_date,
        min(start_date) as first_start_date,
        count(*) as terms_known,
        sum(case when is_renewed then 1 else 0 end) as renewals,
        max(churned_term_number) is not null as is_churned
    from lifetimes
    group by customer_id
),

final as (
    select
        durations.customer_id,
        durations.first_start_date,
        durations.as_of_date,
        durations.terms_known,
        cast(durations.renewals as {{ dbt.type_bigint() }}) as renewals,
        cast(
            durations.renewals + case when durations.is_churned then 1 else 0 end
            as {{ dbt.type_bigint() }}
        ) as duration_terms,
        durations.is_churned,
        not durations.is_churned as is_censored,
        latest_terms.monthly_fee as latest_monthly_fee
    from durations
    inner join latest_terms
        on
            durations.customer_id = latest_terms.customer_id
            and latest_terms.recency_rank = 1
)

select * from final
