{#
    Rendered from cx_value/contract.py by `cx-value contract render`: edit the
    contract, not this file. The raw tables, their key and their columns, for the
    macros and models that treat every raw table alike (cx_source reads exactly
    these columns; optional ones may be missing from a file or table). `erasure`
    links a row to its customer for the erasure list (cx_erasure.sql).
#}
{% macro cx_raw_tables() -%}
    {{ return([
        {'source': 'crm', 'table': 'customers', 'key': 'customer_id',
         'columns': ['customer_id', 'account_name', 'customer_type', 'segment', 'country', 'acquisition_channel', 'owner_id', 'created_at', 'loaded_at'],
         'required_columns': ['customer_id', 'customer_type', 'segment', 'created_at', 'loaded_at'],
         'erasure': {'customer_columns': ['customer_id'], 'parent': none, 'device_column': none}},
        {'source': 'crm', 'table': 'contacts', 'key': 'contact_id',
         'columns': ['contact_id', 'customer_id', 'first_name', 'last_name', 'email', 'phone', 'job_title', 'is_primary', 'created_at', 'loaded_at'],
         'required_columns': ['contact_id', 'customer_id', 'created_at', 'loaded_at'],
         'erasure': {'customer_columns': ['customer_id'], 'parent': none, 'device_column': none}},
        {'source': 'crm', 'table': 'deals', 'key': 'deal_id',
         'columns': ['deal_id', 'customer_id', 'deal_type', 'status', 'amount', 'created_at', 'closed_at', 'currency', 'loaded_at'],
         'required_columns': ['deal_id', 'customer_id', 'deal_type', 'status', 'created_at', 'loaded_at'],
         'erasure': {'customer_columns': ['customer_id'], 'parent': none, 'device_column': none}},
        {'source': 'crm', 'table': 'orders', 'key': 'order_id',
         'columns': ['order_id', 'customer_id', 'ordered_at', 'channel', 'status', 'order_type', 'original_order_id', 'subscription_id', 'currency', 'loaded_at'],
         'required_columns': ['order_id', 'customer_id', 'ordered_at', 'status', 'loaded_at'],
         'erasure': {'customer_columns': ['customer_id'], 'parent': none, 'device_column': none}},
        {'source': 'crm', 'table': 'order_lines', 'key': 'order_line_id',
         'columns': ['order_line_id', 'order_id', 'product_id', 'quantity', 'list_price', 'realised_price', 'unit_cost', 'loaded_at'],
         'required_columns': ['order_line_id', 'order_id', 'quantity', 'list_price', 'realised_price', 'loaded_at'],
         'erasure': {'customer_columns': [], 'parent': {'column': 'order_id', 'table': 'orders'}, 'device_column': none}},
        {'source': 'crm', 'table': 'subscriptions', 'key': 'subscription_id',
         'columns': ['subscription_id', 'customer_id', 'plan', 'start_date', 'end_date', 'monthly_fee', 'cancelled_at', 'previous_subscription_id', 'currency', 'loaded_at'],
         'required_columns': ['subscription_id', 'customer_id', 'start_date', 'end_date', 'monthly_fee', 'loaded_at'],
         'erasure': {'customer_columns': ['customer_id'], 'parent': none, 'device_column': none}},
        {'source': 'crm', 'table': 'tickets', 'key': 'ticket_id',
         'columns': ['ticket_id', 'customer_id', 'channel', 'category', 'is_complaint', 'opened_at', 'first_response_at', 'resolved_at', 'reopen_count', 'agent_contacts', 'loaded_at'],
         'required_columns': ['ticket_id', 'customer_id', 'channel', 'is_complaint', 'opened_at', 'reopen_count', 'loaded_at'],
         'erasure': {'customer_columns': ['customer_id'], 'parent': none, 'device_column': none}},
        {'source': 'crm', 'table': 'referrals', 'key': 'referral_id',
         'columns': ['referral_id', 'referrer_customer_id', 'referred_customer_id', 'referred_at', 'channel', 'loaded_at'],
         'required_columns': ['referral_id', 'referrer_customer_id', 'referred_customer_id', 'referred_at', 'loaded_at'],
         'erasure': {'customer_columns': ['referrer_customer_id', 'referred_customer_id'], 'parent': none, 'device_column': none}},
        {'source': 'surveys', 'table': 'survey_responses', 'key': 'response_id',
         'columns': ['response_id', 'customer_id', 'contact_id', 'survey_id', 'stage', 'touchpoint', 'question_type', 'score', 'scale_direction', 'comment', 'sent_at', 'answered_at', 'loaded_at'],
         'required_columns': ['response_id', 'customer_id', 'stage', 'touchpoint', 'question_type', 'score', 'answered_at', 'loaded_at'],
         'erasure': {'customer_columns': ['customer_id'], 'parent': none, 'device_column': none}},
        {'source': 'web', 'table': 'events', 'key': 'event_id',
         'columns': ['event_id', 'anonymous_id', 'user_id', 'event_type', 'event_at', 'page_url', 'referrer', 'campaign', 'loaded_at'],
         'required_columns': ['event_id', 'event_type', 'event_at', 'loaded_at'],
         'erasure': {'customer_columns': ['user_id'], 'parent': none, 'device_column': 'anonymous_id'}},
    ]) }}
{%- endmacro %}

{# Tables every export must have; any other may be declared absent. #}
{% macro cx_required_tables() -%}
    {{ return(['customers']) }}
{%- endmacro %}

{# Columns of the contract holding personal data: never a feature, never carried. #}
{% macro cx_pii_columns() -%}
    {{ return(['account_name', 'email', 'first_name', 'last_name', 'phone']) }}
{%- endmacro %}

{% macro cx_order_types() -%}
    {{ return(['order', 'return', 'credit_note', 'contract_billing']) }}
{%- endmacro %}

{% macro cx_order_statuses() -%}
    {{ return(['completed', 'cancelled', 'returned']) }}
{%- endmacro %}
