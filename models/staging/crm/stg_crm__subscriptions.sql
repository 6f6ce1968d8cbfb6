with

base as (
    select * from {{ ref('base_crm__subscriptions') }}
),

final as (
    select
        subscription_id,
        customer_id,
        plan_name,
        start_date,
        end_date,
        monthly_fee,
        cancelled_at,
        previous_subscription_id,
        loaded_at
    {{ cx_select_extra_columns('subscriptions') }}
    from base
    where
        reject_reason is null
        and not is_removed_duplicate
)

select * from final
