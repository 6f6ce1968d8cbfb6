{%- set raw_columns = [
    'contact_id', 'customer_id', 'first_name', 'last_name', 'email', 'phone',
    'job_title', 'is_primary', 'created_at', 'loaded_at',
] -%}
{%- set pii_columns = ['first_name', 'last_name', 'email', 'phone'] -%}

with

source as (
    select * from {{ cx_source('crm', 'contacts') }}
),

customers as (
    {{ cx_known_customers() }}
),

parsed as (
    select
        {{ cx_raw_passthrough(raw_columns) }},
        {{ cx_text('contact_id') }} as raw_key,
        {{ cx_id('contact_id') }} as contact_id,
        {{ cx_id('customer_id') }} as customer_id,
        {{ cx_pseudonymise('lower(' ~ cx_text('first_name') ~ ')') }} as first_name_hash,
        {{ cx_pseudonymise('lower(' ~ cx_text('last_name') ~ ')') }} as last_name_hash,
        -- the same address always gives the same key, whatever its case
        {{ cx_pseudonymise('lower(' ~ cx_text('email') ~ ')') }} as email_hash,
        {{ cx_pseudonymise(cx_phone_digits(cx_text('phone'))) }} as phone_hash,
        {{ cx_text('job_title') }} as job_title,
        {{ cx_boolean('is_primary') }} as is_primary,
        {{ cx_text('is_primary') }} as is_primary_text,
        {{ cx_timestamp('created_at') }} as created_at,
        {{ cx_text('created_at') }} as created_at_text,
        {{ cx_timestamp('loaded_at') }} as loaded_at,
        {{ cx_text('loaded_at') }} as loaded_at_text
    from source
),

validated as (
    select
        parsed.*,
        case
            when parsed.contact_id is null then 'missing_key'
            when
                parsed.customer_id is null
                or parsed.created_at_text is null
                or parsed.loaded_at_text is null
                then 'missing_required'
            when {{ cx_invalid_time('parsed.created_at') }} or {{ cx_invalid_time('parsed.loaded_at') }}
                then 'invalid_timestamp'
            when {{ cx_invalid('parsed.is_primary') }} then 'invalid_value'
            when {{ cx_is_future('parsed.created_at', 'parsed.loaded_at') }} then 'future_timestamp'
            when customers.customer_id is null then 'unknown_customer'
            when not customers.is_staged then 'rejected_customer'
        end as reject_reason
    from parsed
    left join customers
        on parsed.customer_id = customers.customer_id
),

{{ cx_base_verdicts('validated', 'contact_id', raw_columns, pii_columns=pii_columns) }}

-- every column of the parse but the raw__ ones (cx_base_verdicts), which sqlfluff cannot count
select * from final  -- noqa: AM04
