{%- set raw_columns = [
    'referral_id', 'referrer_customer_id', 'referred_customer_id', 'referred_at',
    'channel', 'loaded_at',
] -%}

with

source as (
    select * from {{ cx_source('crm', 'referrals') }}
),

customers as (
    {{ cx_known_customers() }}
),

parsed as (
    select
        {{ cx_raw_passthrough(raw_columns) }},
        {{ cx_text('referral_id') }} as raw_key,
        {{ cx_id('referral_id') }} as referral_id,
        {{ cx_id('referrer_customer_id') }} as referrer_customer_id,
        {{ cx_id('referred_customer_id') }} as referred_customer_id,
        {{ cx_timestamp('referred_at') }} as referred_at,
        {{ cx_text('referred_at') }} as referred_at_text,
        {{ cx_code('channel') }} as referral_channel,
        {{ cx_timestamp('loaded_at') }} as loaded_at,
        {{ cx_text('loaded_at') }} as loaded_at_text
    from source
),

validated as (
    select
        parsed.*,
        case
            when parsed.referral_id is null then 'missing_key'
            when
                parsed.referrer_customer_id is null
                or parsed.referred_customer_id is null
                or parsed.referred_at_text is null
                or parsed.loaded_at_text is null
                then 'missing_required'
            when {{ cx_invalid_time('parsed.referred_at') }} or {{ cx_invalid_time('parsed.loaded_at') }}
                then 'invalid_timestamp'
            -- nobody refers themself
            when parsed.referrer_customer_id = parsed.referred_customer_id then 'invalid_value'
            when {{ cx_is_future('parsed.referred_at', 'parsed.loaded_at') }} then 'future_timestamp'
            when referrers.customer_id is null or referred.customer_id is null
                then 'unknown_customer'
            when not referrers.is_staged or not referred.is_staged then 'rejected_customer'
        end as reject_reason
    from parsed
    left join customers as referrers
        on parsed.referrer_customer_id = referrers.customer_id
    left join customers as referred
        on parsed.referred_customer_id = referred.customer_id
),

{{ cx_base_verdicts('validated', 'referral_id', raw_columns) }}

-- every column of the parse but the raw__ ones (cx_base_verdicts), which sqlfluff cannot count
select * from final  -- noqa: AM04
