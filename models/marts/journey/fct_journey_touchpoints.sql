{#
    The customer journey, one row per touchpoint of a known customer: web sessions,
    deals opened and closed, orders, contract terms started and lost, tickets and
    answered questionnaires, each in its stage with its scores and negative-experience
    flag. Built in int_journey_touchpoints_unioned; the fact pins the types.
#}
with

touchpoints as (
    select * from {{ ref('int_journey_touchpoints_unioned') }}
),

final as (
    select
        touchpoint_id,
        customer_id,
        touchpoint_at,
        touchpoint_date,
        stage,
        cast(stage_number as {{ dbt.type_int() }}) as stage_number,
        touchpoint_type,
        touchpoint_name,
        channel,
        source_id,
        cast(nps_score as {{ dbt.type_int() }}) as nps_score,
        cast(csat_score as {{ dbt.type_int() }}) as csat_score,
        cast(ces_score as {{ dbt.type_int() }}) as ces_score,
        cast(expectation_score as {{ dbt.type_int() }}) as expectation_score,
        cast(expectation_gap as {{ dbt.type_int() }}) as expectation_gap,
        is_negative_experience,
        cast(customer_touchpoint_number as {{ dbt.type_bigint() }}) as customer_touchpoint_number
    from touchpoints
)

select * from final
