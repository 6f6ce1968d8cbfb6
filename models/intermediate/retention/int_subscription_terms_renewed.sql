{#
    One row per contract term known on the observation date, with its place in the
    customer's chain, its length and the customer's tenure in months, and its
    outcome: renewed, churned or censored. How a churn is dated is the business's
    choice (var cx_churn_dated_by): by the notice (default; a term with notice
    given is churned on the notice date, so churn in the export month shows in
    that month) or by the end (a term is churned once it ended without renewal).
    A term without notice that ends without renewal is churned the day after its
    end plus var cx_churn_grace_days (default 0) either way.
#}
{%- set dated_by = var('cx_churn_dated_by', 'notice') -%}
{%- if dated_by not in ['notice', 'end'] -%}
    {{ exceptions.raise_compiler_error(
        "var cx_churn_dated_by must be 'notice' or 'end', got '" ~ dated_by ~ "'") }}
{%- endif -%}
{%- set grace_days = var('cx_churn_grace_days', 0) | int -%}
{%- set renewal_gap_days = var('cx_renewal_gap_days', 30) | int -%}
{%- if grace_days < 0 or renewal_gap_days < 0 -%}
    {{ exceptions.raise_compiler_error(
        "vars cx_churn_grace_days and cx_renewal_gap_days must be 0 or more days") }}
{%- endif -%}

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
        ) as term_number,
        min(start_date) over (partition by customer_id) as first_start_date,
        count(*) over (partition by customer_id) as terms_known
    from known_terms
),

measured_terms as (
    select
        *,
        -- the engine's datediff renders longer than a line; the source line is short
        {{ dbt.datediff('start_date', 'end_date', 'day') }} + 1 as term_days,  -- noqa: LT05
        {{ dbt.datediff('first_start_date', 'start_date', 'day') }} as tenure_days_at_start  -- noqa: LT05
    from numbered_terms
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
        measured_terms.subscription_id,
        measured_terms.customer_id,
        measured_terms.term_number,
        measured_terms.terms_known,
        measured_terms.plan_name,
        measured_terms.start_date,
        measured_terms.end_date,
        measured_terms.monthly_fee,
        measured_terms.cancelled_at,
        measured_terms.previous_subscription_id,
        renewals.renewal_start_date,
        observation.as_of_date,
        -- months as a calendar average, so a term of 365 or 366 days is 12 months and
        -- one ending a day early or late still is; engines count month boundaries
        -- differently, days they do not
        cast(greatest(1, round(measured_terms.term_days / 30.4375)) as {{ dbt.type_int() }})
            as term_months,
        cast(round(measured_terms.tenure_days_at_start / 30.4375) as {{ dbt.type_int() }})
            as tenure_months_at_start,
        -- a notice the export could not know on the observation date is not one yet
        case
            when cast(measured_terms.cancelled_at as date) <= observation.as_of_date
                then cast(measured_terms.cancelled_at as date)
        end as notice_date,
        cast(
            {{ dbt.dateadd('day', grace_days, 'measured_terms.end_date') }} as date
        ) as grace_end_date,
        cast(
            {{ dbt.dateadd('day', grace_days + 1, 'measured_terms.end_date') }} as date
        ) as lapse_churn_date,
        coalesce(
            renewals.renewal_start_date
            <= {{ dbt.dateadd('day', renewal_gap_days, 'measured_terms.end_date') }},
            false
        ) as is_renewed
    from measured_terms
    cross join observation
    left join renewals
        on measured_terms.subscription_id = renewals.renewed_subscription_id
),

churn_dated as (
    select
        *,
        case
            when is_renewed then null
            {%- if dated_by == 'notice' %}
                when notice_date is not null then notice_date
            {%- endif %}
            when lapse_churn_date <= as_of_date then lapse_churn_date
        end as churn_date
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
        term_months,
        tenure_months_at_start,
        monthly_fee,
        cancelled_at,
        notice_date,
        end_date as last_paid_date,
        previous_subscription_id,
        renewal_start_date,
        grace_end_date,
        as_of_date,
        churn_date,
        {{ cx_month('churn_date') }} as churn_month,
        is_renewed,
        churn_date is not null as is_churned,
        not is_renewed and churn_date is null as is_censored,
        -- the term a churn score is for: the customer's latest, still undecided
        not is_renewed and churn_date is null and term_number = terms_known as is_current
    from churn_dated
)

select * from final
