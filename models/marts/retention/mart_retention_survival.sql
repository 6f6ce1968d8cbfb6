{#
    The survival curves of retention_survival_curve (a Python model) as a typed table for
    BI: Kaplan-Meier with its 95 % interval and the fitted sBG curve, per retention group
    and period. Every column is cast, so the contract holds whatever the Python model
    returns for an empty export. The group columns of var cx_retention_group_by are left
    out: they vary with the var, and retention_group names them.
#}
with

curve as (
    select * from {{ ref('retention_survival_curve') }}
),

final as (
    select
        cast(retention_group as {{ dbt.type_string() }}) as retention_group,
        cast(term_months as {{ dbt.type_bigint() }}) as term_months,
        cast(period as {{ dbt.type_bigint() }}) as period,
        cast(months as {{ dbt.type_bigint() }}) as months,
        cast(at_risk as {{ dbt.type_bigint() }}) as at_risk,
        cast(churned as {{ dbt.type_bigint() }}) as churned,
        cast(censored as {{ dbt.type_bigint() }}) as censored,
        {{ cx_as_double('km_survival') }} as km_survival,
        {{ cx_as_double('km_se') }} as km_se,
        {{ cx_as_double('km_lower_95') }} as km_lower_95,
        {{ cx_as_double('km_upper_95') }} as km_upper_95,
        {{ cx_as_double('sbg_survival') }} as sbg_survival,
        cast(is_pooled_fallback as {{ dbt.type_boolean() }}) as is_pooled_fallback
    from curve
)

select * from final
