{#
    Two sBG parameters, alpha and beta, always; fitted ones have a positive value,
    and both rows share one status.
#}
with

parameters as (
    select * from {{ ref('retention_sbg_parameters') }}
),

counted as (
    select
        sum(case when parameter in ('alpha', 'beta') then 1 else 0 end) as n_sbg,
        count(*) as n_rows,
        sum(
            case
                when status != 'fitted' or estimate > 0 then 0
                else 1
            end
        ) as n_invalid,
        count(distinct status) as n_statuses
    from parameters
),

final as (
    select *
    from counted
    where
        n_sbg != 2
        or n_rows != 2
        or n_invalid > 0
        or n_statuses != 1
)

select * from final
