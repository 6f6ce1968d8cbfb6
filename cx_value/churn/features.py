"""Churn features of B2B contract terms: one row per term ending in a window.

The feature logic is one SQL statement in portable SQL (CTEs, joins, window functions,
``interval`` arithmetic) over *typed* relations with the raw contract's column names:
``subscriptions``, ``tickets``, ``survey_responses``, ``events``, ``orders`` and
``order_lines``. :func:`typed_raw_views` makes such relations from raw text tables (every
column text) with casts; a built warehouse can point the same SQL at its staging models.

Timing, per term (``end_date`` is the last day of the term):

- **cut-off** = ``end_date + 1 day - lead_days`` (midnight). Every feature uses only rows
  timestamped before the cut-off, so a term is scored ``lead_days`` (default 30) before
  its end, with time left to act on the score.
- **in the term** = from ``start_date`` to the cut-off.
- **label** ``is_churned`` = 1 unless a later term whose ``previous_subscription_id`` is
  this term starts at most ``grace_days`` (default 30) after ``end_date``. The label is
  the only column that looks past the cut-off.

Web sessions follow the 30-minute rule over the customer's events; an anonymous device's
events count for the customer once the device has logged in or filled a form, and only
if that link was made before the cut-off, so a later identification cannot reach back
into a scored term. ``web_sessions_drop`` compares the recent 91 days with the customer's
usual rate over the 273 days before them: session counts are small (a few per quarter),
and the longer baseline makes the comparison far less noisy than quarter against quarter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

RAW_TABLES: tuple[str, ...] = (
    "subscriptions", "tickets", "survey_responses", "events", "orders", "order_lines",
)

FEATURES: tuple[str, ...] = (
    "is_detractor_in_term",
    "latest_nps",
    "csat_mean",
    "ces_mean",
    "has_unresolved_complaint",
    "ticket_count",
    "fcr_share",
    "web_sessions_drop",
    "discount_depth",
    "term_number",
    "monthly_fee",
)
"""Model inputs, each oriented as measured (the model learns the sign)."""

FEATURE_DESCRIPTIONS: dict[str, str] = {
    "is_detractor_in_term": "1 if the customer gave an NPS answer 0-6 in the term",
    "latest_nps": "latest NPS answer (0-10) before the cut-off, any stage; empty if none",
    "csat_mean": "mean CSAT (1-5) answered in the term; empty if none",
    "ces_mean": "mean CES (1-7, 7 = very easy) answered in the term; empty if none",
    "has_unresolved_complaint": "1 if a complaint opened in the term is unresolved at the "
                                "cut-off",
    "ticket_count": "tickets opened in the term",
    "fcr_share": "share of the term's tickets solved with one agent contact and never "
                 "reopened; empty without tickets",
    "web_sessions_drop": "ln((usual + 1) / (recent + 1)): recent = web sessions in the "
                         "web_days (91) before the cut-off, usual = sessions in the "
                         "web_baseline_days (273) before those, scaled to web_days; "
                         "> 0 when activity fell",
    "discount_depth": "1 - realised / list value of the completed order lines ordered in "
                      "the term; empty without orders",
    "term_number": "1 for the customer's first term, 2 for the first renewal, ...",
    "monthly_fee": "recurring fee per month in euros",
}

# Raw text -> typed relation. Ids are trimmed and lower-cased as staging does; a value
# that does not cast becomes null and the row drops out where the column is needed.
_TYPED_SQL: dict[str, str] = {
    "subscriptions": """
        select
            lower(trim(subscription_id)) as subscription_id,
            lower(trim(customer_id)) as customer_id,
            try_cast(start_date as date) as start_date,
            try_cast(end_date as date) as end_date,
            try_cast(monthly_fee as double) as monthly_fee,
            nullif(lower(trim(previous_subscription_id)), '') as previous_subscription_id
        from {raw}
        where try_cast(start_date as date) is not null
            and try_cast(end_date as date) is not null
            and try_cast(monthly_fee as double) is not null""",
    "tickets": """
        select
            lower(trim(ticket_id)) as ticket_id,
            lower(trim(customer_id)) as customer_id,
            lower(trim(is_complaint)) = 'true' as is_complaint,
            try_cast(opened_at as timestamp) as opened_at,
            try_cast(resolved_at as timestamp) as resolved_at,
            try_cast(reopen_count as integer) as reopen_count,
            try_cast(agent_contacts as integer) as agent_contacts
        from {raw}
        where try_cast(opened_at as timestamp) is not null""",
    "survey_responses": """
        select
            lower(trim(response_id)) as response_id,
            lower(trim(customer_id)) as customer_id,
            lower(trim(question_type)) as question_type,
            case
                when lower(trim(question_type)) = 'ces'
                    and lower(trim(scale_direction)) = 'reversed'
                    then 8 - try_cast(score as integer)
                else try_cast(score as integer)
            end as score,
            try_cast(answered_at as timestamp) as answered_at
        from {raw}
        where try_cast(score as integer) is not null
            and try_cast(answered_at as timestamp) is not null""",
    "events": """
        select
            lower(trim(event_id)) as event_id,
            nullif(lower(trim(anonymous_id)), '') as anonymous_id,
            nullif(lower(trim(user_id)), '') as user_id,
            try_cast(event_at as timestamp) as event_at
        from {raw}
        where try_cast(event_at as timestamp) is not null""",
    "orders": """
        select
            lower(trim(order_id)) as order_id,
            lower(trim(customer_id)) as customer_id,
            try_cast(ordered_at as timestamp) as ordered_at,
            lower(trim(status)) as status
        from {raw}
        where try_cast(ordered_at as timestamp) is not null""",
    "order_lines": """
        select
            lower(trim(order_line_id)) as order_line_id,
            lower(trim(order_id)) as order_id,
            try_cast(quantity as double) as quantity,
            try_cast(list_price as double) as list_price,
            try_cast(realised_price as double) as realised_price
        from {raw}
        where try_cast(quantity as double) is not null
            and try_cast(list_price as double) is not null
            and try_cast(realised_price as double) is not null""",
}

FEATURE_SQL = """
with

