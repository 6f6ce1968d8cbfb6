{%- set raw_columns = [
    'order_id', 'customer_id', 'ordered_at', 'channel', 'status', 'order_type',
    'original_order_id', 'subscription_id', 'currency', 'loaded_at',
] -%}

with

source as (
    select * from {{ cx_source('crm', 'orders') }}
),

customers as (
    {{ cx_known_customers() }}
),

parsed as (
    select
        {{ cx_raw_passthrough(raw_columns) }},
        {{ cx_text('order_id') }} as raw_key,
        {{ cx_id('order_id') }} as order_id,
        {{ cx_id('customer_id') }} as customer_id,
        {{ cx_timestamp('ordered_at') }} as ordered_at,
        {{ cx_text('ordered_at') }} as ordered_at_text,
        {{ cx_code('channel') }} as order_channel,
        {{ cx_code('status') }} as order_status,
        {{ cx_code('order_type') }} as order_type_text,
        {{ cx_id('original_order_id') }} as original_order_id,
        {{ cx_id('subscription_id') }} as subscription_id,
        upper({{ cx_text('currency') }}) as currency_code,
        {{ cx_timestamp('loaded_at') }} as loaded_at,
        {{ cx_text('loaded_at') }} as loaded_at_text
    from source
),

validated as (
    select
        parsed.*,
        case
            when parsed.order_id is null then 'missing_key'
            when
                parsed.customer_id is null
                or parsed.ordered_at_text is null
                or parsed.order_status is null
                or parsed.loaded_at_text is null
                then 'missing_required'
            when {{ cx_invalid_time('parsed.ordered_at') }} or {{ cx_invalid_time('parsed.loaded_at') }}
                then 'invalid_timestamp'
            when
                parsed.order_status not in ({{ cx_quoted_list(cx_order_statuses()) }})
                or parsed.order_type_text not in ({{ cx_quoted_list(cx_order_types()) }})
                or not {{ cx_is_currency_code('parsed.currency_code') }}
                then 'invalid_value'
            when parsed.currency_code != '{{ cx_currency() }}' then 'other_currency'
            when {{ cx_is_future('parsed.ordered_at', 'parsed.loaded_at') }} then 'future_timestamp'
            when customers.customer_id is null then 'unknown_customer'
            when not customers.is_staged then 'rejected_customer'
        end as reject_reason
    from parsed
    left join customers
        on parsed.customer_id = customers.customer_id
),

derived as (
    select
        *,
        -- a bill of a contract term is contract revenue, never a one-off purchase;
        -- a return or credit note stays one whatever it credits
        case
            when order_type_text in ('return', 'credit_note') then order_type_text
            when subscription_id is not null then 'contract_billing'
            else coalesce(order_type_text, 'order')
        end as order_type
    from validated
),

{{ cx_base_verdicts('derived', 'order_id', raw_columns) }}

-- every column of the parse but the raw__ ones (cx_base_verdicts), which sqlfluff cannot count
select * from final  -- noqa: AM04
