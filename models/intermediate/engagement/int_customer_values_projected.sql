{#
    The economic part of engagement value: what each customer is expected to pay
    in the 12 months after the observation date, discounted monthly. One row per
    customer of dim_customers, so that CLV and CRV read one definition.

    One-off buyers: expected_clv_12m of fct_customer_clv (BG/NBD + Gamma-Gamma).
    Subscribers: the contractual side on the same horizon and discount rate. A month
    still inside the current term is paid for sure (it is contracted); a month after
    the term's end is paid with the sBG next-renewal probability of
    fct_customer_retention, or not at all when notice was given. DERL is not used
    because it runs over the whole remaining lifetime, which would put subscribers
    on a different horizon from one-off buyers. Each row carries the status of the
    fitted models behind its values (null when the customer is not scored by a model).
    A part is 0 for a customer it does not apply to only where its source was
    exported, and null where the model could not value it; clv_12m is the sum of the
    parts that exist, null when a part that exists is unknown.
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

-- months 1..12, the horizon of clv_customer_predictions (fixed there, so not a var
-- here); generated in Jinja because engines spell series functions differently
horizon_months as (
    {%- for month_number in range(1, 13) %}
        select {{ month_number }} as month_number
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

subscriber_months as (
    select
        retention.customer_id,
        horizon_months.month_number,
        retention.monthly_fee,
        case
            -- a month that starts before the current term ends is contracted
            when
                customers.subscription_status in ('active', 'notice_given')
                and {{ dbt.dateadd('month', 'horizon_months.month_number - 1', 'retention.as_of_date') }}
                < customers.current_term_end_date
                then 1.0
            when customers.subscription_status = 'notice_given' then 0.0
            else retention.renewal_probability
        end as payment_probability
    from retention
    inner join customers
        on retention.customer_id = customers.customer_id
    cross join horizon_months
),

subscriber_values as (
    -- a month whose payment probability is unknown (sBG not fitted) leaves the year's
    -- value unknown: summing the known months would understate it silently
    select
        customer_id,
        case
            when count(payment_probability) = count(*)
                then
                    sum(
                        {{ cx_as_double('monthly_fee') }} * payment_probability
                        / power(1 + {{ var('cx_clv_monthly_discount_rate', 0.01) }}, month_number)
                    )
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