subscriptions as (select * from {subscriptions}),
tickets as (select * from {tickets}),
survey_responses as (select * from {survey_responses}),
events as (select * from {events}),
orders as (select * from {orders}),
order_lines as (select * from {order_lines}),

numbered_terms as (
    select
        subscription_id,
        customer_id,
        start_date,
        end_date,
        monthly_fee,
        cast(start_date as timestamp) as term_start_at,
        cast(end_date as timestamp) + interval '{cutoff_offset_days}' day as cutoff_at,
        row_number() over (
            partition by customer_id order by start_date, subscription_id
        ) as term_number
    from subscriptions
),

scored_terms as (
    select *
    from numbered_terms
    where end_date >= date '{window_start}'
        and end_date < date '{window_end}'
),

renewals as (
    select
        scored_terms.subscription_id,
        1 as is_renewed
    from scored_terms
    inner join subscriptions as next_terms
        on next_terms.previous_subscription_id = scored_terms.subscription_id
    where cast(next_terms.start_date as timestamp)
        <= cast(scored_terms.end_date as timestamp) + interval '{grace_days}' day
    group by scored_terms.subscription_id
),

answers_before_cutoff as (
    select
        scored_terms.subscription_id,
        survey_responses.response_id,
        survey_responses.question_type,
        survey_responses.score,
        survey_responses.answered_at,
        survey_responses.answered_at >= scored_terms.term_start_at as is_in_term
    from scored_terms
    inner join survey_responses
        on survey_responses.customer_id = scored_terms.customer_id
        and survey_responses.answered_at < scored_terms.cutoff_at
),

survey_features as (
    select
        subscription_id,
        max(
            case when question_type = 'nps' and is_in_term and score <= 6 then 1 else 0 end
        ) as is_detractor_in_term,
        avg(case when question_type = 'csat' and is_in_term then score end) as csat_mean,
        avg(case when question_type = 'ces' and is_in_term then score end) as ces_mean
    from answers_before_cutoff
    group by subscription_id
),

ranked_nps as (
    select
        subscription_id,
        score,
        row_number() over (
            partition by subscription_id order by answered_at desc, response_id desc
        ) as answer_rank
    from answers_before_cutoff
    where question_type = 'nps'
),

latest_nps as (
    select
        subscription_id,
        score as latest_nps
    from ranked_nps
    where answer_rank = 1
),

ticket_features as (
    select
        scored_terms.subscription_id,
        count(*) as ticket_count,
        avg(
            case
                when tickets.agent_contacts = 1 and tickets.reopen_count = 0
                    and tickets.resolved_at is not null
                    then 1.0
                else 0.0
            end
        ) as fcr_share,
        max(
            case
                when tickets.is_complaint
                    and (tickets.resolved_at is null
                        or tickets.resolved_at >= scored_terms.cutoff_at)
                    then 1
                else 0
            end
        ) as has_unresolved_complaint
    from scored_terms
    inner join tickets
        on tickets.customer_id = scored_terms.customer_id
        and tickets.opened_at >= scored_terms.term_start_at
        and tickets.opened_at < scored_terms.cutoff_at
    group by scored_terms.subscription_id
),

