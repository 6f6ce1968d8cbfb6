"""A generated contract book (telecom / SaaS style) with a planted, recorded truth.

``generate_contract_book()`` writes only ``customers`` and ``subscriptions`` (plus
``orders`` and ``order_lines`` holding ``contract_billing`` invoices when
``bill_subscriptions`` is on); every other raw table is absent, so the folder is checked
and built with ``--absent contacts,deals,referrals,tickets,survey_responses,events``
(and ``orders,order_lines`` without invoices). No dirty rows: this book tests contract
metrics against a planted truth, not cleaning.

**Planted model.** Each customer holds one plan for life (``PLANS``): term length
``term_months`` (1, 1, 12, 24), an acquisition span and a base monthly fee. Per plan,
shifted-beta-geometric (sBG) retention: ``theta_i ~ Beta(alpha_p, beta_p)`` and at the
end of every term the customer churns with probability ``theta_i``, so the churn term
``T_i`` (1, 2, ...) is geometric with success probability ``theta_i``. Terms run back to
back: term k (0-based) of a customer acquired on day ``a`` starts on ``a + k * L`` months
and ends the day before term k + 1 starts (a day past a month's length is clipped to
its last day, always from ``a``, so a chain started on the 31st keeps returning to the
31st). The first term starts on a day drawn uniformly from the plan's acquisition span
before ``as_of`` (4 years for the monthly plans, 6 for annual, 10 for biennial: with
fewer years no biennial customer has two decided terms and the plan's alpha, beta are
not identified). ``previous_subscription_id`` links each renewal to the term it renews.

**What the export holds** (``as_of`` = the export day, rows exported at ``EXPORT_HOUR``
UTC that day at the latest). A term is in the export when it started on or before
``as_of``; a churner's chain stops after term ``T_i``. A few renewals are *signed
ahead*: for ``SIGNED_AHEAD_SHARE`` of the 12- and 24-month customers who renew a term
ending within ``SIGNED_AHEAD_DAYS`` of ``as_of``, the next term (starting after
``as_of``) is in the export, signed and loaded on or before ``as_of``.

**Notice.** ``NOTICE_SHARE`` of churners give notice: ``cancelled_at`` on the last
term's row, a uniform whole number of days before that term's ``end_date`` (1-25 for
1-month terms, ``NOTICE_DAYS``; 14-60 for longer ones, ``LONG_NOTICE_DAYS``), between
08:00 and 18:59 UTC. A notice dated after ``as_of`` is not in the
export yet: the row then has an empty ``cancelled_at``.

**Fees.** Per customer, a monthly fee ``round(base_fee * exp(N(0, FEE_SD)))`` cents, the
same on every term of the chain.

**Attributes** (extra columns of ``customers``, beyond the contract). They are drawn from
``u_i = F_p(theta_i)``, the quantile of the customer's theta in its plan's Beta, so each
plan's theta stays exactly Beta(alpha_p, beta_p): ``payment_method`` is
``electronic_check`` with probability 0.10 + 0.60 u, ``card`` and ``bank_transfer`` with
0.45 - 0.30 u each (higher theta, more electronic checks); ``data_usage_gb`` is
``usage_p * exp(-1.6 (u - 0.5) + N(0, 0.35))`` with two decimals (higher theta, less
usage).

**Billing** (``bill_subscriptions``). Every term is billed monthly: billing month k of a
term starts on ``start_date + k months`` (k = 0 .. term_months - 1, the day clipped to the
month's length). One completed ``contract_billing`` order per billing month that starts
on or before ``as_of``, ordered at ``BILL_HOUR`` UTC on that day, ``subscription_id``
set, one line: quantity 1, list and realised price = the term's monthly fee.

**Times.** A customer's ``created_at`` is in the first hours of its first term's start
day, before that day's invoice. Customers are exported at ``as_of`` ``EXPORT_HOUR`` (a
snapshot of the customer master, so the latest export date is ``as_of``); a
subscription row some hours after its latest event (its start, its signing when signed
ahead, or its notice), an order and its lines some hours after the order; never after
the export instant.

The truth (``_truth/contract_book.json`` and Parquet) is computed from these planted
events by :mod:`cx_value.generate.contract_book_truth`, whose docstring defines each
figure.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy import stats

from cx_value.generate import text
from cx_value.generate.core import GenerationSummary, prepare_output_dir
from cx_value.generate.population import CHANNELS, FIRST_NAMES, LAST_NAMES
from cx_value.generate.text import DAY, HOUR
from cx_value.generate.writer import Format, RawTableWriter, as_table

EXPORT_HOUR = 20
BILL_HOUR = 6
NOTICE_SHARE = 0.8
NOTICE_DAYS: dict[int, tuple[int, int]] = {1: (1, 25)}  # other term lengths: LONG_NOTICE_DAYS
LONG_NOTICE_DAYS = (14, 60)
SIGNED_AHEAD_SHARE = 0.3
SIGNED_AHEAD_DAYS = 30
FEE_SD = 0.12
MAX_CUSTOMERS = 1_000_000
PAYMENT_METHODS = ("card", "bank_transfer", "electronic_check")
EXTRA_CUSTOMER_COLUMNS = ("payment_method", "data_usage_gb")
ABSENT_TABLES = ("contacts", "deals", "referrals", "tickets", "survey_responses", "events")
PRODUCT_BASE = 300  # invoice lines name product prd0300 + plan code


@dataclass(frozen=True)
class Plan:
    """One plan of the book and its planted sBG retention."""

    name: str
    term_months: int
    alpha: float
    beta: float
    share: float  # of customers
    acquisition_years: int
    base_fee_cents: int
    usage_gb: float  # median data usage of a customer at the plan's median theta

    @property
    def mean_churn(self) -> float:
        """Mean churn probability per term, alpha / (alpha + beta)."""
        return self.alpha / (self.alpha + self.beta)


PLANS: tuple[Plan, ...] = (
    Plan("monthly_basic", 1, 0.8, 8.0, 0.30, 4, 1990, 8.0),
    Plan("monthly_plus", 1, 1.0, 14.0, 0.20, 4, 3990, 30.0),
    Plan("annual", 12, 0.5, 2.5, 0.20, 6, 3490, 20.0),
    Plan("biennial", 24, 0.15, 3.35, 0.30, 10, 2990, 20.0),
)


def add_months(days: np.ndarray, months: np.ndarray | int) -> np.ndarray:
    """Days since the epoch shifted by whole months, the day clipped to the month's length."""
    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    m0 = d.astype("datetime64[M]")
    dom = (d - m0.astype("datetime64[D]")).astype(np.int64)
    target = m0 + np.asarray(months, dtype=np.int64).astype("timedelta64[M]")
    first = target.astype("datetime64[D]")
    length = ((target + 1).astype("datetime64[D]") - first).astype(np.int64)
    return (first + np.minimum(dom, length - 1)).astype(np.int64)


