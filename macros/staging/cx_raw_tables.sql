{#
    The raw tables and the staging models built on them, for models and tests
    that treat every raw table alike (cx_value/contract.py holds the same list;
    a test keeps them in step).
#}
{% macro cx_raw_tables() -%}
    {{ return([
        {'source': 'crm', 'table': 'customers'},
        {'source': 'crm', 'table': 'contacts'},
        {'source': 'crm', 'table': 'deals'},
        {'source': 'crm', 'table': 'orders'},
        {'source': 'crm', 'table': 'order_lines'},
        {'source': 'crm', 'table': 'subscriptions'},
        {'source': 'crm', 'table': 'tickets'},
        {'source': 'crm', 'table': 'referrals'},
        {'source': 'surveys', 'table': 'survey_responses'},
        {'source': 'web', 'table': 'events'},
    ]) }}
{%- endmacro %}
