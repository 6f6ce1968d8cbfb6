{#
    The economic part of engagement value: what each customer is expected to pay
    in the 12 months after the observation date, discounted monthly. One row per
    customer of dim_customers, so that CLV and CRV read one definition.

    One-off buyers: expected_clv_12m of fct_customer_clv (BG/NBD + Gamma-Gamma).
    Subscribers (active, notice given or in grace in dim_customers): the contractual
    side on the same horizon and discount rate, compounding survival month by month. A
    month still inside the current term is paid for sure (it is contracted); after
    notice nothing is paid after the term's end; otherwise a month after the end is
    paid if the customer renews at every decision up to it: with S(n + j) / S(n) of
    the customer's retention group (fct_customer_retention), n the renewal decisions
    passed so far and j those between now and the month (one at the term's end, then
    one per period of the group's term length). Paying every later month with the
    one-step renewal probability would ignore that a month-to-month customer must renew
    eleven times to pay in month 12. DERL is not used because it runs over the whole
    remaining lifetime, which would put subscribers on a different horizon from one-off
    buyers. Each row carries the status of the fitted models behind its values (null
    when the customer is not scored by a model). A part is 0 for a customer it does not
    apply to only where its source was exported, and null where the model could not
    value it; clv_12m is the sum of the parts that exist, null when a part that exists
    is unknown.
#}
with

customers as (
    select * from {{ ref('dim_customers') }}
),

clv as (
    select * from {{ ref('fct_customer_clv') }}
),

retention as (
    select * from {{ ref('fct_customer_retention') }}
),

observation as (
    select as_of_date from {{ ref('int_observation_date') }}
),

-- months 1..12, the horizon of clv_customer_predictions (fixed there, so not a var
-- here); generated in Jinja because engines spell series functions differently
horizon_months as (
    {%- for month_number in range(1, 13) %}
        select {{ month_number }} as month_number
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

subscribers as (
    select
        customers.customer_id,
        customers.subscription_status,
        customers.current_term_end_date,
        observation.as_of_date,
        retention.renewals,
        retention.period_months,
        retention.sbg_alpha,
        retention.sbg_beta,
        retention.retention_model_status,
        -- a customer churned by notice is not scored, yet pays until the term ends
        coalesce(retention.monthly_fee, customers.current_monthly_fee) as monthly_fee
    from customers
    cross join observation
    left join retention
        on customers.customer_id = retention.customer_id
    where customers.subscription_status in ('active', 'notice_given', 'in_grace')
),

subscriber_month_dates as (
    select
        subscribers.*,
        horizon_months.month_number,
        -- a month that starts before the current term ends is contracted
        subscribers.subscription_status in ('active', 'notice_given')
        and {{ dbt.dateadd('month', 'horizon_months.month_number - 1', 'subscribers.as_of_date') }}
        < subscribers.current_term_end_date as is_contracted
    from subscribers
    cross join horizon_months
),

subscriber_month_decisions as (
    select
        *,
        -- renewal decisions between now and the start of this month: the first at the
        -- current term's end, then one per period; contracted months come first
        case
            when not is_contracted
                then
                    1 + cast(
                        floor(
                            1.0 * (
                                month_number - 1
                                - sum(case when is_contracted then 1 else 0 end)
                                    over (partition by customer_id)
                            )
                            / period_months
                        ) as {{ dbt.type_int() }}
                    )
        end as decisions_ahead
    from subscriber_month_dates
),

subscriber_months as (
    select
        customer_id,
        month_number,
        monthly_fee,
        case
            when is_contracted then 1.0
            when subscription_status = 'notice_given' then 0.0
            when retention_model_status = 'fitted'
                then {{ cx_sbg_conditional_survival(
                    cx_as_double('renewals'), 'decisions_ahead', 'sbg_alpha', 'sbg_beta'
                ) }}
        end as payment_probability
    from subscriber_month_decisions
),

subscriber_values as (
    -- a month whose payment probability is unknown (sBG not fitted) leaves the year's
    -- value unknown: summing the known months would understate it silently
    select
        customer_id,
        case
            when count(payment_probability) = count(*)
                then
                    {{ cx_sum_exact(
                        cx_as_double('monthly_fee') ~ ' * payment_probability / power(1 + '
                        ~ var('cx_clv_monthly_discount_rate', 0.01) ~ ', month_number)'
                    ) }}
        end as contract_clv_12m
    from subscriber_months
    group by customer_id
),

sources as (
    select
        {{ cx_observed(['orders', 'order_lines']) }} as is_order_observed,
        {{ cx_observed('subscriptions') }} as is_contract_observed
),

valued as (
    select
        customers.customer_id,
        sources.is_order_observed,
        sources.is_contract_observed,
        -- scored: its CLV (null when the models could not score it); not scored: 0 when
        -- orders were exported (no net purchase, or valued by a contract), else unknown
        {{ cx_as_double(
            'case when clv.customer_id is not null then clv.expected_clv_12m'
            ~ ' when sources.is_order_observed then 0 end'
        ) }} as one_off_clv_12m,
        {{ cx_as_double(
            'case when subscriber_values.customer_id is not null then subscriber_values.contract_clv_12m'
            ~ ' when sources.is_contract_observed then 0 end'
        ) }} as contract_clv_12m,
        clv.clv_model_warning,
        clv.is_clv_model_identified,
        retention.retention_model_warning,
        retention.is_retention_model_identified,
        {{ cx_join_warnings(['clv.clv_model_warning', 'retention.retention_model_warning']) }}
            as model_warnings,
        coalesce(clv.is_clv_model_identified, true)
        and coalesce(retention.is_retention_model_identified, true) as are_models_identified
    from customers
    cross join sources
    left join clv
        on customers.customer_id = clv.customer_id
    left join subscriber_values
        on customers.customer_id = subscriber_values.customer_id
    left join retention
        on customers.customer_id = retention.customer_id
),

final as (
    select
        customer_id,
        one_off_clv_12m,
        contract_clv_12m,
        clv_model_warning,
        is_clv_model_identified,
        retention_model_warning,
        is_retention_model_identified,
        model_warnings,
        are_models_identified,
        -- a part the data has no source for does not exist (a retailer without
        -- contracts); a part that exists but could not be valued leaves the total unknown
        case
            when one_off_clv_12m is null and is_order_observed then null
            when contract_clv_12m is null and is_contract_observed then null
            when one_off_clv_12m is null and contract_clv_12m is null then null
            else coalesce(one_off_clv_12m, 0) + coalesce(contract_clv_12m, 0)
        end as clv_12m
    from valued
)

select * from final
