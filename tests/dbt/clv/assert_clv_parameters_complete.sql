{# Four BG/NBD and three Gamma-Gamma parameters, each fitted to a positive, finite value. #}
with

parameters as (
    select * from {{ ref('clv_bgnbd_parameters') }}
),

counted as (
    select
        sum(case when model = 'bgnbd' then 1 else 0 end) as n_bgnbd,
        sum(case when model = 'gamma_gamma' then 1 else 0 end) as n_gamma_gamma,
        sum(case when estimate > 0 and estimate < 1e12 then 0 else 1 end) as n_invalid
    from parameters
),

final as (
    select *
    from counted
    where
        n_bgnbd != 4
        or n_gamma_gamma != 3
        or n_invalid > 0
)

select * from final
