{# A row-level invariant: returns the rows of the model where the expression is not true. #}
{% test cx_expression_true(model, expression) %}

select * from {{ model }}
where not coalesce({{ expression }}, false)

{% endtest %}
