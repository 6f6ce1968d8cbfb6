"""The demo-data generator: determinism, the contract, the planted truth, dirty rows.

Expected values come from the planted parameters (or closed forms of them); observed
values are computed from the written files, read back with DuckDB.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest
from conftest import create_revenue_views
from scipy import special

from cx_value.contract import REJECT_REASONS, TABLES, table
from cx_value.generate import Params, generate
from cx_value.generate.simulate import simulate
from cx_value.generate.timeline import Timeline

# Every reason but conflicting_duplicate is planted: of two copies of one key and export
# time with different content, staging keeps the one with the smaller row hash, which the
# generator's truth cannot name. The bad-input corpus (bad_input_corpus.py) and the
# customers_cleaning_rules unit test plant that one.
PLANTED_REASONS = set(REJECT_REASONS) - {"conflicting_duplicate"}

LARGE = 60_000
AS_OF = date(2026, 6, 30)


def _hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*")) if p.is_file()
    }


# ------------------------------------------------------------------ determinism


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path, fmt: str) -> None:
    a = generate(tmp_path / "a", customers=400, seed=7, fmt=fmt)
    b = generate(tmp_path / "b", customers=400, seed=7, fmt=fmt)
    c = generate(tmp_path / "c", customers=400, seed=8, fmt=fmt)
    ha, hb, hc = _hashes(a.out_dir), _hashes(b.out_dir), _hashes(c.out_dir)
    assert len(ha) == len(TABLES) + 8
    assert ha == hb
    assert all(ha[f"{t.name}.{fmt}"] != hc[f"{t.name}.{fmt}"] for t in TABLES)


def test_files_have_contract_columns_as_text(tmp_path: Path) -> None:
    for fmt in ("csv", "parquet"):
        out = tmp_path / fmt
        generate(out, customers=300, seed=1, fmt=fmt)
        assert not list((out / "_truth").glob("*.csv"))
        for t in TABLES:
            path = out / f"{t.name}.{fmt}"
            if fmt == "parquet":
                schema = pq.read_schema(path)
                assert tuple(schema.names) == t.column_names
                assert all(str(f.type) == "string" for f in schema)
            else:
                header = path.read_text(encoding="utf-8").splitlines()[0]
                assert tuple(h.strip('"') for h in header.split(",")) == t.column_names


def test_clean_set_has_no_dirty_rows(tmp_path: Path) -> None:
    s = generate(tmp_path, customers=300, seed=3, dirty_share=0.0)
    assert s.rows == s.clean_rows
    assert pq.read_table(tmp_path / "_truth" / "dirty_rows.parquet").num_rows == 0


# ------------------------------------------------------------ large clean sample


def _clean_views(out: Path) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with one view per raw table holding its clean rows (no added
    dirty row, one copy per key, ids trimmed and lower-cased, timestamps in UTC), the
    raw files as raw_<table>, the truth tables, and the revenue views of conftest."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute(f"create view ledger as select * from '{out}/_truth/dirty_rows.parquet'")
    con.execute(f"create view truth_customers as select * from '{out}/_truth/customers.parquet'")
    con.execute(f"create view identities as select * from '{out}/_truth/identities.parquet'")
    con.execute(f"create view truth_revenue as select * from "
                f"'{out}/_truth/customer_revenue.parquet'")
    con.execute(f"create view truth_returns as select * from '{out}/_truth/returns.parquet'")
    for t in TABLES:
        key = t.primary_key
        con.execute(f"create view raw_{t.name} as select * from '{out}/{t.name}.parquet'")
        # clean rows: no added dirty row, one copy per key, ids and times normalised
        cols = []
        for c in t.columns:
            if c.type == "timestamp":
                cols.append(f"cast(timezone('UTC', cast({c.name} as timestamptz)) as timestamp)"
                            f" as {c.name}")
            elif c.name.endswith("_id") and c.name != "product_id":
                cols.append(f"lower(trim({c.name})) as {c.name}")
            else:
                cols.append(c.name)
        con.execute(f"""
            create view {t.name} as
            select {', '.join(cols)} from raw_{t.name}
            where {key} is not null
              and {key} not in (select key from ledger where "table" = '{t.name}'
                                and expected_reason not in ('normalised', 'duplicate')
                                and key is not null)
            qualify row_number() over (partition by lower(trim({key}))
                                       order by loaded_at desc) = 1
        """)
    create_revenue_views(con)
    return con


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, duckdb.DuckDBPyConnection]:
    out = tmp_path_factory.mktemp("big")
    generate(out, customers=LARGE, seed=11, fmt="parquet", as_of=AS_OF)
    truth = json.loads((out / "_truth" / "truth.json").read_text())
    return out, truth, _clean_views(out)


def _nps_se(p: float, d: float, n: int) -> float:
    return math.sqrt((p + d - (p - d) ** 2) / n) * 100


def test_stage_nps_near_planted(big) -> None:
    _, truth, con = big
    params = Params()
    rows = con.execute("""
        select stage, count(*), avg((score::int >= 9)::int), avg((score::int <= 6)::int)
        from survey_responses where question_type = 'nps' group by stage
    """).fetchall()
    shares = {s: truth["stage_nps"][s]["respondent_band_share"] for s, *_ in rows}
    assert {r[0] for r in rows} == set(params.surveys.stage_nps)
    for stage, n, p, d in rows:
        if stage == "usage":
            continue  # mixes the band-exact relationship survey; checked below
        table_ = params.surveys.stage_nps[stage]
        planted = 100 * sum(shares[stage][b] * (table_[b][0] - table_[b][1]) for b in table_)
        assert abs(100 * (p - d) - planted) < 4 * _nps_se(p, d, n), (stage, p - d, planted)


def test_relationship_survey_answer_class_is_the_band(big) -> None:
    _, _, con = big
    mismatches, answered, eligible = con.execute("""
        select
            count(*) filter (where case when r.score::int <= 6 then 'worst'
                                        when r.score::int <= 8 then 'middle'
                                        else 'best' end != t.band),
            count(*),
            (select count(*) from truth_customers where relationship_survey_eligible)
        from survey_responses r join truth_customers t using (customer_id)
        where r.touchpoint = 'relationship_survey'
    """).fetchone()
    assert mismatches == 0
    assert 0.5 < answered / eligible < 0.65  # 60 % answer; churned subscribers are not asked


def test_service_fcr_and_first_response(big) -> None:
    _, _, con = big
    sp = Params().service
    rows = con.execute("""
        select channel, count(*),
               avg((agent_contacts::int = 1 and reopen_count::int = 0)::int),
               median(epoch(first_response_at) - epoch(opened_at)) / 3600.0
        from tickets group by channel
    """).fetchall()
    assert {r[0] for r in rows} == set(sp.fcr_probability)
    for channel, n, fcr, median_h in rows:
        p = sp.fcr_probability[channel]
        assert abs(fcr - p) < 4 * math.sqrt(p * (1 - p) / n), channel
        planted = sp.first_response_median_hours[channel]
        assert abs(median_h / planted - 1) < 0.06, (channel, median_h, planted)
    share = con.execute("select avg((is_complaint = 'true')::int) from tickets").fetchone()[0]
    assert 0.12 < share < 0.18


def test_renewal_rates_by_band(big) -> None:
    _, truth, con = big
    targets = Params().renewal.targets
    window_start = truth["calendar"]["outcome_window_start"]
    rows = con.execute(f"""
        with terms as (
            select s.subscription_id, s.customer_id, s.end_date::date as end_date,
                   exists (select 1 from subscriptions r
                           where r.previous_subscription_id = s.subscription_id
                             and r.start_date::date - s.end_date::date between 1 and 30
                   ) as renewed
            from subscriptions s
            where s.end_date::date >= date '{window_start}' and s.end_date::date < date '{AS_OF}'
        )
        select t.band, count(*), avg(renewed::int)
        from terms join truth_customers t using (customer_id) group by t.band
    """).fetchall()
    assert {r[0] for r in rows} == set(targets)
    for band, n, rate in rows:
        p = targets[band]
        assert abs(rate - p) < 3.5 * math.sqrt(p * (1 - p) / n), (band, rate, p, n)


def test_best_spend_140_percent_more_than_worst(big) -> None:
    _, truth, con = big
    cal = truth["calendar"]
    # net spend: return lines count negative (revenue_lines of conftest)
    rows = dict(con.execute(f"""
        with spend as (
            select customer_id,
                   sum(case line_kind when 'return' then -value_cents else value_cents end)
                   / 100 as eur
            from revenue_lines
            where line_kind in ('sale', 'return')
              and ordered_at >= timestamp '{cal["outcome_window_start"]}'
              and ordered_at < timestamp '{cal["outcome_window_end_exclusive"]}'
            group by 1
        )
        select t.band, avg(coalesce(spend.eur, 0))
        from truth_customers t left join spend using (customer_id)
        where t.customer_type = 'b2c' and t.relationship_survey_eligible
        group by 1
    """).fetchall())
    ratio = float(rows["best"]) / float(rows["worst"])
    assert abs(ratio / Params().spend_ratio_target - 1) < 0.03, ratio


def _discrete_normal_mean(mean: float, sd: float, lo: int, hi: int) -> float:
    k = np.arange(lo, hi + 1)
    w = np.exp(-0.5 * ((k - mean) / sd) ** 2)
    return float((k * w).sum() / w.sum())


def test_ces_after_unreversing(big) -> None:
    _, _, con = big
    sp = Params().surveys
    rows = con.execute("""
        select t.band, count(*),
               avg(case when r.scale_direction = 'reversed' then 8 - r.score::int
                        else r.score::int end),
               avg((r.scale_direction = 'reversed')::int),
               count(distinct r.survey_id) filter (where r.scale_direction = 'reversed')
        from survey_responses r join truth_customers t using (customer_id)
        where r.question_type = 'ces' group by t.band
    """).fetchall()
    for band, n, mean, reversed_share, legacy_ids in rows:
        planted = _discrete_normal_mean(sp.ces_mean[band], sp.ces_sd, 1, 7)
        assert abs(mean - planted) < 0.05 + 4 * 1.3 / math.sqrt(n), (band, mean, planted)
        assert abs(reversed_share - sp.ces_legacy_share) < 0.03
        assert legacy_ids == 1


def test_expectation_gap_per_touchpoint(big) -> None:
    _, _, con = big
    targets = Params().surveys.expectation_gap
    rows = con.execute("""
        select c.touchpoint, count(*), avg(c.score::int - e.score::int)
        from survey_responses c join survey_responses e
          on e.customer_id = c.customer_id and e.touchpoint = c.touchpoint
         and e.answered_at = c.answered_at and e.question_type = 'expectation'
        where c.question_type = 'csat' group by 1
    """).fetchall()
    assert {r[0] for r in rows} == set(targets)
    for tp, n, gap in rows:
        # the target holds for the nominal 25/50/25 band mix; respondents' mix differs a little
        assert abs(gap - targets[tp]) < 0.06, (tp, gap, targets[tp], n)


def test_discount_cost_to_the_cent(big) -> None:
    _, truth, con = big
    # the discount keys are over sale lines: lines of `order` documents, any status
    sale_lines = """
        from order_lines l join orders o using (order_id)
        where coalesce(o.order_type, 'order') = 'order' and l.quantity::int > 0
    """
    cents = con.execute(f"""
        select sum((round(list_price::decimal(18, 2) * 100)::bigint
                    - round(realised_price::decimal(18, 2) * 100)::bigint) * quantity::bigint)
        {sale_lines}
    """).fetchone()[0]
    assert cents == truth["discounts"]["discount_cost_cents"]
    assert truth["discounts"]["discount_cost_eur"] == pytest.approx(cents / 100, abs=0.001)
    no_discount = con.execute(
        f"select avg((list_price = realised_price)::int) {sale_lines}").fetchone()[0]
    assert abs(no_discount - Params().orders.no_discount_share) < 0.02


def _bgnbd_pmf(x: int, t: float, r: float, alpha: float, a: float, b: float) -> float:
    """P(X(t) = x) of BG/NBD (Fader, Hardie & Lee 2005, eq. 8)."""
    lb = special.betaln

    def nb(j: int) -> float:
        return math.exp(special.gammaln(r + j) - special.gammaln(r) - special.gammaln(j + 1)
                        + r * math.log(alpha / (alpha + t)) + j * math.log(t / (alpha + t)))

    first = math.exp(lb(a, b + x) - lb(a, b)) * nb(x)
    if x == 0:
        return first
    tail = 1 - sum(nb(j) for j in range(x))
    return first + math.exp(lb(a + 1, b + x - 1) - lb(a, b)) * tail


def test_bgnbd_repeat_purchases_in_39_weeks(big) -> None:
    _, _, con = big
    bg = Params().bgnbd
    counts = dict(con.execute(f"""
        with buyers as (
            select customer_id, created_at from customers
            where customer_type = 'b2c'
              and created_at <= timestamp '{AS_OF}' - interval 273 day
        ),
        repeats as (  -- net purchase days after the acquisition day
            select b.customer_id, count(d.day) as x
            from buyers b left join net_days d
              on d.customer_id = b.customer_id and d.net > 0
             and d.day > b.created_at::date
             and d.first_ordered_at <= b.created_at + interval 273 day
            group by 1
        )
        select least(x, 3), count(*) from repeats group by 1
    """).fetchall())
    n = sum(counts.values())
    for x in (0, 1, 2):
        expected = _bgnbd_pmf(x, 39.0, bg.r, bg.alpha, bg.a, bg.b)
        observed = counts.get(x, 0) / n
        assert abs(observed - expected) < 4 * math.sqrt(expected * (1 - expected) / n), (
            x, observed, expected)


def test_identity_map_and_sessions(big) -> None:
    _, truth, con = big
    bad = con.execute("""
        select count(*) from events e join identities i using (anonymous_id)
        where e.user_id is not null and (not i.identified or i.customer_id != e.user_id)
    """).fetchone()[0]
    assert bad == 0
    never = con.execute("""
        select count(*) from identities i
        where i.identified and not exists (
            select 1 from events e where e.anonymous_id = i.anonymous_id
              and e.user_id is not null)
    """).fetchone()[0]
    assert never == 0
    # the first identified event of every device is a login or a form fill
    first_types = con.execute("""
        select distinct arg_min(event_type, event_at) from events
        where user_id is not null group by anonymous_id
    """).fetchall()
    assert {r[0] for r in first_types} <= {"login", "form_fill"}
    # 30 minutes of inactivity end a session: the planted session count is recovered
    sessions = con.execute("""
        select count(*) filter (where gap is null or gap > 1800) from (
            select epoch(event_at) - lag(epoch(event_at)) over (
                partition by anonymous_id order by event_at) as gap
            from events)
    """).fetchone()[0]
    web = truth["web"]
    assert sessions == web["planted_sessions_total"] + web["planted_visitor_sessions"]
    by_band = dict(con.execute("""
        select band, avg(planted_sessions) from truth_customers group by band
    """).fetchall())
    assert by_band["best"] > by_band["middle"] > by_band["worst"]


def test_clean_rows_keep_time_order(big) -> None:
    _, _, con = big
    checks = {
        "orders before customer": """select count(*) from orders o join customers c
            using (customer_id) where o.ordered_at < c.created_at""",
        "tickets before customer": """select count(*) from tickets t join customers c
            using (customer_id) where t.opened_at < c.created_at""",
        "response before open": "select count(*) from tickets where first_response_at < opened_at",
        "resolved before open": "select count(*) from tickets where resolved_at < opened_at",
        "answer before send": "select count(*) from survey_responses where answered_at < sent_at",
        "won deal not at acquisition": """select count(*) from deals d join customers c
            using (customer_id) where d.status = 'won' and d.closed_at != c.created_at""",
        "term end before start": "select count(*) from subscriptions where end_date < start_date",
    }
    for name, sql in checks.items():
        assert con.execute(sql).fetchone()[0] == 0, name
    for t in TABLES:
        stamps = [c.name for c in t.columns if c.type == "timestamp" and c.name != "loaded_at"]
        for column in stamps:
            late = con.execute(
                f"select count(*) from {t.name} where {column} > loaded_at").fetchone()[0]
            assert late == 0, (t.name, column)


def test_dirty_ledger(big) -> None:
    _out, truth, con = big
    share = 0.02
    clean = truth["row_counts"]["clean"]
    for t in TABLES:
        n_ledger = con.execute(
            f"""select count(*) from ledger where "table" = '{t.name}'""").fetchone()[0]
        # rounded per table (per chunk for events)
        assert abs(n_ledger - share * clean[t.name]) <= 1 + share * clean[t.name] * 0.01, t.name
        reasons = {r[0] for r in con.execute(
            f"""select distinct expected_reason from ledger where "table" = '{t.name}'""")
            .fetchall()}
        assert {"duplicate", "normalised", "missing_key"} <= reasons, t.name
        missing = con.execute(f"""select count(*) from ledger where "table" = '{t.name}'
                                  and key is null""").fetchone()[0]
        nulls = con.execute(f"select count(*) from raw_{t.name} where {t.primary_key} is null"
                            ).fetchone()[0]
        assert missing == nulls
        absent = con.execute(f"""
            select count(*) from ledger l where l."table" = '{t.name}' and l.key is not null
              and not exists (select 1 from raw_{t.name} r where r.{t.primary_key} = l.key)
        """).fetchone()[0]
        assert absent == 0, t.name
    reasons = {r[0] for r in con.execute("select distinct expected_reason from ledger").fetchall()}
    assert reasons <= set(REJECT_REASONS) | {"normalised", "duplicate"}
    assert reasons >= PLANTED_REASONS
    assert table("events").primary_key == "event_id"


# ------------------------------------------------- returns, credit notes, billing

MEDIUM = 3_000
MEDIUM_SEED = 5


@pytest.fixture(scope="module")
def medium(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict,
                                                               duckdb.DuckDBPyConnection]:
    out = tmp_path_factory.mktemp("medium")
    generate(out, customers=MEDIUM, seed=MEDIUM_SEED, fmt="parquet", as_of=AS_OF)
    truth = json.loads((out / "_truth" / "truth.json").read_text())
    return out, truth, _clean_views(out)


def test_new_order_columns_are_written(medium) -> None:
    _, truth, con = medium
    types = dict(con.execute(
        "select coalesce(order_type, ''), count(*) from orders group by 1").fetchall())
    assert set(types) == {"", "order", "return", "credit_note"}  # billing is opt-in
    linked_elsewhere = con.execute("""
        select count(*) from orders where original_order_id is not null
          and coalesce(order_type, 'order') not in ('return', 'credit_note')
    """).fetchone()[0]
    assert linked_elsewhere == 0
    assert con.execute(
        "select count(*) from orders where subscription_id is not null").fetchone()[0] == 0
    # clean rows: empty or the reporting currency, in either case
    for name in ("orders", "deals", "subscriptions"):
        codes = dict(con.execute(
            f"select currency, count(*) from {name} group by 1").fetchall())
        assert set(codes) == {None, "EUR", "eur"}, name
        assert truth["currency"]["clean_rows_with_explicit_code"][name] == {
            k: v for k, v in codes.items() if k is not None}
    # a negative quantity is only ever a return document's line
    signs = dict(con.execute("""
        select coalesce(o.order_type, 'order') in ('return', 'credit_note'),
               count(*) filter (where l.quantity::int < 0)
        from order_lines l join orders o using (order_id) group by 1
    """).fetchall())
    assert signs[False] == 0 and signs[True] > 0


def test_same_day_cancellations_net_to_zero(medium) -> None:
    _, truth, con = medium
    rows = con.execute("""
        with value as (
            select order_id, sum(value_cents) as cents from revenue_lines group by 1
        )
        select r.order_id, r.linked, o.original_order_id,
               o.ordered_at::date = c.ordered_at::date as same_date,
               epoch(o.ordered_at - c.ordered_at) / 60 as minutes,
               v.cents as returned, cv.cents as ordered,
               (select count(*) from order_lines where order_id = r.order_id) as lines,
               (select count(*) from order_lines where order_id = c.order_id) as order_lines,
               t.net_cents / t.net_purchase_days as mean_day_cents
        from truth_returns r
        join orders o on o.order_id = r.order_id
        join orders c on c.order_id = r.credited_order_id
        join value v on v.order_id = r.order_id
        join value cv on cv.order_id = c.order_id
        join truth_revenue t on t.customer_id = r.customer_id
        where r.kind = 'same_day_cancellation'
    """).fetchall()
    params = Params().returns
    assert len(rows) == truth["returns"]["documents"]["same_day_cancellations"] > 20
    for order_id, linked, original, same_date, minutes, returned, ordered, n, n_order, \
            mean_day in rows:
        assert same_date and params.cancellation_minutes[0] <= minutes \
            <= params.cancellation_minutes[1], order_id
        assert returned == ordered and n == n_order, order_id
        assert (original is not None) == linked
        assert ordered >= 5 * mean_day, (order_id, ordered, mean_day)  # 10-50 x a mean order
    linked_share = sum(r[1] for r in rows) / len(rows)
    assert 0.3 < linked_share < 0.7


def test_partial_returns_are_part_of_their_order(medium) -> None:
    _, truth, con = medium
    params = Params().returns
    rows = con.execute("""
        with value as (
            select order_id, sum(value_cents) as cents from revenue_lines group by 1
        )
        select r.order_id, r.linked, o.original_order_id, v.cents, cv.cents,
               date_diff('day', c.ordered_at::date, o.ordered_at::date) as days,
               epoch(o.ordered_at - c.ordered_at) / 86400 as elapsed,
               (select max(s.day) from sale_days s where s.customer_id = r.customer_id
                  and s.day > c.ordered_at::date and s.day <= o.ordered_at::date) as sale_between
        from truth_returns r
        join orders o on o.order_id = r.order_id
        join orders c on c.order_id = r.credited_order_id
        join value v on v.order_id = r.order_id
        join value cv on cv.order_id = c.order_id
        where r.kind = 'partial_return'
    """).fetchall()
    assert len(rows) == truth["returns"]["documents"]["partial_returns"] > 100
    for order_id, linked, original, returned, ordered, _days, elapsed, between in rows:
        assert 0 < returned < ordered, order_id
        lo, hi = params.partial_return_days
        assert lo <= elapsed <= hi, order_id
        assert (original is not None) == linked
        if not linked:  # dated before the customer's next purchase day
            assert between is None, order_id
    linked_share = sum(r[1] for r in rows) / len(rows)
    assert 0.6 < linked_share < 0.8
    # every returned line is (part of) a line of the credited order
    unmatched = con.execute("""
        select count(*) from truth_returns r
        join order_lines rl on rl.order_id = r.order_id
        where not exists (
            select 1 from order_lines ol where ol.order_id = r.credited_order_id
              and ol.product_id = rl.product_id and ol.realised_price = rl.realised_price
              and ol.list_price = rl.list_price and ol.quantity::int >= abs(rl.quantity::int))
    """).fetchone()[0]
    assert unmatched == 0
    # both sign conventions, and both in the truth ledger of return documents
    signs = con.execute("""
        select r.negative_quantities, bool_and(l.quantity::int < 0), bool_and(l.quantity::int > 0)
        from truth_returns r join order_lines l using (order_id) group by 1 order by 1
    """).fetchall()
    assert signs == [(False, False, True), (True, True, False)]


def test_returns_are_allocated_to_the_order_they_credit(medium) -> None:
    _, _, con = medium
    wrong = con.execute("""
        select count(*) from truth_returns r
        join allocated_returns a using (order_id)
        where a.allocated_day != r.credited_ordered_at::date
    """).fetchone()[0]
    n = con.execute("select count(*) from allocated_returns").fetchone()[0]
    assert wrong == 0
    assert n == con.execute("select count(*) from truth_returns").fetchone()[0]


def test_revenue_truth_equals_the_files_to_the_cent(medium) -> None:
    _, truth, con = medium
    ret = truth["returns"]
    totals = con.execute("""
        select sum(value_cents) filter (where line_kind = 'sale'),
               sum(value_cents) filter (where line_kind = 'return'),
               sum(cost_cents) filter (where line_kind = 'sale'),
               sum(cost_cents) filter (where line_kind = 'return'),
               sum(list_cents - value_cents) filter (where line_kind = 'sale'),
               sum(list_cents - value_cents) filter (where line_kind = 'return'),
               count(*) filter (where line_kind = 'return'),
               count(distinct order_id) filter (where line_kind = 'return')
        from revenue_lines
    """).fetchone()
    gross, returned, g_cost, r_cost, g_disc, r_disc, n_lines, n_docs = totals
    t = ret["totals"]
    assert (t["gross_cents"], t["returns_cents"], t["net_cents"]) == (
        gross, returned, gross - returned)
    assert t["net_margin_cents"] == (gross - g_cost) - (returned - r_cost)
    assert (t["gross_discount_cents"], t["returns_discount_cents"]) == (g_disc, r_disc)
    assert ret["documents"]["return_lines"] == n_lines
    assert ret["documents"]["return_documents"] == n_docs
    # the existing keys: completed sale lines, as before returns existed
    assert truth["discounts"]["completed_orders_only"]["revenue_cents"] == gross
    by_month = {m: (g, r) for m, g, r in con.execute("""
        select strftime(ordered_at, '%Y-%m'),
               coalesce(sum(value_cents) filter (where line_kind = 'sale'), 0),
               coalesce(sum(value_cents) filter (where line_kind = 'return'), 0)
        from revenue_lines group by 1
    """).fetchall()}
    assert by_month == {m: (v["gross_cents"], v["returns_cents"])
                        for m, v in ret["by_month"].items()}
    assert all(v["net_cents"] == v["gross_cents"] - v["returns_cents"]
               for v in ret["by_month"].values())
    # per customer, over every customer of the export
    diff = con.execute("""
        with money as (
            select customer_id,
                   coalesce(sum(value_cents) filter (where line_kind = 'sale'), 0) as gross,
                   coalesce(sum(value_cents) filter (where line_kind = 'return'), 0) as ret
            from revenue_lines group by 1
        ),
        days as (
            select customer_id, count(*) as n, min(day) as first_day, max(day) as last_day
            from net_days where net > 0 group by 1
        )
        select count(*) from truth_revenue t
        left join money m using (customer_id)
        left join days d using (customer_id)
        where t.gross_cents != coalesce(m.gross, 0) or t.returns_cents != coalesce(m.ret, 0)
           or t.net_cents != coalesce(m.gross, 0) - coalesce(m.ret, 0)
           or t.net_purchase_days != coalesce(d.n, 0)
           or t.first_purchase_date is distinct from d.first_day::varchar
           or t.last_purchase_date is distinct from d.last_day::varchar
    """).fetchone()[0]
    assert diff == 0
    assert con.execute("select count(*) from truth_revenue").fetchone()[0] == MEDIUM


def test_net_purchase_days_are_the_planted_bgnbd_process(medium) -> None:
    """Returns and same-day cancellations leave every consumer's net purchase days -
    and so x, t_x and the Gamma-Gamma spend per day - exactly as planted."""
    _, _, con = medium
    params = Params()
    world = simulate(MEDIUM, MEDIUM_SEED, (params, Timeline.build(
        AS_OF, params.history_years, params.acquisition_years)))
    one = world.one_off
    day = (one.at // 86_400).astype("datetime64[D]").astype(str)
    planted = {}
    for c, d, cents in zip(one.customer, day, one.cents, strict=True):
        key = (f"c{c + 1:07d}", d)
        planted[key] = planted.get(key, 0) + int(cents)
    observed = {(c, str(d)): int(net) for c, d, net in con.execute("""
        select n.customer_id, n.day, n.net from net_days n
        join customers c using (customer_id)
        where c.customer_type = 'b2c' and n.net > 0
    """).fetchall()}
    assert observed == planted
    # a same-day cancellation's day, alone, nets to 0: it is not a purchase
    zero_days = con.execute("""
        select count(*) from net_days n join customers c using (customer_id)
        where c.customer_type = 'b2c' and n.net <= 0
    """).fetchone()[0]
    assert zero_days > 0
    assert con.execute("""
        select count(*) from truth_revenue where customer_type = 'b2c'
          and net_purchase_days != bgnbd_planted_order_days
    """).fetchone()[0] == 0


def test_planted_rejects_point_at_planted_rejects(medium) -> None:
    out, _, con = medium
    rejected = """select key from ledger where "table" = '{t}' and key is not null
                  and expected_reason not in ('normalised', 'duplicate')"""
    checks = {
        "rejected_order": ("order_lines", "order_id", rejected.format(t="orders")),
        "rejected_customer": ("orders", "customer_id", rejected.format(t="customers")),
    }
    for reason, (tbl, column, pool) in checks.items():
        n, bad = con.execute(f"""
            select count(*), count(*) filter (where r.{column} not in ({pool}))
            from raw_{tbl} r join ledger l on l.key = r.{table(tbl).primary_key}
            where l."table" = '{tbl}' and l.expected_reason = '{reason}'
        """).fetchone()
        assert n > 0 and bad == 0, reason
    # unknown_* ids are nowhere in the export
    for tbl, column, parent, key in (("order_lines", "order_id", "orders", "order_id"),
                                     ("orders", "customer_id", "customers", "customer_id")):
        reason = "unknown_order" if parent == "orders" else "unknown_customer"
        found = con.execute(f"""
            select count(*) from raw_{tbl} r join ledger l on l.key = r.{table(tbl).primary_key}
            where l."table" = '{tbl}' and l.expected_reason = '{reason}'
              and lower(trim(r.{column})) in (select lower(trim({key})) from raw_{parent}
                                              where {key} is not null)
        """).fetchone()[0]
        assert found == 0, (tbl, reason)
    # other currencies only on planted other_currency rows
    for tbl in ("orders", "deals", "subscriptions"):
        rows = con.execute(f"""
            select l.expected_reason, count(*) from raw_{tbl} r
            left join ledger l on l.key = r.{table(tbl).primary_key} and l."table" = '{tbl}'
            where upper(r.currency) != 'EUR' group by 1
        """).fetchall()
        assert [r[0] for r in rows] == ["other_currency"], tbl
    # negative quantities are returns now; 0 is the out-of-range quantity
    bad = con.execute("""
        select count(*) from raw_order_lines r join ledger l on l.key = r.order_line_id
        where l."table" = 'order_lines' and l.expected_reason = 'out_of_range'
          and not (r.quantity = '0' or r.realised_price like '-%' or r.list_price like '-%')
    """).fetchone()[0]
    assert bad == 0
    assert {r[0] for r in con.execute(
        "select distinct expected_reason from ledger").fetchall()} >= PLANTED_REASONS
    assert out.exists()


def _shift_months(day: date, months: int) -> date:
    m0 = day.month - 1 + months
    year, month = day.year + m0 // 12, m0 % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise ValueError(day)


def test_bill_subscriptions_one_order_per_term_month(tmp_path: Path) -> None:
    generate(tmp_path, customers=400, seed=3, dirty_share=0.0, as_of=AS_OF,
             bill_subscriptions=True)
    truth = json.loads((tmp_path / "_truth" / "truth.json").read_text())
    con = duckdb.connect()
    subs = con.execute(f"""
        select subscription_id, customer_id, start_date::date, end_date::date,
               monthly_fee::decimal(18, 2)
        from '{tmp_path}/subscriptions.parquet'
    """).fetchall()
    expected = []
    for _sid, customer, start, end, fee in subs:
        k = 0
        while (bill := _shift_months(start, k)) <= end and bill < AS_OF:
            expected.append((customer, bill, fee))
            k += 1
    bills = con.execute(f"""
        select o.customer_id, o.ordered_at::timestamp::date, l.realised_price::decimal(18, 2),
               l.list_price::decimal(18, 2), l.quantity, o.status, o.subscription_id,
               o.ordered_at::timestamp, s.start_date::date, s.end_date::date,
               s.customer_id, l.unit_cost,
               count(*) over (partition by o.order_id) as lines
        from '{tmp_path}/orders.parquet' o
        join '{tmp_path}/order_lines.parquet' l using (order_id)
        left join '{tmp_path}/subscriptions.parquet' s using (subscription_id)
        where o.order_type = 'contract_billing'
    """).fetchall()
    assert sorted((c, d, p) for c, d, p, *_ in bills) == sorted(expected)
    assert len(expected) > 1_000
    for _c, _d, price, listed, qty, status, sid, at, start, end, owner, cost, lines in bills:
        assert (price, qty, status, lines, cost) == (listed, "1", "completed", 1, None)
        if sid is not None:  # the linked term is the customer's and holds the bill's date
            assert owner == _c and start <= at.date() <= end
    linked = sum(b[6] is not None for b in bills) / len(bills)
    assert 0.6 < linked < 0.8
    cb = truth["returns"]["contract_billing"]
    assert cb["enabled"] and cb["orders"] == len(bills)
    assert cb["revenue_cents"] == round(sum(b[2] for b in bills) * 100)
    assert sum(cb["by_month_cents"].values()) == cb["revenue_cents"]
    # billing is contract revenue: it is neither gross nor a purchase day
    create_revenue_views(con, f"'{tmp_path}/orders.parquet'",
                         f"'{tmp_path}/order_lines.parquet'")
    gross = con.execute(
        "select sum(value_cents) from revenue_lines where line_kind = 'sale'").fetchone()[0]
    assert gross == truth["returns"]["totals"]["gross_cents"]