def month_index(days: np.ndarray | int) -> np.ndarray:
    """Months since January 1970 of days since the epoch."""
    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    return d.astype("datetime64[M]").astype(np.int64)


@dataclass
class Terms:
    """Contract terms in the export, in subscription-id order (start, customer, index)."""

    customer: np.ndarray  # customer index
    k: np.ndarray  # 0-based term index in the chain
    start: np.ndarray  # day
    end: np.ndarray  # day
    previous: np.ndarray  # row of the term this one renews, -1 for a first term
    signed_ahead: np.ndarray  # starts after as_of, signed on or before it
    cancelled_s: np.ndarray  # notice instant in the export, -1 if none
    loaded_s: np.ndarray


@dataclass
class Book:
    """The planted contract book: per customer (index i is ``c{i+1:07d}``) and per term."""

    as_of: date
    as_of_day: int
    export_s: int
    plan: np.ndarray  # code into PLANS
    anchor: np.ndarray  # day of the first term's start
    created_s: np.ndarray
    theta: np.ndarray
    theta_quantile: np.ndarray
    churn_term: np.ndarray  # T: the term after which the customer churns (1-based)
    started_terms: np.ndarray  # terms started on or before as_of (before T cuts the chain)
    fee_cents: np.ndarray
    payment_method: np.ndarray  # code into PAYMENT_METHODS
    usage_centi_gb: np.ndarray
    gives_notice: np.ndarray
    notice_s: np.ndarray  # planted notice instant of every churner (even after as_of), else -1
    channel: np.ndarray
    first_name: np.ndarray
    last_name: np.ndarray
    terms: Terms

    @property
    def n(self) -> int:
        return int(self.plan.size)

    @property
    def term_months(self) -> np.ndarray:
        """Per customer: the term length of its plan, in months."""
        return np.array([p.term_months for p in PLANS])[self.plan]

    @property
    def churn_in_export(self) -> np.ndarray:
        """The churn term started on or before as_of (so the chain ends in the export)."""
        return self.churn_term <= self.started_terms

    def term_end(self, k: np.ndarray) -> np.ndarray:
        """Per customer: last day of its term k (0-based)."""
        return add_months(self.anchor, (k + 1) * self.term_months) - 1


