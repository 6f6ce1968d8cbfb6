{{ config(materialized='table') }}
{#
    Per subscribed customer, the sBG duration in periods of the customer's retention
    group. The group is the term length plus the columns of var cx_retention_group_by,
    taken from the latest term of the customer's first lifetime (the latest known term,
    unless the customer churned and came back); its term length is the period.

    T = t for a customer who churned at the end of period t, censored at t (T > t) for
    one who has passed t renewal decisions and not churned. A chain of equal terms
    counts its terms; a chain whose terms differ in length is converted via months:
    floor(months / period months), the months of the churned lifetime or of the renewed
    terms. A term after a churn (a win-back) does not extend the first lifetime.
#}
{%- set group_columns = cx_retention_group_by() %}
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
        terms.term_months,
        {%- for column in group_columns %}
            terms.{{ column }},
        {%- endfor %}
        terms.is_renewed,
        terms.is_churned
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
        term_months,
        {%- for column in group_columns %}
            {{ column }},
        {%- endfor %}
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
        sum(case when is_renewed then 1 else 0 end) as terms_renewed,
        -- months behind the latest renewal decision: renewed terms, and the churned one
        sum(case when is_renewed or is_churned then term_months else 0 end) as lifetime_months,
        max(churned_term_number) is not null as is_churned
    from lifetimes
    group by customer_id
),

measured as (
    select
        durations.*,
        latest_terms.monthly_fee as latest_monthly_fee,
        latest_terms.term_months as period_months,
        {%- for column in group_columns %}
            latest_terms.{{ column }},
        {%- endfor %}
        cast(
            floor(1.0 * durations.lifetime_months / latest_terms.term_months)
            as {{ dbt.type_bigint() }}
        ) as duration_periods,
        {{ dbt.concat(
            ["'term_months='", "cast(latest_terms.term_months as " ~ dbt.type_string() ~ ")"]
            + cx_retention_group_key_parts(group_columns, 'latest_terms')
        ) }} as retention_group
    from durations
    inner join latest_terms
        on
            durations.customer_id = latest_terms.customer_id
            and latest_terms.recency_rank = 1
),

final as (
    select
        customer_id,
        retention_group,
        cast(period_months as {{ dbt.type_bigint() }}) as period_months,
        {%- for column in group_columns %}
            {{ column }},
        {%- endfor %}
        first_start_date,
        as_of_date,
        terms_known,
        cast(terms_renewed as {{ dbt.type_bigint() }}) as terms_renewed,
        cast(lifetime_months as {{ dbt.type_bigint() }}) as lifetime_months,
        cast(
            duration_periods - case when is_churned then 1 else 0 end
            as {{ dbt.type_bigint() }}
        ) as renewals,
        duration_periods,
        is_churned,
        not is_churned as is_censored,
        latest_monthly_fee
    from measured
)

select * from final
