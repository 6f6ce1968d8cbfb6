{%- set raw_columns = [
    'subscription_id', 'customer_id', 'plan', 'start_date', 'end_date',
    'monthly_fee', 'cancelled_at', 'previous_subscription_id', 'currency', 'loaded_at',
] + cx_extra_column_names('subscriptions') -%}

with

source as (
    select * from {{ cx_source('crm', 'subscriptions') }}
),

customers as (
    {{ cx_known_customers() }}
),

parsed as (
    select
        {{ cx_raw_passthrough(raw_columns) }},
        {{ cx_text('subscription_id') }} as raw_key,
        {{ cx_id('subscription_id') }} as subscription_id,
        {{ cx_id('customer_id') }} as customer_id,
        {{ cx_code('plan') }} as plan_name,
        {{ cx_date('start_date') }} as start_date,
        {{ cx_text('start_date') }} as start_date_text,
        {{ cx_date('end_date') }} as end_date,
        {{ cx_text('end_date') }} as end_date_text,
        {{ cx_decimal('monthly_fee') }} as monthly_fee,
        {{ cx_text('monthly_fee') }} as monthly_fee_text,
        {{ cx_timestamp('cancelled_at') }} as cancelled_at,
        {{ cx_text('cancelled_at') }} as cancelled_at_text,
        {{ cx_id('previous_subscription_id') }} as previous_subscription_id,
        upper({{ cx_text('currency') }}) as currency_code,
        {{ cx_timestamp('loaded_at') }} as loaded_at,
        {{ cx_text('loaded_at') }} as loaded_at_text
    {{ cx_parse_extra_columns('subscriptions') }}
    from source
),

validated as (
    select
        parsed.*,
        case
            when parsed.subscription_id is null then 'missing_key'
            when
                parsed.customer_id is null
                or parsed.start_date_text is null
                or parsed.end_date_text is null
                or parsed.monthly_fee_text is null
                or parsed.loaded_at_text is null
                then 'missing_required'
            when
                {{ cx_invalid('parsed.monthly_fee') }}
                or {{ cx_invalid_extra_number('subscriptions', 'parsed.') }}
                then 'invalid_number'
            when
                {{ cx_invalid_time('parsed.start_date') }}
                or {{ cx_invalid_time('parsed.end_date') }}
                or {{ cx_invalid_time('parsed.cancelled_at') }}
                or {{ cx_invalid_time('parsed.loaded_at') }}
                then 'invalid_timestamp'
            when not {{ cx_is_currency_code('parsed.currency_code') }} then 'invalid_value'
            when parsed.currency_code != '{{ cx_currency() }}' then 'other_currency'
            when parsed.monthly_fee < 0 then 'out_of_range'
            -- terms are signed ahead, so only the notice date cannot lie in the future
            when {{ cx_is_future('parsed.cancelled_at', 'parsed.loaded_at') }} then 'future_timestamp'
            when parsed.end_date < parsed.start_date then 'inconsistent_dates'
            when customers.customer_id is null then 'unknown_customer'
            when not customers.is_staged then 'rejected_customer'
        end as reject_reason
    from parsed
    left join customers
        on parsed.customer_id = customers.customer_id
),

{{ cx_base_verdicts('validated', 'subscription_id', raw_columns) }}

-- every column of the parse but the raw__ ones (cx_base_verdicts), which sqlfluff cannot count
select * from final  -- noqa: AM04
