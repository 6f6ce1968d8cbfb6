{#
    One row per fitted model, for the summary and for anyone reading a score: whether
    the model was fitted, on how much data, and whether its parameters are identified.
    The four models are listed even when a parameter table lacks one (its status is
    then null, which a test catches). sBG is fitted per retention group; its row sums
    the groups up: fitted when every group is, identified when every group is fitted on
    its own data and identified, the groups' warnings joined.
#}
with

as_of as (
    select * from {{ ref('int_observation_date') }}
),

clv_parameters as (
    select * from {{ ref('clv_bgnbd_parameters') }}
),

sbg_parameters as (
    select * from {{ ref('retention_sbg_parameters') }}
),

churn_coefficients as (
    select * from {{ ref('churn_model_coefficients') }}
),

-- `model` is the parameter tables' own column name, kept although it is a keyword
model_catalogue as (
    select
        'bgnbd' as model,  -- noqa: RF04
        1 as model_order,
        'BG/NBD: purchase rate and dropout of one-off buyers' as model_name,
        'one-off customers with a completed purchase' as sample_unit,
        'fct_customer_clv (p_alive, expected_purchases_52w, expected_clv_12m)' as scored_in
    union all
    select
        'gamma_gamma' as model,  -- noqa: RF04
        2 as model_order,
        'Gamma-Gamma: spend per purchase of one-off buyers' as model_name,
        'repeat buyers with a positive mean spend' as sample_unit,
        'fct_customer_clv (expected_spend_per_purchase, expected_clv_12m)' as scored_in
    union all
    select
        'sbg' as model,  -- noqa: RF04
        3 as model_order,
        'sBG: contract renewal of subscribers' as model_name,
        'subscribers with a decided first period, over all retention groups' as sample_unit,
        'fct_customer_retention (renewal_probability, discounted_expected_residual_lifetime)'
            as scored_in
    union all
    select
        'churn_logistic' as model,  -- noqa: RF04
        4 as model_order,
        'Logistic regression: churn risk of B2B contract terms' as model_name,
        'labelled contract terms' as sample_unit,
        'fct_contract_churn_risk (churn_probability, risk_band, top drivers)' as scored_in
),

likelihood_parameters as (
    select
        model,
        parameter,
        estimate,
        standard_error,
        status
    from clv_parameters
    union all
    select
        model,
        {{ dbt.concat(['retention_group', "': '", 'parameter']) }} as parameter,
        estimate,
        standard_error,
        status
    from sbg_parameters
),

-- the parameter whose standard error is largest against its estimate; parameters
-- without a computable standard error come last (the warning names them)
ranked_parameters as (
    select
        model,
        parameter,
        standard_error / estimate as standard_error_ratio,
        row_number() over (
            partition by model
            order by coalesce(standard_error / estimate, -1) desc, parameter asc
        ) as ratio_rank
    from likelihood_parameters
    where status = 'fitted'
),

clv_models as (
    select
        model,
        max(status) as status,
        max(status_reason) as status_reason,
        max(n_customers) as sample_size,
        max(log_likelihood) as log_likelihood,
        case
            when count(converged) > 0 then min(case when converged then 1 else 0 end) = 1
        end as converged,
        coalesce(min(case when is_identified then 1 else 0 end), 0) = 1 as is_identified,
        max(warning) as warning
    from clv_parameters
    group by model
),

sbg_groups as (
    select
        retention_group,
        max(status) as status,
        max(status_reason) as status_reason,
        max(group_customers) as group_customers,
        max(log_likelihood) as log_likelihood,
        case
            when count(converged) > 0 then min(case when converged then 1 else 0 end) = 1
        end as converged,
        coalesce(min(case when is_identified then 1 else 0 end), 0) = 1 as is_identified,
        coalesce(max(case when is_pooled_fallback then 1 else 0 end), 0) = 1
            as is_pooled_fallback,
        max(warning) as warning
    from sbg_parameters
    group by retention_group
),

sbg_model as (
    select
        'sbg' as model,  -- noqa: RF04
        case
            when sum(case when status <> 'fitted' then 1 else 0 end) = 0 then 'fitted'
            when sum(case when status = 'failed' then 1 else 0 end) > 0 then 'failed'
            else 'not_enough_data'
        end as status,
        {{ dbt.listagg(
            dbt.concat(['retention_group', "': '", 'status_reason']),
            "'; '", 'order by retention_group'
        ) }} as status_reason,
        sum(group_customers) as sample_size,
        -- the groups' samples are disjoint, so their log-likelihoods add up; a pooled
        -- fit counts customers of other groups again
        case
            when
                sum(
                    case when status <> 'fitted' or is_pooled_fallback then 1 else 0 end
                ) = 0
                then sum(log_likelihood)
        end as log_likelihood,
        case
            when count(converged) > 0 then min(case when converged then 1 else 0 end) = 1
        end as converged,
        coalesce(
            min(
                case
                    when status = 'fitted' and is_identified and not is_pooled_fallback then 1
                    else 0
                end
            ),
            0
        ) = 1 as is_identified,
        {{ dbt.listagg('warning', "'. '", 'order by retention_group') }} as warning
    from sbg_groups
),

likelihood_models as (
    select * from clv_models
    union all
    select * from sbg_model
),

churn_model as (
    select
        'churn_logistic' as model,  -- noqa: RF04
        max(status) as status,
        max(status_reason) as status_reason,
        max(n_train) as sample_size,
        max(log_likelihood) as log_likelihood,
        case
            when count(converged) > 0 then min(case when converged then 1 else 0 end) = 1
        end as converged,
        coalesce(min(case when is_identified then 1 else 0 end), 0) = 1 as is_identified,
        max(warning) as warning
    from churn_coefficients
),

fitted_models as (
    select * from likelihood_models
    union all
    select * from churn_model
),

final as (
    select
        model_catalogue.model,
        cast(model_catalogue.model_order as {{ dbt.type_int() }}) as model_order,
        model_catalogue.model_name,
        fitted_models.status,
        fitted_models.status_reason,
        cast(fitted_models.sample_size as {{ dbt.type_bigint() }}) as sample_size,
        model_catalogue.sample_unit,
        {{ cx_as_double('fitted_models.log_likelihood') }} as log_likelihood,
        fitted_models.converged,
        coalesce(fitted_models.is_identified, false) as is_identified,
        {{ cx_as_double('ranked_parameters.standard_error_ratio') }}
            as max_standard_error_ratio,
        ranked_parameters.parameter as max_standard_error_ratio_parameter,
        fitted_models.warning,
        model_catalogue.scored_in,
        as_of.as_of_date
    from model_catalogue
    cross join as_of
    left join fitted_models
        on model_catalogue.model = fitted_models.model
    left join ranked_parameters
        on
            model_catalogue.model = ranked_parameters.model
            and ranked_parameters.ratio_rank = 1
)

select * from final
