{#
    Controlled vocabularies of the raw-data contract (cx_value/contract.py holds
    the same lists; a test keeps them in step).
#}

{% macro cx_journey_stages() -%}
    {{ return(['awareness', 'consideration', 'purchase', 'onboarding', 'usage', 'service', 'renewal']) }}
{%- endmacro %}

{% macro cx_question_scales() -%}
    {{ return({'nps': [0, 10], 'csat': [1, 5], 'ces': [1, 7], 'expectation': [1, 5]}) }}
{%- endmacro %}

{% macro cx_event_types() -%}
    {{ return([
        'page_view', 'share', 'comment', 'review', 'download', 'login', 'form_fill',
        'referral_click',
    ]) }}
{%- endmacro %}

{% macro cx_quoted_list(values) -%}
    {%- for value in values -%}
        '{{ value }}'{% if not loop.last %}, {% endif %}
    {%- endfor -%}
{%- endmacro %}
