{#
    The churn model's candidate features: the one list the feature model, the
    feature catalog and the scoring read (the Python fit reads the catalog). A
    built-in feature names the raw tables it is measured from: when one of them is
    not observed the feature is NULL on every term and the fit drops it with that
    reason. Extra columns declared with churn_feature: true (cx_extra_columns) join
    the list after the built-in ones.
#}
{% macro cx_churn_builtin_features() -%}
    {{ return([
        {'name': 'is_detractor_in_term', 'type': 'numeric', 'sources': ['survey_responses'],
         'description': '1 if the customer gave an NPS answer 0-6 in the term before the cut-off'},
        {'name': 'latest_nps', 'type': 'numeric', 'sources': ['survey_responses'],
         'description': 'latest NPS answer (0-10) before the cut-off, any stage'},
        {'name': 'csat_mean', 'type': 'numeric', 'sources': ['survey_responses'],
         'description': 'mean CSAT (1-5) answered in the term before the cut-off'},
        {'name': 'ces_mean', 'type': 'numeric', 'sources': ['survey_responses'],
         'description': 'mean CES (1-7, 7 = very easy) answered in the term before the cut-off'},
        {'name': 'has_unresolved_complaint', 'type': 'numeric', 'sources': ['tickets'],
         'description': '1 if a complaint opened in the term is unresolved at the cut-off'},
        {'name': 'ticket_count', 'type': 'numeric', 'sources': ['tickets'],
         'description': 'tickets opened in the term before the cut-off'},
        {'name': 'fcr_share', 'type': 'numeric', 'sources': ['tickets'],
         'description': 'share of those tickets solved with one agent contact and never reopened'},
        {'name': 'web_sessions_drop', 'type': 'numeric', 'sources': ['events'],
         'description': 'ln((usual + 1) / (recent + 1)) of web sessions before the cut-off; > 0 when activity fell'},
        {'name': 'discount_depth', 'type': 'numeric', 'sources': ['orders', 'order_lines'],
         'description': '1 - realised / list value of the completed order lines ordered in the term'},
        {'name': 'tenure_months_at_start', 'type': 'numeric', 'sources': ['subscriptions'],
         'description': "whole months from the customer's first term start to this term's start"},
        {'name': 'term_months', 'type': 'numeric', 'sources': ['subscriptions'],
         'description': 'whole months of the term (1 for a monthly contract, 12 for an annual one)'},
        {'name': 'monthly_fee', 'type': 'numeric', 'sources': ['subscriptions'],
         'description': 'recurring fee per month in the reporting currency'},
    ]) }}
{%- endmacro %}

{# Every candidate feature: the built-in ones, then the declared extra churn features. #}
{% macro cx_churn_features() -%}
    {%- set features = [] -%}
    {%- for feature in cx_churn_builtin_features() -%}
        {%- do features.append({
            'name': feature.name, 'type': feature.type, 'sources': feature.sources,
            'origin': 'built_in', 'description': feature.description,
        }) -%}
    {%- endfor -%}
    {%- for column in cx_extra_columns() if column.churn_feature -%}
        {%- do features.append({
            'name': column.name, 'type': column.type, 'sources': [column.table],
            'origin': 'cx_extra_columns',
            'description': column.type ~ ' column ' ~ column.name ~ ' of ' ~ column.table
                ~ ', declared in the var cx_extra_columns',
        }) -%}
    {%- endfor -%}
    {{ return(features) }}
{%- endmacro %}
