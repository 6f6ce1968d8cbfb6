with

base as (
    select * from {{ ref('base_crm__customers') }}
),

final as (
    select
        customer_id,
        account_name_hash,
        customer_type,
        segment,
        country_code,
        acquisition_channel,
        owner_id,
        created_at,
        loaded_at
    {{ cx_select_extra_columns('customers') }}
    from base
    where
        reject_reason is null
        and not is_removed_duplicate
)

select * from final
