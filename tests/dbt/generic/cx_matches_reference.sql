{#
    A score computed in SQL agrees with its reference computation (a Python model)
    for every key: returns keys missing on either side and values further apart
    than the tolerance. Used where SQL scores from fitted parameters must equal
    the cx_value function they stand in for.
#}
{% test cx_matches_reference(model, column_name, reference, key, tolerance=1e-9) %}

with

sql_scores as (
    select * from {{ model }}
),

reference_scores as (
    select * from {{ reference }}
),

final as (
    select
        coalesce(sql_scores.{{ key }}, reference_scores.{{ key }}) as {{ key }},
        sql_scores.{{ column_name }} as sql_value,
        reference_scores.{{ column_name }} as reference_value
    from sql_scores
    full outer join reference_scores
        on sql_scores.{{ key }} = reference_scores.{{ key }}
    where
        sql_scores.{{ key }} is null
        or reference_scores.{{ key }} is null
        or abs(sql_scores.{{ column_name }} - reference_scores.{{ column_name }}) > {{ tolerance }}
)

select * from final

{% endtest %}