def _geometric(theta: np.ndarray, u: np.ndarray) -> np.ndarray:
    """T ~ Geometric(theta) on 1, 2, ... by inversion (exact for tiny theta too)."""
    t = np.floor(np.log(u) / np.log1p(-theta)) + 1.0
    return np.minimum(t, 1e7).astype(np.int64)


def plant(customers: int, seed: int, as_of: date) -> Book:
    """Draw the contract book: plans, chains of terms, notices, fees and attributes."""
    if not 1 <= customers <= MAX_CUSTOMERS:
        raise ValueError(f"customers must be within [1, {MAX_CUSTOMERS:,}]")
    streams = ("plan", "acquisition", "theta", "churn", "fee", "attributes", "notice",
               "signed", "names", "loaded")
    rngs = dict(zip(streams, (np.random.default_rng(s) for s in
                              np.random.SeedSequence(seed).spawn(len(streams))), strict=True))
    n = customers
    as_of_day = int(np.datetime64(as_of, "D").astype(np.int64))
    export_s = as_of_day * DAY + EXPORT_HOUR * HOUR
    shares = np.array([p.share for p in PLANS])
    plan = rngs["plan"].choice(len(PLANS), size=n, p=shares / shares.sum()).astype(np.int8)
    span = np.array([round(p.acquisition_years * 365.25) for p in PLANS])[plan]
    ra = rngs["acquisition"]
    anchor = as_of_day - np.floor(ra.random(n) * (span + 1)).astype(np.int64)
    created_hour = ra.integers(0, BILL_HOUR * HOUR, size=n)
    # ids in acquisition order
    order = np.lexsort((np.arange(n), anchor))
    plan, anchor, created_hour = plan[order], anchor[order], created_hour[order]

    alpha = np.array([p.alpha for p in PLANS])[plan]
    beta = np.array([p.beta for p in PLANS])[plan]
    theta = rngs["theta"].beta(alpha, beta)
    quantile = stats.beta.cdf(theta, alpha, beta)
    churn_term = _geometric(theta, rngs["churn"].random(n))

    base_fee = np.array([p.base_fee_cents for p in PLANS])[plan]
    fee = np.rint(base_fee * np.exp(rngs["fee"].normal(0.0, FEE_SD, n))).astype(np.int64)

    ra = rngs["attributes"]
    p_check = 0.10 + 0.60 * quantile
    p_card = 0.45 - 0.30 * quantile
    u = ra.random(n)
    payment = np.where(u < p_card, 0, np.where(u < 1.0 - p_check, 1, 2)).astype(np.int8)
    usage = np.array([p.usage_gb for p in PLANS])[plan] * np.exp(
        -1.6 * (quantile - 0.5) + ra.normal(0.0, 0.35, n))
    usage_centi = np.rint(usage * 100).astype(np.int64)

    term_months = np.array([p.term_months for p in PLANS])[plan]
    elapsed = month_index(as_of_day) - month_index(anchor)
    q = elapsed // term_months
    started = q + 1 - (add_months(anchor, q * term_months) > as_of_day)

    rn = rngs["notice"]
    gives_notice = rn.random(n) < NOTICE_SHARE
    lo = np.array([NOTICE_DAYS.get(p.term_months, LONG_NOTICE_DAYS)[0] for p in PLANS])[plan]
    hi = np.array([NOTICE_DAYS.get(p.term_months, LONG_NOTICE_DAYS)[1] for p in PLANS])[plan]
    notice_days = lo + np.floor(rn.random(n) * (hi - lo + 1)).astype(np.int64)
    notice_hour = rn.integers(8 * HOUR, 19 * HOUR, size=n)
    last_end = add_months(anchor, churn_term * term_months) - 1
    notice_s = np.where(gives_notice, (last_end - notice_days) * DAY + notice_hour, -1)

    churn_in_export = churn_term <= started
    rs = rngs["signed"]
    next_start = add_months(anchor, started * term_months)
    signed = (~churn_in_export & (term_months >= 12)
              & (next_start - as_of_day <= SIGNED_AHEAD_DAYS)
              & (rs.random(n) < SIGNED_AHEAD_SHARE))
    signed_s = (as_of_day - rs.integers(0, 15, size=n)) * DAY + rs.integers(
        8 * HOUR, 19 * HOUR, size=n)
    count = np.where(churn_in_export, churn_term, started) + signed

    rnm = rngs["names"]
    channel = rnm.integers(0, len(CHANNELS), size=n)
    first_name = rnm.integers(0, len(FIRST_NAMES), size=n)
    last_name = rnm.integers(0, len(LAST_NAMES), size=n)

    terms = _terms(anchor, term_months, count, signed, signed_s, churn_in_export, notice_s,
                   as_of_day, export_s, rngs["loaded"])
    return Book(
        as_of=as_of, as_of_day=as_of_day, export_s=export_s, plan=plan, anchor=anchor,
        created_s=anchor * DAY + created_hour, theta=theta, theta_quantile=quantile,
        churn_term=churn_term, started_terms=started, fee_cents=fee, payment_method=payment,
        usage_centi_gb=usage_centi, gives_notice=gives_notice, notice_s=notice_s,
        channel=channel, first_name=first_name, last_name=last_name, terms=terms,
    )


