{#
    Web sessions: one row per run of a visitor's events with no gap longer than
    cx_session_timeout_minutes, attributed to a customer by identity stitching.

    Incremental and exact (DECISIONLOG "Web sessions, incremental"): a run finds
    the visitors with events loaded since the last run (minus a lookback window for
    late exports) or whose customer arrived since then, rebuilds all sessions of
    those visitors from their events and replaces them (delete+insert on the visitor).
    A late event can join, split or extend sessions and a new login can attribute
    a visitor's earlier sessions; rebuilding the visitor handles all of these, so an
    incremental run gives the rows a full refresh gives (tested on two batches).

    An export can also lose rows: a bad event fixed by deleting it, an event the source
    withdrew. So a run also rebuilds every visitor whose events no longer add up to
    what the table holds (count, first and last event time, latest loaded_at: one
    aggregate over the events), and the post-hook deletes the sessions of visitors
    left without any event. The watermark is bounded by the build's clock, so a
    loaded_at from the future can never stop later runs re-reading.
#}
-- depends_on: {{ ref('stg_crm__customers') }}
{{
    config(
        materialized='incremental',
        unique_key='visitor_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        post_hook="{{ cx_delete_keys_absent('visitor_id', cx_web_visitor_ids()) }}",
    )
}}

with

events as (
    select * from {{ ref('stg_web__events') }}
),

visitor_events as (
    select
        {{ cx_web_visitor_id() }} as visitor_id,
        event_id,
        anonymous_id,
        user_id,
        event_type,
        event_at,
        page_url,
        referrer,
        campaign,
        loaded_at
    from events
),

{% if is_incremental() %}

    customers as (
        select * from {{ ref('stg_crm__customers') }}
    ),

    stored_visitors as (
        -- what the table holds of each visitor, in the terms of its events
        select
            visitor_id,
            sum(event_count) as event_count,
            min(session_started_at) as first_event_at,
            max(session_ended_at) as last_event_at,
            max(last_loaded_at) as last_loaded_at
        from {{ this }}
        group by visitor_id
    ),

    watermark as (
        -- never later than the build's clock: a loaded_at from the future that reached
        -- the table (staging rejects them now) must not stop later runs re-reading
        select
            coalesce(
                {{ dbt.dateadd('hour', -1 * var('cx_web_lookback_hours'), 'case
                    when max(last_loaded_at) > ' ~ cx_utc_now() ~ ' then ' ~ cx_utc_now() ~ '
                    else max(last_loaded_at)
                end') }},
                cast('1900-01-01' as {{ dbt.type_timestamp() }})
            ) as reread_from
        from stored_visitors
    ),

    current_visitors as (
        select
            visitor_id,
            count(*) as event_count,
            min(event_at) as first_event_at,
            max(event_at) as last_event_at,
            max(loaded_at) as last_loaded_at
        from visitor_events
        group by visitor_id
    ),

    affected_visitors as (
        select visitor_events.visitor_id
        from visitor_events
        cross join watermark
        where visitor_events.loaded_at > watermark.reread_from
        union
        -- events the export no longer holds (a bad event deleted, a row withdrawn) or
        -- holds anew below the watermark: the visitor's events differ from its
        -- sessions. A visitor left without events is deleted by the post-hook.
        select current_visitors.visitor_id
        from current_visitors
        left join stored_visitors
            on current_visitors.visitor_id = stored_visitors.visitor_id
        where
            stored_visitors.visitor_id is null
            or current_visitors.event_count != stored_visitors.event_count
            or current_visitors.first_event_at != stored_visitors.first_event_at
            or current_visitors.last_event_at != stored_visitors.last_event_at
            or current_visitors.last_loaded_at != stored_visitors.last_loaded_at
        union
        -- events of a customer who was unknown at the last run were rejected then
        select visitor_events.visitor_id
        from visitor_events
        inner join customers
            on visitor_events.user_id = customers.customer_id
        cross join watermark
        where customers.loaded_at > watermark.reread_from
    ),

{% endif %}

scoped_events as (
    select visitor_events.*
    from visitor_events
    {% if is_incremental() %}
        inner join affected_visitors
            on visitor_events.visitor_id = affected_visitors.visitor_id
    {% endif %}
),

gaps as (
    select
        *,
        lag(event_at) over (
            partition by visitor_id
            order by event_at, event_id
        ) as previous_event_at,
        row_number() over (
            partition by visitor_id
            order by event_at, event_id
        ) as visitor_event_number
    from scoped_events
),

session_starts as (
    select
        *,
        case
            when previous_event_at is null then 1
            when
                {{ dbt.datediff('previous_event_at', 'event_at', 'second') }}
                > {{ var('cx_session_timeout_minutes') }} * 60
                then 1
            else 0
        end as is_session_start
    from gaps
),

numbered as (
    select
        *,
        sum(is_session_start) over (
            partition by visitor_id
            order by visitor_event_number
            rows between unbounded preceding and current row
        ) as session_number
    from session_starts
),

visitor_identities as (
    -- the stitching rule of int_web_identities_stitched, on the visitors in scope: one
    -- customer when the least and the greatest user id are the same (cheaper than
    -- counting distinct ids, and all the rule needs)
    select
        visitor_id,
        min(user_id) as visitor_customer_id,
        max(user_id) as visitor_last_customer_id
    from scoped_events
    group by visitor_id
),

sessions as (
    select
        visitor_id,
        session_number,
        min(anonymous_id) as anonymous_id,
        min(event_at) as session_started_at,
        max(event_at) as session_ended_at,
        count(*) as event_count,
        sum(case when event_type = 'page_view' then 1 else 0 end) as page_view_count,
        sum(case when event_type = 'share' then 1 else 0 end) as share_count,
        sum(case when event_type = 'comment' then 1 else 0 end) as comment_count,
        sum(case when event_type = 'review' then 1 else 0 end) as review_count,
        sum(case when event_type = 'download' then 1 else 0 end) as download_count,
        sum(case when event_type = 'login' then 1 else 0 end) as login_count,
        sum(case when event_type = 'form_fill' then 1 else 0 end) as form_fill_count,
        sum(case when event_type = 'referral_click' then 1 else 0 end) as referral_click_count,
        max(case when is_session_start = 1 then page_url end) as entry_page_url,
        max(case when is_session_start = 1 then referrer end) as entry_referrer,
        max(case when is_session_start = 1 then campaign end) as entry_campaign,
        min(user_id) as session_customer_id,
        max(user_id) as session_last_customer_id,
        max(loaded_at) as last_loaded_at
    from numbered
    group by visitor_id, session_number
),

attributed as (
    select
        sessions.*,
        visitor_identities.visitor_customer_id,
        {{ dbt.datediff('sessions.session_started_at', 'sessions.session_ended_at', 'second') }}
            as session_duration_seconds,
        case
            when sessions.session_customer_id = sessions.session_last_customer_id then 'logged_in'
            when sessions.session_customer_id <> sessions.session_last_customer_id then 'shared_device'
            when visitor_identities.visitor_customer_id = visitor_identities.visitor_last_customer_id
                then 'stitched'
            when visitor_identities.visitor_customer_id <> visitor_identities.visitor_last_customer_id
                then 'shared_device'
            else 'anonymous'
        end as attribution
    from sessions
    inner join visitor_identities
        on sessions.visitor_id = visitor_identities.visitor_id
),

final as (
    select
        {{ dbt.hash(dbt.concat([
            'visitor_id', "'|'", 'cast(session_started_at as ' ~ dbt.type_string() ~ ')'
        ])) }} as session_id,
        visitor_id,
        anonymous_id,
        case
            when attribution = 'logged_in' then session_customer_id
            when attribution = 'stitched' then visitor_customer_id
        end as customer_id,
        attribution,
        cast(session_number as {{ dbt.type_bigint() }}) as session_number,
        session_started_at,
        session_ended_at,
        cast(session_started_at as date) as session_date,
        cast(session_duration_seconds as {{ dbt.type_bigint() }}) as session_duration_seconds,
        cast(event_count as {{ dbt.type_bigint() }}) as event_count,
        cast(page_view_count as {{ dbt.type_bigint() }}) as page_view_count,
        cast(share_count as {{ dbt.type_bigint() }}) as share_count,
        cast(comment_count as {{ dbt.type_bigint() }}) as comment_count,
        cast(review_count as {{ dbt.type_bigint() }}) as review_count,
        cast(download_count as {{ dbt.type_bigint() }}) as download_count,
        cast(login_count as {{ dbt.type_bigint() }}) as login_count,
        cast(form_fill_count as {{ dbt.type_bigint() }}) as form_fill_count,
        cast(referral_click_count as {{ dbt.type_bigint() }}) as referral_click_count,
        (
            page_view_count >= 2
            or share_count + comment_count + review_count + download_count
            + form_fill_count + referral_click_count > 0
            or session_duration_seconds >= {{ var('cx_engaged_session_seconds') }}
        ) as is_engaged,
        entry_page_url,
        entry_referrer,
        entry_campaign,
        last_loaded_at
    from attributed
)

select * from final
