with

base as (
    select * from {{ ref('base_crm__contacts') }}
),

final as (
    select
        contact_id,
        customer_id,
        first_name_hash,
        last_name_hash,
        email_hash,
        phone_hash,
        job_title,
        is_primary,
        created_at,
        loaded_at
    from base
    where
        reject_reason is null
        and not is_removed_duplicate
)

select * from final
