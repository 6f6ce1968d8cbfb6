{#
    The sBG score macros over the hand-worked cases in seed sbg_survival_cases;
    returns the cases whose result is off by more than 1e-9 (the expected values carry
    15 significant digits) or null.
#}
with

cases as (
    select * from {{ ref('sbg_survival_cases') }}
),

results as (
    select
        case_id,
        expected_renewal_probability,
        expected_conditional_survival,
        {{ cx_sbg_renewal_probability(cx_as_double('renewals'), 'alpha', 'beta') }}
            as renewal_probability,
        {{ cx_sbg_conditional_survival(cx_as_double('renewals'), 'decisions', 'alpha', 'beta') }}
            as conditional_survival
    from cases
),

final as (
    select *
    from results
    where
        not abs(renewal_probability - expected_renewal_probability) <= 1e-9
        or not abs(conditional_survival - expected_conditional_survival) <= 1e-9
        or renewal_probability is null
        or conditional_survival is null
)

select * from final
