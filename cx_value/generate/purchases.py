"""Orders: BG/NBD purchases with Gamma-Gamma spend for one-off buyers, B2B add-ons, lines."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cx_value.generate.params import Params
from cx_value.generate.population import Population
from cx_value.generate.text import DAY
from cx_value.generate.timeline import Timeline

WEEK = 7 * DAY
ORDER_STATUSES = ("completed", "cancelled", "returned")
ORDER_CHANNELS = ("web", "sales_rep", "partner", "phone")
# where an order comes from: a BG/NBD purchase, a B2B add-on, a cancelled or returned
# (status) copy, a large order cancelled the same day, a partial return document, the
# credit note of a same-day cancellation, a bill of a contract term
ORIGIN_BGNBD, ORIGIN_ADDON, ORIGIN_EXTRA = 0, 1, 2
ORIGIN_LARGE, ORIGIN_PARTIAL_RETURN, ORIGIN_CANCELLATION, ORIGIN_BILLING = 3, 4, 5, 6
# codes into contract.ORDER_TYPES
TYPE_ORDER, TYPE_RETURN, TYPE_CREDIT_NOTE, TYPE_BILLING = 0, 1, 2, 3


@dataclass
class OneOffPurchases:
    """BG/NBD purchases of one-off buyers (first purchase at acquisition)."""

    customer: np.ndarray  # customer index per order
    at: np.ndarray  # seconds
    cents: np.ndarray  # order value in cents
    dropout_at: np.ndarray  # per customer index: seconds of dropout, or -1 if never dropped


def bgnbd_purchases(pop: Population, params: Params, timeline: Timeline,
                    rng: np.random.Generator) -> OneOffPurchases:
    """Draw every B2C customer's purchases from BG/NBD and their values from Gamma-Gamma.

    lambda ~ Gamma(r, scale 1/alpha) per week, p ~ Beta(a, b); repeat purchases form a
    Poisson process; after each repeat purchase the customer drops out with probability p.
    The warehouse counts purchase *days*, so a repeat purchase drawn on a UTC day the
    customer already bought on is moved to the next free day (see ``distinct_days``).
    """
    bg, gg = params.bgnbd, params.gamma_gamma
    cust = np.flatnonzero(~pop.is_b2b)
    m = cust.size
    t_weeks = (timeline.end_s - pop.created[cust]) / WEEK
    lam = rng.gamma(bg.r, 1.0 / bg.alpha, size=m)
    p = rng.beta(bg.a, bg.b, size=m)
    lifetime_purchases = rng.geometric(np.clip(p, 1e-12, 1.0))  # dropout after the J-th repeat
    n_poisson = rng.poisson(lam * t_weeks)
    n_repeat = np.minimum(n_poisson, lifetime_purchases)

    owner = np.repeat(np.arange(m), n_poisson)
    u = rng.random(owner.size)
    order = np.argsort(owner + u, kind="stable")
    owner, u = owner[order], u[order]
    starts = np.concatenate(([0], np.cumsum(n_poisson)[:-1]))
    rank = np.arange(owner.size) - starts[owner]
    keep = rank < n_repeat[owner]
    owner, u, rank = owner[keep], u[keep], rank[keep]
    repeat_at = pop.created[cust][owner] + (u * t_weeks[owner] * WEEK).astype(np.int64)
    repeat_at = distinct_days(owner, rank, repeat_at, pop.created[cust] // DAY,
                              timeline.end_s // DAY - 1)

    dropped = n_poisson >= lifetime_purchases
    dropout_at = np.full(pop.n, -1, dtype=np.int64)
    last_rank = lifetime_purchases - 1
    is_last = dropped[owner] & (rank == last_rank[owner])
    dropout_at[cust[owner[is_last]]] = repeat_at[is_last]

    all_owner = np.concatenate((np.arange(m), owner))
    all_at = np.concatenate((pop.created[cust], repeat_at))
    nu = rng.gamma(gg.q, 1.0 / gg.gamma, size=m)
    z = rng.gamma(gg.p, 1.0 / nu[all_owner])
    cents = np.maximum(np.rint(z * 100.0), 1).astype(np.int64)
    return OneOffPurchases(customer=cust[all_owner], at=all_at.astype(np.int64), cents=cents,
                           dropout_at=dropout_at)


def distinct_days(owner: np.ndarray, rank: np.ndarray, at: np.ndarray, first_day: np.ndarray,
                  last_day: int) -> np.ndarray:
    """Move repeat purchases by whole days so that no two of a customer share a UTC day.

    ``owner`` is ascending and ``at`` ascending within an owner, ``rank`` 0, 1, ... is the
    position among the owner's repeats; the first purchase is on ``first_day[owner]`` and
    stays. Day i (the first purchase is i = 0) becomes max(d_i, d'_(i-1) + 1), pulled back
    where that passes ``last_day``; the time of day is kept. The count of purchases - the
    BG/NBD x - is unchanged; at the planted parameters about 1 % of repeat purchases move,
    mostly by one day. Without this, merging same-day purchases (as the warehouse does)
    drops purchases of the heaviest buyers and biases a fit on purchase days (alpha by
    about 3 standard errors at 100,000 customers).
    """
    if at.size == 0:
        return at
    day = at // DAY
    i = rank.astype(np.int64) + 1
    group = owner.astype(np.int64) << 22  # one band per owner for the running max / min
    n_repeat = np.bincount(owner, minlength=int(owner.max()) + 1)[owner]
    lowest = np.maximum(day - i, first_day[owner])
    forward = np.maximum.accumulate(lowest + group) - group
    capped = np.minimum(forward, last_day - n_repeat)
    backward = np.minimum.accumulate((capped + group)[::-1])[::-1] - group
    moved = np.maximum(backward + i, first_day[owner])
    return at + (moved - day) * DAY


def window_spend_cents(n: int, customer: np.ndarray, at: np.ndarray, cents: np.ndarray,
                       timeline: Timeline) -> np.ndarray:
    """Spend per customer in the outcome window, in cents."""
    inw = (at >= timeline.window_start_s) & (at < timeline.end_s)
    return np.bincount(customer[inw], weights=cents[inw], minlength=n).astype(np.int64)


@dataclass(frozen=True)
class SpendBanding:
    """Result of the calibrated noisy-spend banding of one-off buyers."""

    sigma: float
    ratio_best_worst: float
    mean_spend_eur: dict[str, float]
    eligible_customers: int


def assign_b2c_bands(pop: Population, spend_cents: np.ndarray, params: Params,
                     timeline: Timeline, rng: np.random.Generator) -> SpendBanding:
    """Band one-off buyers by noisy window spend, calibrated to the planted best/worst ratio.

    Score = log(1 + spend) + N(0, sigma^2); the lowest 25 % are `worst`, the top 25 % `best`.
    sigma is found by bisection so that, among one-off buyers acquired before the
    relationship survey, mean window spend of best / worst equals the target.
    """
    cust = np.flatnonzero(~pop.is_b2b)
    spend = spend_cents[cust] / 100.0
    eligible = pop.created[cust] < timeline.survey_s
    noise = rng.standard_normal(cust.size)
    base = np.log1p(spend)
    m = cust.size
    lo_k = int(np.floor(params.band_shares[0] * m))
    hi_k = m - int(np.floor(params.band_shares[2] * m))

    def bands_for(sigma: float) -> np.ndarray:
        score = base + sigma * noise
        order = np.argsort(score, kind="stable")
        band = np.ones(m, dtype=np.int8)
        band[order[:lo_k]] = 0
        band[order[hi_k:]] = 2
        return band

    def ratio(sigma: float) -> float:
        band = bands_for(sigma)
        worst = spend[eligible & (band == 0)]
        best = spend[eligible & (band == 2)]
        if worst.size == 0 or best.size == 0:
            return float("nan")
        w = worst.mean()
        return float("inf") if w == 0 else float(best.mean() / w)

    target = params.spend_ratio_target
    lo, hi = 0.0, 1.0
    while hi < 64 and ratio(hi) > target:
        lo, hi = hi, hi * 2
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        r = ratio(mid)
        if r > target:
            lo = mid
        else:
            hi = mid
    sigma = 0.5 * (lo + hi)
    band = bands_for(sigma)
    pop.band[cust] = band
    means = {}
    for code, name in enumerate(("worst", "middle", "best")):
        sel = eligible & (band == code)
        means[name] = round(float(spend[sel].mean()), 4) if sel.any() else 0.0
    return SpendBanding(
        sigma=round(sigma, 6),
        ratio_best_worst=round(ratio(sigma), 6),
        mean_spend_eur=means,
        eligible_customers=int(eligible.sum()),
    )


@dataclass
class Orders:
    """Order documents: sales, return documents and bills."""

    customer: np.ndarray
    at: np.ndarray
    cents: np.ndarray  # value of the document's lines (a return document's: positive)
    status: np.ndarray  # code into ORDER_STATUSES
    channel: np.ndarray  # code into ORDER_CHANNELS, -1 = empty
    origin: np.ndarray  # ORIGIN_*
    order_type: np.ndarray  # TYPE_*
    explicit_type: np.ndarray  # bool: order_type written even when it is `order`
    original: np.ndarray  # index of the credited order when linked, else -1
    credits: np.ndarray  # index of the credited order, linked or not (truth only), else -1
    subscription: np.ndarray  # number of the billed contract term when linked, else 0
    currency: np.ndarray  # 0 = empty, 1 = reporting code, 2 = reporting code lower-cased
    negative: np.ndarray  # bool: a return document whose lines are written negative

    @classmethod
    def sales(cls, customer: np.ndarray, at: np.ndarray, cents: np.ndarray,
              status: np.ndarray, channel: np.ndarray, origin: np.ndarray) -> Orders:
        """Plain sales: order type `order` (written empty), unlinked, reporting currency."""
        n = customer.size
        return cls(customer=customer, at=at, cents=cents, status=status, channel=channel,
                   origin=origin, order_type=np.zeros(n, np.int8),
                   explicit_type=np.zeros(n, dtype=bool), original=np.full(n, -1, np.int64),
                   credits=np.full(n, -1, np.int64),
                   subscription=np.zeros(n, np.int64), currency=np.zeros(n, np.int8),
                   negative=np.zeros(n, dtype=bool))


def b2b_addon_orders(pop: Population, params: Params, timeline: Timeline,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Potential add-on orders of subscribers over their whole possible lifetime."""
    cust = np.flatnonzero(pop.is_b2b)
    years = (timeline.end_s - pop.created[cust]) / (365.25 * DAY)
    count = rng.poisson(params.orders.b2b_addon_orders_per_year * years)
    owner = np.repeat(cust, count)
    span = (timeline.end_s - pop.created[owner]).astype(np.float64)
    at = pop.created[owner] + (rng.random(owner.size) * span).astype(np.int64)
    value = rng.lognormal(np.log(params.orders.b2b_addon_median_eur),
                          params.orders.b2b_addon_sigma, size=owner.size)
    cents = np.maximum(np.rint(value * 100), 100).astype(np.int64)
    return owner, at, cents


def assemble_orders(pop: Population, one_off: OneOffPurchases, addon: tuple[np.ndarray, ...],
                    params: Params, timeline: Timeline, rng: np.random.Generator) -> Orders:
    """Completed BG/NBD and add-on orders plus a few cancelled or returned ones."""
    a_cust, a_at, a_cents = addon
    customer = np.concatenate((one_off.customer, a_cust))
    at = np.concatenate((one_off.at, a_at))
    cents = np.concatenate((one_off.cents, a_cents))
    origin = np.concatenate((np.full(one_off.at.size, ORIGIN_BGNBD, np.int8),
                             np.full(a_at.size, ORIGIN_ADDON, np.int8)))
    n_completed = at.size
    n_cancel = round(params.orders.cancelled_share * n_completed)
    n_return = round(params.orders.returned_share * n_completed)
    src = rng.integers(0, n_completed, size=n_cancel + n_return) if n_completed else \
        np.zeros(0, np.int64)
    e_at = np.minimum(at[src] + rng.integers(DAY, 10 * DAY, size=src.size), timeline.end_s - 1)
    e_cents = np.maximum(np.rint(cents[src] * rng.uniform(0.5, 1.5, size=src.size)), 1)
    status = np.concatenate((np.zeros(n_completed, np.int8),
                             np.full(n_cancel, 1, np.int8), np.full(n_return, 2, np.int8)))
    customer = np.concatenate((customer, customer[src]))
    at = np.concatenate((at, e_at))
    cents = np.concatenate((cents, e_cents.astype(np.int64)))
    origin = np.concatenate((origin, np.full(src.size, ORIGIN_EXTRA, np.int8)))
    b2b = pop.is_b2b[customer]
    u = rng.random(customer.size)
    channel = np.where(
        b2b,
        np.select([u < 0.60, u < 0.85], [1, 0], 2),
        np.select([u < 0.80, u < 0.95], [0, 3], 2),
    ).astype(np.int8)
    order = np.lexsort((cents, customer, at))
    return Orders.sales(customer=customer[order], at=at[order], cents=cents[order],
                        status=status[order], channel=channel[order], origin=origin[order])


@dataclass
class OrderLines:
    """Order lines; ``order`` indexes the sorted Orders.

    ``quantity`` is the number of units, always positive; ``is_return`` marks the lines
    of return documents (their value counts negative whatever the written sign).
    """

    order: np.ndarray
    product: np.ndarray
    quantity: np.ndarray
    list_cents: np.ndarray
    realised_cents: np.ndarray
    cost_cents: np.ndarray  # -1 = no unit cost
    is_return: np.ndarray
    seq: np.ndarray  # position within the order (sort key only)

    def signed_quantity(self) -> np.ndarray:
        """Units sold (> 0) or returned (< 0)."""
        return np.where(self.is_return, -self.quantity, self.quantity)


def split_lines(orders: Orders, params: Params, rng: np.random.Generator) -> OrderLines:
    """Split each order value over 1-5 lines so that sum(quantity x realised) = order value.

    The last line of an order has quantity 1 and takes the remainder; earlier lines get a
    random share rounded down to a multiple of their quantity. List price is the realised
    price grossed up by a discount (none for ~60 % of lines), unit cost 55-70 % of list.
    """
    op = params.orders
    n = orders.at.size
    n_lines = np.minimum(1 + rng.poisson(op.extra_lines_mean, size=n), op.max_lines)
    # a line needs at least one cent
    n_lines = np.minimum(n_lines, orders.cents).astype(np.int64)
    order_idx = np.repeat(np.arange(n), n_lines)
    starts = np.concatenate(([0], np.cumsum(n_lines)[:-1]))
    pos = np.arange(order_idx.size) - starts[order_idx]
    last = pos == n_lines[order_idx] - 1
    w = rng.exponential(size=order_idx.size)
    wsum = np.bincount(order_idx, weights=w, minlength=n)
    share = np.floor(orders.cents[order_idx] * w / wsum[order_idx]).astype(np.int64)
    qty = np.where(rng.random(order_idx.size) < op.multi_quantity_share,
                   rng.integers(2, 5, size=order_idx.size), 1)
    qty = np.where(last, 1, qty)
    unit = share // qty
    unit = np.where(~last & (unit == 0), 0, unit)
    line_value = unit * qty
    used = np.bincount(order_idx, weights=np.where(last, 0, line_value), minlength=n)
    rest = orders.cents - used.astype(np.int64)
    unit = np.where(last, rest[order_idx], unit)
    # zero-value lines (tiny orders) become quantity 1
    qty = np.where(unit == 0, 1, qty)

    discounted = rng.random(order_idx.size) >= op.no_discount_share
    disc = np.where(discounted, rng.uniform(*op.discount_range, size=order_idx.size), 0.0)
    list_cents = np.where(discounted, np.rint(unit / (1.0 - disc)), unit).astype(np.int64)
    list_cents = np.maximum(list_cents, unit)
    cost = np.rint(list_cents * rng.uniform(*op.unit_cost_share_range, size=order_idx.size))
    b2b_product = orders.origin[order_idx] == ORIGIN_ADDON
    product = np.where(b2b_product, rng.integers(150, 200, size=order_idx.size),
                       rng.integers(1, 150, size=order_idx.size))
    return OrderLines(order=order_idx, product=product, quantity=qty.astype(np.int64),
                      list_cents=list_cents, realised_cents=unit.astype(np.int64),
                      cost_cents=cost.astype(np.int64),
                      is_return=np.zeros(order_idx.size, dtype=bool), seq=pos)
