{#
    P(alive) and expected spend are closed forms of the fitted parameters, computed
    here in SQL; the expected purchases need 2F1 and come from clv_customer_predictions.
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

fitted as (
    select
        max(case when parameter = 'r' then estimate end) as bgnbd_r,
        max(case when parameter = 'alpha' then estimate end) as bgnbd_alpha,
        max(case when parameter = 'a' then estimate end) as bgnbd_a,
        max(case when parameter = 'b' then estimate end) as bgnbd_b,
        max(case when parameter = 'p' then estimate end) as gamma_gamma_p,
        max(case when parameter = 'q' then estimate end) as gamma_gamma_q,
        max(case when parameter = 'gamma' then estimate end) as gamma_gamma_gamma
    from parameters
),

scored as (
    select
        histories.customer_id,
        histories.as_of_date,
        histories.frequency,
        histories.recency_weeks,
        histories.t_weeks,
        {{ cx_bgnbd_p_alive(
            'histories.frequency', 'histories.recency_weeks', 'histories.t_weeks',
            'fitted.bgnbd_r', 'fitted.bgnbd_alpha', 'fitted.bgnbd_a', 'fitted.bgnbd_b'
        ) }} as p_alive,
        {{ cx_gamma_gamma_expected_spend(
            'histories.frequency', 'histories.monetary_value',
            'fitted.gamma_gamma_p', 'fitted.gamma_gamma_q', 'fitted.gamma_gamma_gamma'
        ) }} as expected_spend_per_purchase
    from histories
    cross join fitted
),

final as (
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
        ) }} as expected_clv_12m
    from scored
    inner join predictions
        on scored.customer_id = predictions.customer_id
)

select * from final