device_links as (
    select
        anonymous_id,
        user_id as customer_id,
        event_at as linked_at,
        row_number() over (
            partition by anonymous_id order by event_at, event_id
        ) as link_rank
    from events
    where anonymous_id is not null
        and user_id is not null
),

stitched_events as (
    select
        events.event_id,
        events.event_at,
        coalesce(events.user_id, device_links.customer_id) as customer_id,
        case
            when events.user_id is not null then events.event_at
            else device_links.linked_at
        end as attributed_at
    from events
    left join device_links
        on device_links.anonymous_id = events.anonymous_id
        and device_links.link_rank = 1
),

customer_events as (
    select
        customer_id,
        event_at,
        attributed_at,
        lag(event_at) over (
            partition by customer_id order by event_at, event_id
        ) as previous_event_at
    from stitched_events
    where customer_id in (select customer_id from scored_terms)
),

sessions as (
    select
        customer_id,
        event_at as session_started_at,
        attributed_at
    from customer_events
    where previous_event_at is null
        or event_at >= previous_event_at + interval '30' minute
),

web_features as (
    select
        scored_terms.subscription_id,
        sum(
            case
                when sessions.session_started_at
                    >= scored_terms.cutoff_at - interval '{web_days}' day
                    then 1
                else 0
            end
        ) as web_sessions_recent,
        sum(
            case
                when sessions.session_started_at
                    < scored_terms.cutoff_at - interval '{web_days}' day
                    then 1
                else 0
            end
        ) as web_sessions_baseline
    from scored_terms
    inner join sessions
        on sessions.customer_id = scored_terms.customer_id
        and sessions.session_started_at
            >= scored_terms.cutoff_at - interval '{web_window_days}' day
        and sessions.session_started_at < scored_terms.cutoff_at
        and sessions.attributed_at < scored_terms.cutoff_at
    group by scored_terms.subscription_id
),

discount_features as (
    select
        scored_terms.subscription_id,
        1.0 - sum(order_lines.realised_price * order_lines.quantity)
            / nullif(sum(order_lines.list_price * order_lines.quantity), 0)
            as discount_depth
    from scored_terms
    inner join orders
        on orders.customer_id = scored_terms.customer_id
        and orders.ordered_at >= scored_terms.term_start_at
        and orders.ordered_at < scored_terms.cutoff_at
        and orders.status = 'completed'
    inner join order_lines
        on order_lines.order_id = orders.order_id
    group by scored_terms.subscription_id
),

final as (
    select
        scored_terms.subscription_id,
        scored_terms.customer_id,
        scored_terms.start_date,
        scored_terms.end_date,
        scored_terms.cutoff_at,
        coalesce(survey_features.is_detractor_in_term, 0) as is_detractor_in_term,
        latest_nps.latest_nps,
        survey_features.csat_mean,
        survey_features.ces_mean,
        coalesce(ticket_features.has_unresolved_complaint, 0) as has_unresolved_complaint,
        coalesce(ticket_features.ticket_count, 0) as ticket_count,
        ticket_features.fcr_share,
        coalesce(web_features.web_sessions_recent, 0) as web_sessions_recent,
        coalesce(web_features.web_sessions_baseline, 0) as web_sessions_baseline,
        ln(
            (coalesce(web_features.web_sessions_baseline, 0) * {baseline_scale} + 1.0)
            / (coalesce(web_features.web_sessions_recent, 0) + 1.0)
        ) as web_sessions_drop,
        discount_features.discount_depth,
        scored_terms.term_number,
        scored_terms.monthly_fee,
        1 - coalesce(renewals.is_renewed, 0) as is_churned
    from scored_terms
    left join survey_features
        on survey_features.subscription_id = scored_terms.subscription_id
    left join latest_nps
        on latest_nps.subscription_id = scored_terms.subscription_id
    left join ticket_features
        on ticket_features.subscription_id = scored_terms.subscription_id
    left join web_features
        on web_features.subscription_id = scored_terms.subscription_id
    left join discount_features
        on discount_features.subscription_id = scored_terms.subscription_id
    left join renewals
        on renewals.subscription_id = scored_terms.subscription_id
)

