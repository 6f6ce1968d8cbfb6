{%- set raw_columns = [
    'event_id', 'anonymous_id', 'user_id', 'event_type', 'event_at', 'page_url',
    'referrer', 'campaign', 'loaded_at',
] -%}

with

source as (
    select * from {{ cx_source('web', 'events') }}
),

customers as (
    {{ cx_known_customers() }}
),

parsed as (
    select
        {{ cx_raw_passthrough(raw_columns) }},
        {{ cx_text('event_id') }} as raw_key,
        {{ cx_id('event_id') }} as event_id,
        {{ cx_id('anonymous_id') }} as anonymous_id,
        {{ cx_id('user_id') }} as user_id,
        {{ cx_code('event_type') }} as event_type,
        {{ cx_timestamp('event_at') }} as event_at,
        {{ cx_text('event_at') }} as event_at_text,
        {{ cx_text('page_url') }} as page_url,
        {{ cx_text('referrer') }} as referrer,
        {{ cx_text('campaign') }} as campaign,
        {{ cx_timestamp('loaded_at') }} as loaded_at,
        {{ cx_text('loaded_at') }} as loaded_at_text
    from source
),

validated as (
    select
        parsed.*,
        case
            when parsed.event_id is null then 'missing_key'
            when
                parsed.event_type is null
                or parsed.event_at_text is null
                or parsed.loaded_at_text is null
                then 'missing_required'
            when parsed.anonymous_id is null and parsed.user_id is null then 'missing_identity'
            when {{ cx_invalid_time('parsed.event_at') }} or {{ cx_invalid_time('parsed.loaded_at') }}
                then 'invalid_timestamp'
            when parsed.event_type not in ({{ cx_quoted_list(cx_event_types()) }})
                then 'invalid_value'
            when {{ cx_is_future('parsed.event_at', 'parsed.loaded_at') }} then 'future_timestamp'
            -- an event of an unidentified visitor needs no customer; a user id must be one
            when parsed.user_id is not null and customers.customer_id is null
                then 'unknown_customer'
            when parsed.user_id is not null and not customers.is_staged then 'rejected_customer'
        end as reject_reason
    from parsed
    left join customers
        on parsed.user_id = customers.customer_id
),

{{ cx_base_verdicts('validated', 'event_id', raw_columns) }}

-- every column of the parse but the raw__ ones (cx_base_verdicts), which sqlfluff cannot count
select * from final  -- noqa: AM04