def _terms(anchor: np.ndarray, term_months: np.ndarray, count: np.ndarray,
           signed: np.ndarray, signed_s: np.ndarray, churn_in_export: np.ndarray,
           notice_s: np.ndarray, as_of_day: int, export_s: int,
           rng: np.random.Generator) -> Terms:
    """Explode the chains into terms, ordered by start date, customer and index."""
    cust = np.repeat(np.arange(anchor.size), count)
    first_row = np.concatenate(([0], np.cumsum(count)[:-1]))
    k = np.arange(cust.size) - first_row[cust]
    start = add_months(anchor[cust], k * term_months[cust])
    end = add_months(anchor[cust], (k + 1) * term_months[cust]) - 1
    is_last = k == count[cust] - 1
    ahead = is_last & signed[cust]
    notice = np.where(is_last & churn_in_export[cust], notice_s[cust], -1)
    # a notice dated after the export is not in it yet
    cancelled = np.where((notice >= 0) & (notice // DAY <= as_of_day), notice, -1)
    latest = np.where(ahead, signed_s[cust], np.maximum(start * DAY, cancelled))
    loaded = text.loaded_at(latest, rng, export_s)
    order = np.lexsort((k, cust, start))
    position = np.empty_like(order)
    position[order] = np.arange(order.size)
    previous = np.where(k > 0, position[np.maximum(np.arange(cust.size) - 1, 0)], -1)
    return Terms(customer=cust[order], k=k[order], start=start[order], end=end[order],
                 previous=previous[order], signed_ahead=ahead[order],
                 cancelled_s=cancelled[order], loaded_s=loaded[order])


@dataclass
class Bills:
    """Billing months: one per month of every term (row of ``Terms``), any date."""

    term: np.ndarray  # row of Terms
    month: np.ndarray  # k of the billing month within the term
    start: np.ndarray  # day the billing month starts


def billing_months(book: Book) -> Bills:
    """Every billing month of every term in the export, in term order then month order."""
    t = book.terms
    months = np.array([p.term_months for p in PLANS])[book.plan[t.customer]]
    term = np.repeat(np.arange(t.start.size), months)
    first = np.concatenate(([0], np.cumsum(months)[:-1]))
    month = np.arange(term.size) - first[term]
    return Bills(term=term, month=month, start=add_months(t.start[term], month))


def _customers(book: Book) -> dict[str, pa.Array]:
    n = book.n
    name = pc.binary_join_element_wise(text.pick(FIRST_NAMES, book.first_name),
                                       text.pick(LAST_NAMES, book.last_name), " ")
    return {
        "customer_id": text.ids("c", np.arange(1, n + 1)),
        "account_name": name,
        "customer_type": text.pick(("b2c",), np.zeros(n, np.int8)),
        "segment": text.pick(("consumer",), np.zeros(n, np.int8)),
        "country": text.pick(("FI",), np.zeros(n, np.int8)),
        "acquisition_channel": text.pick(CHANNELS, book.channel),
        "owner_id": text.blank(n),
        "created_at": text.timestamps(book.created_s),
        "loaded_at": text.timestamps(np.full(n, book.export_s)),
        "payment_method": text.pick(PAYMENT_METHODS, book.payment_method),
        "data_usage_gb": text.money(book.usage_centi_gb),
    }


def _subscriptions(book: Book) -> dict[str, pa.Array]:
    t = book.terms
    m = t.start.size
    number = np.arange(1, m + 1)
    has_prev = t.previous >= 0
    return {
        "subscription_id": text.ids("s", number),
        "customer_id": text.ids("c", t.customer + 1),
        "plan": text.pick([p.name for p in PLANS], book.plan[t.customer]),
        "start_date": text.dates(t.start),
        "end_date": text.dates(t.end),
        "monthly_fee": text.money(book.fee_cents[t.customer]),
        "cancelled_at": text.timestamps(np.maximum(t.cancelled_s, 0), t.cancelled_s >= 0),
        "previous_subscription_id": pc.if_else(
            pa.array(has_prev), text.ids("s", np.where(has_prev, t.previous + 1, 0)),
            text.blank(m)),
        "currency": text.blank(m),
        "loaded_at": text.timestamps(t.loaded_s),
    }


def _invoices(book: Book, rng: np.random.Generator) -> tuple[dict[str, pa.Array],
                                                             dict[str, pa.Array]]:
    t = book.terms
    b = billing_months(book)
    keep = b.start <= book.as_of_day
    term, start = b.term[keep], b.start[keep]
    cust = t.customer[term]
    order = np.lexsort((term, cust, start))
    term, start, cust = term[order], start[order], cust[order]
    n = term.size
    at = start * DAY + BILL_HOUR * HOUR
    loaded = text.loaded_at(at, rng, book.export_s)
    fee = book.fee_cents[cust]
    orders = {
        "order_id": text.ids("o", np.arange(1, n + 1)),
        "customer_id": text.ids("c", cust + 1),
        "ordered_at": text.timestamps(at),
        "channel": text.blank(n),
        "status": text.pick(("completed",), np.zeros(n, np.int8)),
        "order_type": text.pick(("contract_billing",), np.zeros(n, np.int8)),
        "original_order_id": text.blank(n),
        "subscription_id": text.ids("s", term + 1),
        "currency": text.blank(n),
        "loaded_at": text.timestamps(loaded),
    }
    lines = {
        "order_line_id": text.ids("l", np.arange(1, n + 1)),
        "order_id": text.ids("o", np.arange(1, n + 1)),
        "product_id": text.ids("prd", PRODUCT_BASE + book.plan[cust].astype(np.int64)),
        "quantity": text.integers(np.ones(n, np.int64)),
        "list_price": text.money(fee),
        "realised_price": text.money(fee),
        "unit_cost": text.blank(n),
        "loaded_at": text.timestamps(loaded),
    }
    return orders, lines


def generate_contract_book(out_dir: Path, customers: int = 6000, seed: int = 42,
                           fmt: Format = "parquet", as_of: date = date(2026, 6, 30),
                           bill_subscriptions: bool = False) -> GenerationSummary:
    """Generate the contract book into ``out_dir`` and its truth into ``out_dir/_truth``.

    Writes ``customers`` and ``subscriptions`` (and, with ``bill_subscriptions``,
    ``orders`` and ``order_lines``) as ``<table>.<fmt>``, every column as text, contract
    columns in contract order; raw files of other tables left in ``out_dir`` are
    removed. The same arguments always give byte-identical files.
    """
    from cx_value.generate.contract_book_truth import write_truth

    if fmt not in ("csv", "parquet"):
        raise ValueError(f"format must be csv or parquet, not {fmt!r}")
    started = time.perf_counter()
    out_dir = Path(out_dir)
    truth_dir = prepare_output_dir(out_dir)

    book = plant(customers, seed, as_of)
    tables: list[tuple[str, dict[str, pa.Array], tuple[str, ...]]] = [
        ("customers", _customers(book), EXTRA_CUSTOMER_COLUMNS),
        ("subscriptions", _subscriptions(book), ()),
    ]
    if bill_subscriptions:
        # a stream of its own, so the other files are the same with and without invoices
        rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
        orders, lines = _invoices(book, rng)
        tables += [("orders", orders, ()), ("order_lines", lines, ())]
    rows: dict[str, int] = {}
    paths: dict[str, Path] = {}
    for name, columns, extra in tables:
        with RawTableWriter(out_dir, name, fmt, extra) as writer:
            writer.write_table(as_table(name, columns, extra))
            rows[name] = writer.rows
            paths[name] = writer.path
    arguments = dict(profile="contracts", customers=customers, seed=seed, format=fmt,
                     as_of=as_of.isoformat(), bill_subscriptions=bill_subscriptions)
    truth_path = write_truth(book, truth_dir, arguments, rows)
    seconds = time.perf_counter() - started
    return GenerationSummary(out_dir=out_dir, rows=rows, clean_rows=dict(rows),
                             dirty_rows={t: 0 for t in rows}, seconds=round(seconds, 3),
                             paths=paths, truth_path=truth_path)
