with

base as (
    select * from {{ ref('base_web__events') }}
),

final as (
    select
        event_id,
        anonymous_id,
        user_id,
        event_type,
        event_at,
        page_url,
        referrer,
        campaign,
        loaded_at
    from base
    where
        reject_reason is null
        and not is_removed_duplicate
)

select * from final
