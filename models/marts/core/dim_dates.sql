{#
    The calendar: one row per day from the first day of the month of the earliest
    activity in the data (any raw table, or a web session) to one year after the
    observation date (contract ends and renewals lie ahead). Generated
    from a cross join of digits rather than an engine's series function, so it is
    the same on every engine; 100,000 days is 273 years.
#}
with

as_of as (
    select * from {{ ref('int_observation_date') }}
),

raw_tables as (
    select * from {{ ref('int_raw_tables_observed') }}
),

sessions as (
    select session_started_at from {{ ref('fct_web_sessions') }}
),

latest_dates as (
    select cast(max(last_activity_at) as date) as latest_date from raw_tables
    union all
    select cast(max(session_started_at) as date) as latest_date from sessions
),

earliest_dates as (
    select cast(min(first_activity_at) as date) as earliest_date from raw_tables
    union all
    select cast(min(session_started_at) as date) as earliest_date from sessions
),

bounds as (
    select
        -- from the first of the earliest month: monthly marts key on month starts
        cast({{ dbt.date_trunc('month', 'min(earliest_dates.earliest_date)') }} as date)
            as first_date,
        -- a year past the observation date or the latest activity, whichever is later
        -- (terms end ahead; a past cx_as_of still leaves later rows in the data)
        cast(
            {{ dbt.dateadd('day', 366, 'greatest(max(as_of.as_of_date), max(latest_dates.latest_date))') }}
            as date
        ) as last_date
    from earliest_dates
    cross join as_of
    cross join latest_dates
),

digits as (
    select 0 as digit
    union all
    select 1
    union all
    select 2
    union all
    select 3
    union all
    select 4
    union all
    select 5
    union all
    select 6
    union all
    select 7
    union all
    select 8
    union all
    select 9
),

day_offsets as (
    select
        d1.digit + 10 * d2.digit + 100 * d3.digit + 1000 * d4.digit + 10000 * d5.digit
            as day_offset
    from digits as d1
    cross join digits as d2
    cross join digits as d3
    cross join digits as d4
    cross join digits as d5
),

days as (
    select
        cast({{ dbt.dateadd('day', 'day_offsets.day_offset', 'bounds.first_date') }} as date)
            as date_day
    from day_offsets
    cross join bounds
    where day_offsets.day_offset <= {{ dbt.datediff('bounds.first_date', 'bounds.last_date', 'day') }}
),

final as (
    select
        days.date_day,
        cast({{ dbt.date_trunc('week', 'days.date_day') }} as date) as week_start_date,
        cast({{ dbt.date_trunc('month', 'days.date_day') }} as date) as month_start_date,
        cast({{ dbt.date_trunc('quarter', 'days.date_day') }} as date) as quarter_start_date,
        cast({{ dbt.date_trunc('year', 'days.date_day') }} as date) as year_start_date,
        cast(extract(year from days.date_day) as {{ dbt.type_int() }}) as year_number,
        cast(extract(month from days.date_day) as {{ dbt.type_int() }}) as month_number,
        -- ISO day of week (Monday = 1): 1900-01-01 was a Monday
        cast(
            mod({{ dbt.datediff("cast('1900-01-01' as date)", 'days.date_day', 'day') }}, 7) + 1
            as {{ dbt.type_int() }}
        ) as iso_day_of_week,
        mod({{ dbt.datediff("cast('1900-01-01' as date)", 'days.date_day', 'day') }}, 7) >= 5
            as is_weekend,
        days.date_day <= as_of.as_of_date as is_observed,
        cast({{ dbt.date_trunc('month', 'days.date_day') }} as date)
        = cast({{ dbt.date_trunc('month', 'as_of.as_of_date') }} as date) as is_as_of_month
    from days
    cross join as_of
)

select * from final
