with

base as (
    select * from {{ ref('base_crm__referrals') }}
),

final as (
    select
        referral_id,
        referrer_customer_id,
        referred_customer_id,
        referred_at,
        referral_channel,
        loaded_at
    from base
    where
        reject_reason is null
        and not is_removed_duplicate
)

select * from final
