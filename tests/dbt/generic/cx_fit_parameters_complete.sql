{#
    A fitted model's parameter table is complete: every model it holds has exactly its
    parameters, one row each, and nothing else; each model is fitted or not as a whole
    (one status); a fitted estimate is positive. `parameters` maps model to parameter
    names. Returns the offending models.
#}
{% test cx_fit_parameters_complete(model, parameters) %}

with

expected as (
    {%- for model_name, names in parameters.items() %}
        {%- for name in names %}
            select '{{ model_name }}' as model_name, '{{ name }}' as parameter_name
            {%- if not loop.last %} union all{% endif %}
        {%- endfor %}
        {%- if not loop.last %} union all{% endif %}
    {%- endfor %}
),

fit_rows as (
    select * from {{ model }}
),

matched as (
    select
        coalesce(expected.model_name, fit_rows.model) as model_name,
        count(expected.parameter_name) as expected_rows,
        count(fit_rows.parameter) as present_rows,
        sum(
            case
                when expected.parameter_name is null or fit_rows.parameter is null then 1
                else 0
            end
        ) as unmatched_rows,
        count(distinct fit_rows.status) as statuses,
        sum(case when fit_rows.status = 'fitted' and not fit_rows.estimate > 0 then 1 else 0 end)
            as invalid_estimates
    from expected
    full outer join fit_rows
        on
            expected.model_name = fit_rows.model
            and expected.parameter_name = fit_rows.parameter
    group by coalesce(expected.model_name, fit_rows.model)
),

final as (
    select * from matched
    where
        unmatched_rows > 0
        or expected_rows != present_rows
        or statuses != 1
        or invalid_estimates > 0
)

select * from final

{% endtest %}
