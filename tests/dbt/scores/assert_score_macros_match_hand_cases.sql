{#
    Every score macro over the hand-worked cases in seed score_cases; returns
    one row per case and result that differs from its expected column: null
    where a value is expected or the other way round, a boolean that differs,
    or a number off by more than 1e-9 relative (absolute below 1).
#}
{%- set numeric_checks = [
    ('nps', cx_nps('promoters', 'detractors', 'respondents')),
    ('nps_variance', cx_nps_variance('promoters', 'detractors', 'respondents')),
    ('nps_adjusted', cx_nps_adjusted('promoters', 'detractors', 'respondents')),
    ('nps_lower', cx_nps_lower('promoters', 'detractors', 'respondents', confidence=0.95)),
    ('nps_upper', cx_nps_upper('promoters', 'detractors', 'respondents', confidence=0.95)),
    ('nps_change_z', cx_nps_change_z(
        'promoters', 'detractors', 'respondents',
        'prior_promoters', 'prior_detractors', 'prior_respondents')),
    ('csat_share', cx_csat_share('csat_satisfied', 'csat_respondents')),
    ('csat_mean', cx_score_mean('csat_score_sum', 'csat_respondents')),
    ('csat_wilson_lower', cx_wilson_lower('csat_satisfied', 'csat_respondents')),
    ('csat_wilson_upper', cx_wilson_upper('csat_satisfied', 'csat_respondents')),
    ('ces_share', cx_ces_share('ces_easy', 'ces_respondents')),
    ('ces_mean', cx_score_mean('ces_score_sum', 'ces_respondents')),
] -%}
{%- set boolean_checks = [
    ('is_too_small', cx_is_too_small('respondents')),
    ('is_nps_change_significant', cx_nps_change_is_significant(
        'promoters', 'detractors', 'respondents',
        'prior_promoters', 'prior_detractors', 'prior_respondents')),
] -%}

with

cases as (

    select * from {{ ref('score_cases') }}

),

results as (

    {% for name, expression in numeric_checks %}
    select
        case_id,
        '{{ name }}' as result_name,
        {{ cx_as_double(expression) }} as actual_value,
        expected_{{ name }} as expected_value
    from cases
    union all
    {% endfor %}
    {#- booleans as 1 / 0, so that one comparison serves both kinds #}
    {% for name, expression in boolean_checks %}
    select
        case_id,
        '{{ name }}' as result_name,
        case when {{ expression }} then 1.0 when not {{ expression }} then 0.0 end as actual_value,
        case
            when expected_{{ name }} then 1.0 when not expected_{{ name }} then 0.0
        end as expected_value
    from cases
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

compared as (

    select
        *,
        case
            when actual_value is null and expected_value is null then false
            when actual_value is null or expected_value is null then true
            else abs(actual_value - expected_value) > 1e-9 * greatest(1, abs(expected_value))
        end as is_mismatch
    from results

)

select case_id, result_name, actual_value, expected_value
from compared
where is_mismatch
