{#
    Four BG/NBD and three Gamma-Gamma parameters, always; each fitted one has a positive
    value, and a model is fitted or not as a whole.
#}
with

parameters as (
    select * from {{ ref('clv_bgnbd_parameters') }}
),

counted as (
    select
        sum(case when model = 'bgnbd' then 1 else 0 end) as n_bgnbd,
        sum(case when model = 'gamma_gamma' then 1 else 0 end) as n_gamma_gamma,
        sum(
            case
                when status != 'fitted' or estimate > 0 then 0
                else 1
            end
        ) as n_invalid,
        count(distinct case when model = 'bgnbd' then status end) as n_bgnbd_statuses,
        count(distinct case when model = 'gamma_gamma' then status end)
            as n_gamma_gamma_statuses
    from parameters
),

final as (
    select *
    from counted
    where
        n_bgnbd != 4
        or n_gamma_gamma != 3
        or n_invalid > 0
        or n_bgnbd_statuses != 1
        or n_gamma_gamma_statuses != 1
)

select * from final
