{#
    P(alive) and expected spend are closed forms of the fitted parameters, computed
    here in SQL; the expected purchases need 2F1 and come from clv_customer_predictions.
    A model that is not fitted (status not_enough_data or failed) scores NULL; every row
    carries the models' combined status, identification flag and warnings. A customer
    whose every purchase day was cancelled or returned in full has no purchase history:
    CLV 0 by rule (nothing was kept, so nothing is expected), no model score.
#}
with

histories as (
    select * from {{ ref('int_customer_purchase_histories') }}
),

parameters as (
    select * from {{ ref('clv_bgnbd_parameters') }}
),

predictions as (
    select * from {{ ref('clv_customer_predictions') }}
),

purchase_days as (
    select * from {{ ref('int_customer_purchase_days') }}
),

observation as (
    select as_of_date from {{ ref('int_observation_date') }}
),

fully_reversed as (
    -- discretionary buyers none of whose sale days kept a net value
    select customer_id
    from purchase_days
    where not is_contract_customer
    group by customer_id
    having max(case when is_purchase then 1 else 0 end) = 0
),

fitted as (
    select
        max(case when parameter = 'r' then estimate end) as bgnbd_r,
        max(case when parameter = 'alpha' then estimate end) as bgnbd_alpha,
        max(case when parameter = 'a' then estimate end) as bgnbd_a,
        max(case when parameter = 'b' then estimate end) as bgnbd_b,
        max(case when parameter = 'p' then estimate end) as gamma_gamma_p,
        max(case when parameter = 'q' then estimate end) as gamma_gamma_q,
        max(case when parameter = 'gamma' then estimate end) as gamma_gamma_gamma,
        max(case when model = 'bgnbd' then status end) as bgnbd_status,
        max(case when model = 'gamma_gamma' then status end) as gamma_gamma_status,
        max(case when model = 'bgnbd' then warning end) as bgnbd_warning,
        max(case when model = 'gamma_gamma' then warning end) as gamma_gamma_warning,
        -- identified only when every row of both models says so
        coalesce(min(case when is_identified then 1 else 0 end), 0) = 1
            as is_clv_model_identified
    from parameters
),

fit as (
    -- the two models' combined status and warnings, the same on every row
    select
        *,
        {{ cx_combined_status(['bgnbd_status', 'gamma_gamma_status']) }} as clv_model_status,
        {{ cx_join_warnings(['bgnbd_warning', 'gamma_gamma_warning']) }} as clv_model_warning
    from fitted
),

scored as (
    select
        histories.customer_id,
        histories.as_of_date,
        histories.frequency,
        histories.recency_weeks,
        histories.t_weeks,
        -- P(alive) = 1 without a repeat purchase holds only under a fitted model
        case
            when fit.bgnbd_status = 'fitted'
                then {{ cx_bgnbd_p_alive(
                    'histories.frequency', 'histories.recency_weeks', 'histories.t_weeks',
                    'fit.bgnbd_r', 'fit.bgnbd_alpha', 'fit.bgnbd_a', 'fit.bgnbd_b'
                ) }}
        end as p_alive,
        case
            when fit.gamma_gamma_status = 'fitted'
                then {{ cx_gamma_gamma_expected_spend(
                    'histories.frequency', 'histories.monetary_value',
                    'fit.gamma_gamma_p', 'fit.gamma_gamma_q', 'fit.gamma_gamma_gamma'
                ) }}
        end as expected_spend_per_purchase,
        fit.clv_model_status,
        fit.is_clv_model_identified,
        fit.clv_model_warning
    from histories
    cross join fit
),

scored_customers as (
    select
        scored.customer_id,
        scored.as_of_date,
        cast(scored.frequency as {{ dbt.type_bigint() }}) as frequency,
        {{ cx_as_double('scored.recency_weeks') }} as recency_weeks,
        {{ cx_as_double('scored.t_weeks') }} as t_weeks,
        {{ cx_as_double('scored.p_alive') }} as p_alive,
        {{ cx_as_double('predictions.expected_purchases_52w') }}
            as expected_purchases_52w,
        {{ cx_as_double('scored.expected_spend_per_purchase') }}
            as expected_spend_per_purchase,
        {{ cx_as_double(
            'scored.expected_spend_per_purchase * predictions.discounted_purchases_12m'
        ) }} as expected_clv_12m,
        scored.clv_model_status,
        scored.is_clv_model_identified,
        scored.clv_model_warning,
        false as is_fully_reversed
    from scored
    inner join predictions
        on scored.customer_id = predictions.customer_id
),

reversed_customers as (
    select
        fully_reversed.customer_id,
        observation.as_of_date,
        cast(null as {{ dbt.type_bigint() }}) as frequency,
        cast(null as {{ dbt.type_float() }}) as recency_weeks,
        cast(null as {{ dbt.type_float() }}) as t_weeks,
        cast(null as {{ dbt.type_float() }}) as p_alive,
        cast(null as {{ dbt.type_float() }}) as expected_purchases_52w,
        cast(null as {{ dbt.type_float() }}) as expected_spend_per_purchase,
        {{ cx_as_double('0') }} as expected_clv_12m,
        fit.clv_model_status,
        fit.is_clv_model_identified,
        fit.clv_model_warning,
        true as is_fully_reversed
    from fully_reversed
    cross join observation
    cross join fit
),

final as (
    select * from scored_customers
    union all
    select * from reversed_customers
)

select * from final
