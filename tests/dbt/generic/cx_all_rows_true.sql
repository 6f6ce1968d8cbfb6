{# Every row of the model has the boolean column true; returns the rows where it is not. #}
{% test cx_all_rows_true(model, column_name) %}

select * from {{ model }}
where not coalesce({{ column_name }}, false)

{% endtest %}
