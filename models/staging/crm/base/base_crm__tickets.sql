{%- set raw_columns = [
    'ticket_id', 'customer_id', 'channel', 'category', 'is_complaint', 'opened_at',
    'first_response_at', 'resolved_at', 'reopen_count', 'agent_contacts', 'loaded_at',
] -%}

with

source as (
    select * from {{ cx_source('crm', 'tickets') }}
),

customers as (
    {{ cx_known_customers() }}
),

parsed as (
    select
        {{ cx_raw_passthrough(raw_columns) }},
        {{ cx_text('ticket_id') }} as raw_key,
        {{ cx_id('ticket_id') }} as ticket_id,
        {{ cx_id('customer_id') }} as customer_id,
        {{ cx_code('channel') }} as ticket_channel,
        {{ cx_code('category') }} as ticket_category,
        {{ cx_boolean('is_complaint') }} as is_complaint,
        {{ cx_text('is_complaint') }} as is_complaint_text,
        {{ cx_timestamp('opened_at') }} as opened_at,
        {{ cx_text('opened_at') }} as opened_at_text,
        {{ cx_timestamp('first_response_at') }} as first_response_at,
        {{ cx_text('first_response_at') }} as first_response_at_text,
        {{ cx_timestamp('resolved_at') }} as resolved_at,
        {{ cx_text('resolved_at') }} as resolved_at_text,
        {{ cx_integer('reopen_count') }} as reopen_count,
        {{ cx_text('reopen_count') }} as reopen_count_text,
        {{ cx_integer('agent_contacts') }} as agent_contact_count,
        {{ cx_text('agent_contacts') }} as agent_contact_count_text,
        {{ cx_timestamp('loaded_at') }} as loaded_at,
        {{ cx_text('loaded_at') }} as loaded_at_text
    from source
),

validated as (
    select
        parsed.*,
        case
            when parsed.ticket_id is null then 'missing_key'
            when
                parsed.customer_id is null
                or parsed.ticket_channel is null
                or parsed.is_complaint_text is null
                or parsed.opened_at_text is null
                or parsed.reopen_count_text is null
                or parsed.loaded_at_text is null
                then 'missing_required'
            when
                {{ cx_invalid('parsed.reopen_count') }}
                or {{ cx_invalid('parsed.agent_contact_count') }}
                then 'invalid_number'
            when
                {{ cx_invalid_time('parsed.opened_at') }}
                or {{ cx_invalid_time('parsed.first_response_at') }}
                or {{ cx_invalid_time('parsed.resolved_at') }}
                or {{ cx_invalid_time('parsed.loaded_at') }}
                then 'invalid_timestamp'
            when {{ cx_invalid('parsed.is_complaint') }} then 'invalid_value'
            when parsed.reopen_count < 0 or parsed.agent_contact_count < 0 then 'out_of_range'
            when
                {{ cx_is_future('parsed.opened_at', 'parsed.loaded_at') }}
                or {{ cx_is_future('parsed.first_response_at', 'parsed.loaded_at') }}
                or {{ cx_is_future('parsed.resolved_at', 'parsed.loaded_at') }}
                then 'future_timestamp'
            when
                parsed.first_response_at < parsed.opened_at
                or parsed.resolved_at < parsed.opened_at
                then 'inconsistent_dates'
            when customers.customer_id is null then 'unknown_customer'
            when not customers.is_staged then 'rejected_customer'
        end as reject_reason
    from parsed
    left join customers
        on parsed.customer_id = customers.customer_id
),

{{ cx_base_verdicts('validated', 'ticket_id', raw_columns) }}

-- every column of the parse but the raw__ ones (cx_base_verdicts), which sqlfluff cannot count
select * from final  -- noqa: AM04
