{#
    Weights of the customer health score (mart_customer_health), one var each with
    its default here, so the model and the weights test read the same numbers.
    Defaults and their reasons: DECISIONLOG "ROI and customer health".
#}
{% macro cx_health_weights() -%}
    {{ return({
        'nps': var('cx_health_weight_nps', 0.25) | float,
        'ces': var('cx_health_weight_ces', 0.15) | float,
        'complaint': var('cx_health_weight_complaints', 0.20) | float,
        'usage': var('cx_health_weight_usage', 0.15) | float,
        'survival': var('cx_health_weight_survival', 0.25) | float,
    }) }}
{%- endmacro %}

{#
    The compiled weights must sum to 1 (to 1e-9) and none may be negative; returns
    one row, the failure, otherwise none. Runs on every build, so a var override
    that breaks the scale fails the build.
#}
{% test cx_health_weights_sum_to_one(model) %}
    {%- set weights = cx_health_weights() -%}
    {%- set total = weights.values() | sum -%}
    {%- set smallest = weights.values() | min %}
    select
        {{ total }} as weight_sum,
        {{ smallest }} as smallest_weight
    from (select 1 as one) as single_row
    where {{ total }} < 1 - 1e-9 or {{ total }} > 1 + 1e-9 or {{ smallest }} < 0
{% endtest %}

{#
    The customer's value at stake (health and early warnings): the forward-looking
    value (expected 12-month CLV plus a year of a live contract's fees), never below
    what the customer paid in the last 12 months, over the parts that are known;
    null when none is (no model scored the customer and no order history covers it).
#}
{% macro cx_value_at_stake(expected_clv, contract_value, trailing_revenue) -%}
    case
        when
            {{ expected_clv }} is not null
            or {{ contract_value }} is not null
            or {{ trailing_revenue }} is not null
            then
                greatest(
                    coalesce({{ expected_clv }}, 0) + coalesce({{ contract_value }}, 0),
                    coalesce({{ trailing_revenue }}, 0)
                )
    end
{%- endmacro %}