select * from final
order by end_date, subscription_id
"""


def raw_file_views(con: duckdb.DuckDBPyConnection, raw_dir: str | Path,
                   fmt: str = "parquet", prefix: str = "raw_") -> dict[str, str]:
    """Create views ``<prefix><table>`` over ``<raw_dir>/<table>.<fmt>``; return the names."""
    raw_dir = Path(raw_dir)
    names: dict[str, str] = {}
    for table in RAW_TABLES:
        path = (raw_dir / f"{table}.{fmt}").as_posix().replace("'", "''")
        reader = (f"read_parquet('{path}')" if fmt == "parquet"
                  else f"read_csv('{path}', all_varchar = true, header = true)")
        con.execute(f"create or replace view {prefix}{table} as select * from {reader}")
        names[table] = f"{prefix}{table}"
    return names


def typed_raw_views(con: duckdb.DuckDBPyConnection, raw: Mapping[str, str],
                    prefix: str = "churn_") -> dict[str, str]:
    """Create typed views ``<prefix><table>`` over raw text relations; return the names.

    ``raw`` maps each table of :data:`RAW_TABLES` to a relation name on ``con``.
    """
    missing = [t for t in RAW_TABLES if t not in raw]
    if missing:
        raise KeyError(f"raw relations missing for {missing}")
    names: dict[str, str] = {}
    for table in RAW_TABLES:
        sql = _TYPED_SQL[table].format(raw=raw[table])
        con.execute(f"create or replace view {prefix}{table} as {sql}")
        names[table] = f"{prefix}{table}"
    return names


@dataclass(frozen=True)
class Timing:
    """When features are measured and how the label is read, in days.

    ``lead_days``: the cut-off lies this many days before the day after ``end_date``.
    ``grace_days``: a renewal may start this many days after ``end_date``.
    ``web_days``: the recent web window before the cut-off; ``web_baseline_days``: the
    window before it that sets the customer's usual session rate.
    """

    lead_days: int = 30
    grace_days: int = 30
    web_days: int = 91
    web_baseline_days: int = 273

    def __post_init__(self) -> None:
        if self.lead_days < 0 or self.grace_days < 0:
            raise ValueError("lead_days and grace_days must be >= 0")
        if self.web_days <= 0 or self.web_baseline_days <= 0:
            raise ValueError("web_days and web_baseline_days must be > 0")


DEFAULT_TIMING = Timing()


def feature_sql(tables: Mapping[str, str], window_start: date, window_end: date,
                timing: Timing = DEFAULT_TIMING) -> str:
    """The feature query for terms with ``window_start <= end_date < window_end``.

    ``tables`` maps each of :data:`RAW_TABLES` to a typed relation (see
    :func:`typed_raw_views`).
    """
    if window_end <= window_start:
        raise ValueError("window_end must be after window_start")
    missing = [t for t in RAW_TABLES if t not in tables]
    if missing:
        raise KeyError(f"relations missing for {missing}")
    return FEATURE_SQL.format(
        **{t: tables[t] for t in RAW_TABLES},
        window_start=window_start.isoformat(),
        window_end=window_end.isoformat(),
        cutoff_offset_days=1 - timing.lead_days,
        grace_days=timing.grace_days,
        web_days=timing.web_days,
        web_window_days=timing.web_days + timing.web_baseline_days,
        baseline_scale=repr(timing.web_days / timing.web_baseline_days),
    )


def term_features(con: duckdb.DuckDBPyConnection, tables: Mapping[str, str],
                  window_start: date, window_end: date,
                  timing: Timing = DEFAULT_TIMING) -> pd.DataFrame:
    """One row per contract term ending in ``[window_start, window_end)``: features + label.

    Columns: keys and dates, :data:`FEATURES`, the two web session counts behind
    ``web_sessions_drop``, and ``is_churned``. See the module docstring for timing.
    """
    return con.execute(feature_sql(tables, window_start, window_end, timing)).df()


def features_from_raw_files(raw_dir: str | Path, window_start: date, window_end: date,
                            timing: Timing = DEFAULT_TIMING, fmt: str = "parquet") -> pd.DataFrame:
    """:func:`term_features` straight from a folder of raw files (every column text)."""
    con = duckdb.connect()
    try:
        typed = typed_raw_views(con, raw_file_views(con, raw_dir, fmt))
        return term_features(con, typed, window_start, window_end, timing)
    finally:
        con.close()
