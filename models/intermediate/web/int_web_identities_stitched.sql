{#
    Identity stitching (DECISIONLOG "Identity stitching"): one row per anonymous id
    that was ever seen together with a CRM customer id (a login or a form fill).
    An anonymous id seen with exactly one customer is that customer for its whole
    history, sessions before the login included. An id seen with two or more
    customers is a shared device: only its sessions that carry a login are
    attributed (fct_web_sessions), the anonymous ones stay unattributed rather
    than guessed.
#}
with

events as (
    select * from {{ ref('stg_web__events') }}
),

identified_events as (
    select
        anonymous_id,
        user_id,
        event_at
    from events
    where
        anonymous_id is not null
        and user_id is not null
),

stitched as (
    select
        anonymous_id,
        count(distinct user_id) as identified_customer_count,
        min(user_id) as first_customer_id,
        max(user_id) as last_customer_id,
        min(event_at) as first_identified_at,
        max(event_at) as last_identified_at
    from identified_events
    group by anonymous_id
),

final as (
    select
        anonymous_id,
        identified_customer_count,
        first_identified_at,
        last_identified_at,
        case when identified_customer_count = 1 then first_customer_id end as customer_id,
        identified_customer_count > 1 as is_shared_device
    from stitched
)

select * from final
