{#
    The next-renewal probability is a closed form of the group's fitted sBG parameters,
    computed here in SQL; DERL needs 2F1 and comes from retention_customer_predictions.
    When the customer's group is not fitted (status not_enough_data or failed) the scores
    are NULL; every row carries its group's status, fit scope, identification flag and
    warning.
#}
with

durations as (
    select * from {{ ref('int_customer_contract_durations') }}
),

parameters as (
    select * from {{ ref('retention_sbg_parameters') }}
),

predictions as (
    select * from {{ ref('retention_customer_predictions') }}
),

fitted as (
    select
        retention_group,
        max(case when parameter = 'alpha' then estimate end) as sbg_alpha,
        max(case when parameter = 'beta' then estimate end) as sbg_beta,
        max(status) as retention_model_status,
        max(fit_scope) as retention_fit_scope,
        coalesce(min(case when is_pooled_fallback then 1 else 0 end), 0) = 1
            as is_pooled_fallback,
        -- identified only when both rows say so
        coalesce(min(case when is_identified then 1 else 0 end), 0) = 1
            as is_retention_model_identified,
        max(warning) as retention_model_warning
    from parameters
    group by retention_group
),

active as (
    select *
    from durations
    where not is_churned
),

scored as (
    select
        active.customer_id,
        active.as_of_date,
        active.first_start_date,
        active.retention_group,
        active.period_months,
        active.renewals,
        active.latest_monthly_fee,
        fitted.sbg_alpha,
        fitted.sbg_beta,
        case
            when fitted.retention_model_status = 'fitted'
                then {{ cx_sbg_renewal_probability(
                    cx_as_double('active.renewals'), 'fitted.sbg_alpha', 'fitted.sbg_beta'
                ) }}
        end as renewal_probability,
        fitted.retention_model_status,
        fitted.retention_fit_scope,
        fitted.is_pooled_fallback,
        fitted.is_retention_model_identified,
        fitted.retention_model_warning
    from active
    inner join fitted
        on active.retention_group = fitted.retention_group
),

final as (
    select
        scored.customer_id,
        scored.as_of_date,
        scored.first_start_date,
        scored.retention_group,
        cast(scored.period_months as {{ dbt.type_bigint() }}) as period_months,
        cast(scored.renewals as {{ dbt.type_bigint() }}) as renewals,
        cast(scored.latest_monthly_fee as decimal(18, 2)) as monthly_fee,
        {{ cx_as_double('scored.renewal_probability') }} as renewal_probability,
        {{ cx_as_double('predictions.discounted_expected_residual_lifetime') }}
            as discounted_expected_residual_lifetime,
        {{ cx_as_double('scored.sbg_alpha') }} as sbg_alpha,
        {{ cx_as_double('scored.sbg_beta') }} as sbg_beta,
        scored.retention_model_status,
        scored.retention_fit_scope,
        scored.is_pooled_fallback,
        scored.is_retention_model_identified,
        scored.retention_model_warning
    from scored
    inner join predictions
        on scored.customer_id = predictions.customer_id
)

select * from final
