{#
    A fitted model's parameter table is complete: every model it holds has exactly its
    parameters, one row each, and nothing else; each model is fitted or not as a whole
    (one status); a fitted estimate is positive. `parameters` maps model to parameter
    names. With `group_by` (a column, e.g. retention_group) the table holds one such set
    per group and the rules hold within every group. Returns the offending models.
#}
{% test cx_fit_parameters_complete(model, parameters, group_by=none) %}

{%- set group_expression = group_by if group_by else "'all'" %}

with

expected_parameters as (
    {%- for model_name, names in parameters.items() %}
        {%- for name in names %}
            select '{{ model_name }}' as model_name, '{{ name }}' as parameter_name
            {%- if not loop.last %} union all{% endif %}
        {%- endfor %}
        {%- if not loop.last %} union all{% endif %}
    {%- endfor %}
),

fit_rows as (
    select
        *,
        {{ group_expression }} as fit_group
    from {{ model }}
),

fit_groups as (
    {%- if group_by %}
        select distinct fit_group from fit_rows
    {%- else %}
        -- one set expected even from an empty table
        select 'all' as fit_group
    {%- endif %}
),

expected as (
    select
        fit_groups.fit_group,
        expected_parameters.model_name,
        expected_parameters.parameter_name
    from expected_parameters
    cross join fit_groups
),

matched as (
    select
        coalesce(expected.fit_group, fit_rows.fit_group) as fit_group,
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
            expected.fit_group = fit_rows.fit_group
            and expected.model_name = fit_rows.model
            and expected.parameter_name = fit_rows.parameter
    group by
        coalesce(expected.fit_group, fit_rows.fit_group),
        coalesce(expected.model_name, fit_rows.model)
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
