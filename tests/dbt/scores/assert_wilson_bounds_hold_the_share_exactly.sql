{#
    The Wilson interval of a share always holds the share, and at the edges it is exact:
    a lower bound of 0 at a share of 0 and an upper bound of 100 at a share of 100. The
    hand cases compare within 1e-9, which hides a bound 1e-17 on the wrong side of the
    share; this compares exactly. Returns the cases that break it.
#}
with

cases as (

    select * from {{ ref('score_cases') }}
    where csat_respondents > 0

),

bounds as (

    select
        case_id,
        csat_satisfied,
        csat_respondents,
        {{ cx_csat_share('csat_satisfied', 'csat_respondents') }} as csat_share,
        {{ cx_wilson_lower('csat_satisfied', 'csat_respondents') }} as lower_bound,
        {{ cx_wilson_upper('csat_satisfied', 'csat_respondents') }} as upper_bound
    from cases

)

select *
from bounds
where
    not (lower_bound <= csat_share and csat_share <= upper_bound)
    or (csat_satisfied = 0 and lower_bound != 0)
    or (csat_satisfied = csat_respondents and upper_bound != 100)
