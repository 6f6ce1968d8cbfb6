{# Two sBG parameters, alpha and beta, each fitted to a positive, finite value. #}
with

parameters as (
    select * from {{ ref('retention_sbg_parameters') }}
),

counted as (
    select
        sum(case when parameter in ('alpha', 'beta') then 1 else 0 end) as n_sbg,
        count(*) as n_rows,
        sum(case when estimate > 0 and estimate < 1e12 then 0 else 1 end) as n_invalid
    from parameters
),

final as (
    select *
    from counted
    where
        n_sbg != 2
        or n_rows != 2
        or n_invalid > 0
)

select * from final
