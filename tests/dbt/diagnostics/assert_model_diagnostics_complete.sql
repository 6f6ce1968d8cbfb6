{# Every fitted model has its row: bgnbd, gamma_gamma, sbg and churn_logistic. #}
with

diagnostics as (
    select * from {{ ref('mart_model_diagnostics') }}
),

counted as (
    select
        count(*) as n_models,
        sum(case when status is null then 1 else 0 end) as n_without_status
    from diagnostics
),

final as (
    select *
    from counted
    where n_models != 4 or n_without_status > 0
)

select * from final
