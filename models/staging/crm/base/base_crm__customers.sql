{%- set raw_columns = [
    'customer_id', 'account_name', 'customer_type', 'segment', 'country',
    'acquisition_channel', 'owner_id', 'created_at', 'loaded_at',
] + cx_extra_column_names('customers') -%}

with

source as (
    select * from {{ cx_source('crm', 'customers') }}
),

parsed as (
    select
        {{ cx_raw_passthrough(raw_columns) }},
        {{ cx_text('customer_id') }} as raw_key,
        {{ cx_id('customer_id') }} as customer_id,
        {{ cx_pseudonymise(cx_text('account_name')) }} as account_name_hash,
        {{ cx_code('customer_type') }} as customer_type,
        {{ cx_code('segment') }} as segment,
        upper({{ cx_text('country') }}) as country_code,
        {{ cx_code('acquisition_channel') }} as acquisition_channel,
        {{ cx_id('owner_id') }} as owner_id,
        {{ cx_timestamp('created_at') }} as created_at,
        {{ cx_text('created_at') }} as created_at_text,
        {{ cx_timestamp('loaded_at') }} as loaded_at,
        {{ cx_text('loaded_at') }} as loaded_at_text
    {{ cx_parse_extra_columns('customers') }}
    from source
),

validated as (
    select
        *,
        case
            when customer_id is null then 'missing_key'
            when
                customer_type is null
                or segment is null
                or created_at_text is null
                or loaded_at_text is null
                then 'missing_required'
            when {{ cx_invalid_extra_number('customers') }} then 'invalid_number'
            when {{ cx_invalid_time('created_at') }} or {{ cx_invalid_time('loaded_at') }}
                then 'invalid_timestamp'
            when customer_type not in ('b2b', 'b2c') then 'invalid_value'
            when {{ cx_is_future('created_at') }} then 'future_timestamp'
        end as reject_reason
    from parsed
),

{{ cx_base_verdicts('validated', 'customer_id', raw_columns, pii_columns=['account_name']) }}

-- every column of the parse but the raw__ ones (cx_base_verdicts), which sqlfluff cannot count
select * from final  -- noqa: AM04
