{#
    One row per contract term known on the observation date, with its place in the
    customer's chain and its outcome: renewed, churned (not renewed within the grace
    period, which is over) or censored (still running, or grace not over yet).
#}
with

subscriptions as (
    select * from {{ ref('stg_crm__subscriptions') }}
),

observation as (
    select as_of_date from {{ ref('int_observation_date') }}
),

known_terms as (
    -- A renewal signed before the observation date is known even if it starts later.
    select subscriptions.*
    from subscriptions
    cross join observation
    where
        subscriptions.start_date <= observation.as_of_date
        or cast(subscriptions.loaded_at as date) <= observation.as_of_date
),

numbered_terms as (
    -- Each customer has one chain (checked by a singular test), so the term number
    -- is the rank by start date; a recursive walk of previous_subscription_id is not
    -- portable to every engine.
    select
        *,
        row_number() over (
            partition by customer_id
            order by start_date, subscription_id
        ) as term_number
    from known_terms
),

renewals as (
    select
        previous_subscription_id as renewed_subscription_id,
        min(start_date) as renewal_start_date
    from known_terms
    where previous_subscription_id is not null
    group by previous_subscription_id
),

dated as (
    select
        numbered_terms.subscription_id,
        numbered_terms.customer_id,
        numbered_terms.term_number,
        numbered_terms.plan_name,
        numbered_terms.start_date,
        numbered_terms.end_date,
        numbered_terms.monthly_fee,
        numbered_terms.cancelled_at,
        numbered_terms.previous_subscription_id,
        renewals.renewal_start_date,
        observation.as_of_date,
        cast(
            {{ dbt.dateadd('day', var('cx_churn_grace_days', 30), 'numbered_terms.end_date') }}
            as date
        ) as grace_end_date
    from numbered_terms
    cross join observation
    left join renewals
        on numbered_terms.subscription_id = renewals.renewed_subscription_id
),

flagged as (
    select
        *,
        coalesce(renewal_start_date <= grace_end_date, false) as is_renewed,
        coalesce(renewal_start_date <= grace_end_date, false) = false
        and grace_end_date <= as_of_date as is_churned
    from dated
),

final as (
    select
        subscription_id,
        customer_id,
        term_number,
        plan_name,
        start_date,
        end_date,
        monthly_fee,
        cancelled_at,
        previous_subscription_id,
        renewal_start_date,
        grace_end_date,
        as_of_date,
        is_renewed,
        is_churned,
        not is_renewed and not is_churned as is_censored
    from flagged
)

select * from final
