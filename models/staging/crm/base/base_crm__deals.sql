{%- set raw_columns = [
    'deal_id', 'customer_id', 'deal_type', 'status', 'amount', 'created_at',
    'closed_at', 'currency', 'loaded_at',
] -%}

with

source as (
    select * from {{ cx_source('crm', 'deals') }}
),

customers as (
    {{ cx_known_customers() }}
),

parsed as (
    select
        {{ cx_raw_passthrough(raw_columns) }},
        {{ cx_text('deal_id') }} as raw_key,
        {{ cx_id('deal_id') }} as deal_id,
        {{ cx_id('customer_id') }} as customer_id,
        {{ cx_code('deal_type') }} as deal_type,
        {{ cx_code('status') }} as deal_status,
        {{ cx_decimal('amount') }} as amount,
        {{ cx_text('amount') }} as amount_text,
        {{ cx_timestamp('created_at') }} as created_at,
        {{ cx_text('created_at') }} as created_at_text,
        {{ cx_timestamp('closed_at') }} as closed_at,
        {{ cx_text('closed_at') }} as closed_at_text,
        upper({{ cx_text('currency') }}) as currency_code,
        {{ cx_timestamp('loaded_at') }} as loaded_at,
        {{ cx_text('loaded_at') }} as loaded_at_text
    from source
),

validated as (
    select
        parsed.*,
        case
            when parsed.deal_id is null then 'missing_key'
            when
                parsed.customer_id is null
                or parsed.deal_type is null
                or parsed.deal_status is null
                or parsed.created_at_text is null
                or parsed.loaded_at_text is null
                then 'missing_required'
            when {{ cx_invalid('parsed.amount') }} then 'invalid_number'
            when
                {{ cx_invalid_time('parsed.created_at') }}
                or {{ cx_invalid_time('parsed.closed_at') }}
                or {{ cx_invalid_time('parsed.loaded_at') }}
                then 'invalid_timestamp'
            when
                parsed.deal_type not in ('quote', 'demo', 'trial')
                or parsed.deal_status not in ('open', 'won', 'lost')
                or not {{ cx_is_currency_code('parsed.currency_code') }}
                then 'invalid_value'
            when parsed.currency_code != '{{ cx_currency() }}' then 'other_currency'
            when parsed.amount < 0 then 'out_of_range'
            when
                {{ cx_is_future('parsed.created_at', 'parsed.loaded_at') }}
                or {{ cx_is_future('parsed.closed_at', 'parsed.loaded_at') }}
                then 'future_timestamp'
            when parsed.closed_at < parsed.created_at then 'inconsistent_dates'
            when customers.customer_id is null then 'unknown_customer'
            when not customers.is_staged then 'rejected_customer'
        end as reject_reason
    from parsed
    left join customers
        on parsed.customer_id = customers.customer_id
),

{{ cx_base_verdicts('validated', 'deal_id', raw_columns) }}

-- every column of the parse but the raw__ ones (cx_base_verdicts), which sqlfluff cannot count
select * from final  -- noqa: AM04
