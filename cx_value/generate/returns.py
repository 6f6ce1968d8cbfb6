"""Returns, credit notes and contract bills, planted on top of the sales.

The sales (BG/NBD purchases, B2B add-ons, cancelled and returned copies) and their lines
are drawn first and are not redrawn here. This module adds, on its own random streams:

* same-day cancellations: a large extra order of a consumer and, minutes later on the
  same UTC date, a credit note (or return) returning every line in full;
* partial returns: items added to a completed BG/NBD order on top of its planted value
  and returned 7-60 days later, so the order's day nets to exactly the planted value;
* contract bills (opt-in): one ``contract_billing`` order per month of each term;
* the currency codes of the orders.

See :class:`cx_value.generate.params.Returns` for why the purchase process on net
purchase days is exactly the planted BG/NBD / Gamma-Gamma one.
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from cx_value.generate.params import Params
from cx_value.generate.population import Population
from cx_value.generate.purchases import (
    ORIGIN_BGNBD,
    ORIGIN_BILLING,
    ORIGIN_CANCELLATION,
    ORIGIN_LARGE,
    ORIGIN_PARTIAL_RETURN,
    TYPE_BILLING,
    TYPE_CREDIT_NOTE,
    TYPE_RETURN,
    OneOffPurchases,
    OrderLines,
    Orders,
    split_lines,
)
from cx_value.generate.subscriptions import (
    RenewalResult,
    Schedule,
    realised_terms,
    term_fee_cents,
)
from cx_value.generate.text import DAY, HOUR
from cx_value.generate.timeline import Timeline

# one int64 key per (customer, UTC day): customer * DAY_KEY + days since the epoch
DAY_KEY = 1 << 20
NO_DAY = np.iinfo(np.int64).max
EXTRA_LINE_SEQ = 99  # an added line sorts after the order's own lines


def day_key(customer: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Key of each (customer, UTC day of ``at``)."""
    return customer.astype(np.int64) * DAY_KEY + np.asarray(at, dtype=np.int64) // DAY


def concat_orders(parts: list[Orders]) -> Orders:
    """Orders of several parts, one after another (indices are not shifted)."""
    return Orders(**{f.name: np.concatenate([getattr(p, f.name) for p in parts])
                     for f in fields(Orders)})


def concat_lines(parts: list[OrderLines]) -> OrderLines:
    """Lines of several parts, one after another (order indices are not shifted)."""
    return OrderLines(**{f.name: np.concatenate([getattr(p, f.name) for p in parts])
                         for f in fields(OrderLines)})


def _documents(customer: np.ndarray, at: np.ndarray, cents: np.ndarray, channel: np.ndarray,
               origin: int, order_type: np.ndarray, original: np.ndarray, credits: np.ndarray,
               negative: np.ndarray) -> Orders:
    """Completed return or billing documents with an explicit order type."""
    n = customer.size
    o = Orders.sales(customer=customer, at=at.astype(np.int64), cents=cents.astype(np.int64),
                     status=np.zeros(n, np.int8), channel=channel.astype(np.int8),
                     origin=np.full(n, origin, np.int8))
    o.order_type = order_type.astype(np.int8)
    o.explicit_type[:] = True
    o.original = original.astype(np.int64)
    o.credits = credits.astype(np.int64)
    o.negative = negative
    return o


def _lines(order: np.ndarray, product: np.ndarray, quantity: np.ndarray,
           list_cents: np.ndarray, realised_cents: np.ndarray, cost_cents: np.ndarray,
           is_return: bool, seq: np.ndarray | int) -> OrderLines:
    n = order.size
    return OrderLines(order=order.astype(np.int64), product=product.astype(np.int64),
                      quantity=quantity.astype(np.int64), list_cents=list_cents.astype(np.int64),
                      realised_cents=realised_cents.astype(np.int64),
                      cost_cents=cost_cents.astype(np.int64),
                      is_return=np.full(n, is_return),
                      seq=np.broadcast_to(seq, n).astype(np.int64))


def large_orders(pop: Population, one_off: OneOffPurchases, params: Params, timeline: Timeline,
                 rng: np.random.Generator) -> Orders:
    """One large completed order for a share of consumers, to be cancelled the same day.

    Its value is 10-50 x the mean of the customer's planted order values; it is placed on
    a day after the acquisition day and before the last day of history, early enough that
    the credit note (at most ``cancellation_minutes[1]`` later) falls on the same date.
    """
    rp = params.returns
    total = np.bincount(one_off.customer, weights=one_off.cents, minlength=pop.n)
    count = np.bincount(one_off.customer, minlength=pop.n)
    created_day = pop.created // DAY
    end_day = timeline.end_s // DAY
    b2c = np.flatnonzero(~pop.is_b2b)
    eligible = b2c[(count[b2c] > 0) & (end_day - created_day[b2c] >= 2)]
    cust = eligible[rng.random(eligible.size) < rp.same_day_cancellation_share]
    mean = total[cust] / count[cust]
    cents = np.maximum(np.rint(mean * rng.uniform(*rp.large_order_factor, size=cust.size)), 1)
    span = end_day - created_day[cust] - 1  # days created_day + 1 .. end_day - 1
    day = created_day[cust] + 1 + (rng.random(cust.size) * span).astype(np.int64)
    latest = DAY - rp.cancellation_minutes[1] * 60 - 60
    at = day * DAY + rng.integers(0, latest, size=cust.size)
    channel = np.where(rng.random(cust.size) < 0.85, 0, 3).astype(np.int8)  # web or phone
    n = cust.size
    return Orders.sales(customer=cust, at=at.astype(np.int64), cents=cents.astype(np.int64),
                        status=np.zeros(n, np.int8), channel=channel,
                        origin=np.full(n, ORIGIN_LARGE, np.int8))


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """Distinct values, ascending (a sort: faster than np.unique's hash for int keys)."""
    s = np.sort(values)
    keep = np.ones(s.size, dtype=bool)
    keep[1:] = s[1:] != s[:-1]
    return s[keep]


def next_sale_day(customer: np.ndarray, at: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Per query order: its customer's next UTC day with a sale after the order's day.

    ``customer`` and ``at`` are those of every completed sale; ``query`` indexes them.
    ``NO_DAY`` when there is none.
    """
    keys = sorted_unique(day_key(customer, at))
    own = day_key(customer[query], at[query])
    out = np.full(own.size, NO_DAY, dtype=np.int64)
    if keys.size == 0:
        return out
    pos = np.searchsorted(keys, own, side="right")
    nxt = keys[np.minimum(pos, keys.size - 1)]
    same = (pos < keys.size) & (nxt // DAY_KEY == customer[query])
    out[same] = nxt[same] % DAY_KEY
    return out


def _line_ranges(lines: OrderLines, orders: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First line and number of lines of each of ``orders`` (lines grouped by order)."""
    lo = np.searchsorted(lines.order, orders, side="left")
    hi = np.searchsorted(lines.order, orders, side="right")
    return lo, hi - lo


def _one_line_per_order(lines: OrderLines, orders: np.ndarray,
                        rng: np.random.Generator) -> np.ndarray:
    """A random line with a positive price of each of ``orders``.

    A line of 0 cents (a tiny order split over several lines) falls back to the order's
    dearest line; every order is worth at least a cent, so that one is positive.
    """
    lo, count = _line_ranges(lines, orders)
    chosen = lo + (rng.random(orders.size) * count).astype(np.int64)
    for i in np.flatnonzero(lines.realised_cents[chosen] == 0):  # rare
        chosen[i] = lo[i] + int(np.argmax(lines.realised_cents[lo[i]:lo[i] + count[i]]))
    return chosen


def partial_returns(orders: Orders, lines: OrderLines, large: Orders, first_doc: int,
                    params: Params, timeline: Timeline, rng: np.random.Generator) -> tuple[
                        Orders, OrderLines, OrderLines]:
    """Return documents for a share of completed BG/NBD orders; items added to the sales.

    ``orders`` / ``lines`` are the sales drawn so far (lines grouped by order), ``large``
    the large orders (sales too, for the customer's next purchase day). Mutates
    ``orders.cents`` and ``lines.quantity`` of the chosen orders (their extra units).
    Returns the return documents (indices from ``first_doc``), the extra sale lines and
    the return lines; every line's ``seq`` is its position within its order.
    """
    rp, op = params.returns, params.orders
    cand = np.flatnonzero((orders.origin == ORIGIN_BGNBD) & (orders.status == 0))
    pick = cand[rng.random(cand.size) < rp.partial_return_share]
    lo, hi = rp.partial_return_days
    ret_at = orders.at[pick] + rng.integers(lo * DAY, hi * DAY + 1, size=pick.size)
    ws = timeline.window_start_s
    ok = (ret_at < timeline.end_s) & ((orders.at[pick] < ws) == (ret_at < ws))
    pick, ret_at = pick[ok], ret_at[ok]
    m = pick.size
    # unlinked, the return goes to the latest purchase day on or before its date: that
    # must be the day of the order it credits, else it is linked; the others are linked
    # with the probability that makes the linked share the planted one
    sold = np.flatnonzero(orders.status == 0)
    next_day = next_sale_day(np.concatenate((orders.customer[sold], large.customer)),
                             np.concatenate((orders.at[sold], large.at)),
                             np.searchsorted(sold, pick))
    forced = ret_at // DAY >= next_day
    f = forced.mean() if m else 0.0
    q = max(0.0, (rp.partial_linked_share - f) / (1.0 - f)) if f < 1 else 1.0
    linked = forced | (rng.random(m) < q)

    units = rng.random(m) < rp.extra_units_share
    extra = rng.random(m) < rp.extra_line_share
    neither = ~units & ~extra
    coin = rng.random(m) < 0.5
    units |= neither & coin
    extra |= neither & ~coin
    doc = first_doc + np.arange(m)

    # extra units of one line of the order, returned
    u_pos = np.flatnonzero(units)
    chosen = _one_line_per_order(lines, pick[u_pos], rng)
    k = rng.integers(1, 4, size=u_pos.size)
    lines.quantity[chosen] += k
    unit_returns = _lines(doc[u_pos], lines.product[chosen], k, lines.list_cents[chosen],
                          lines.realised_cents[chosen], lines.cost_cents[chosen], True, 0)

    # an extra line, returned in full
    e_pos = np.flatnonzero(extra)
    e_n = e_pos.size
    qty = np.where(rng.random(e_n) < 0.3, 2, 1)
    target = orders.cents[pick[e_pos]] * rng.uniform(*rp.extra_line_value_share, size=e_n)
    unit = np.maximum(np.rint(target / qty), 1).astype(np.int64)
    discounted = rng.random(e_n) >= op.no_discount_share
    disc = np.where(discounted, rng.uniform(*op.discount_range, size=e_n), 0.0)
    list_cents = np.maximum(np.rint(unit / (1.0 - disc)), unit).astype(np.int64)
    cost = np.rint(list_cents * rng.uniform(*op.unit_cost_share_range, size=e_n))
    product = rng.integers(1, 150, size=e_n)
    _, own_lines = _line_ranges(lines, pick[e_pos])
    extra_sales = _lines(pick[e_pos], product, qty, list_cents, unit, cost, False, own_lines)
    extra_returns = _lines(doc[e_pos], product, qty, list_cents, unit, cost, True,
                           units[e_pos].astype(np.int64))

    returned = np.zeros(m, dtype=np.int64)
    returned[u_pos] += k * lines.realised_cents[chosen]
    returned[e_pos] += qty * unit
    orders.cents[pick] += returned
    docs = _documents(orders.customer[pick], ret_at, returned, orders.channel[pick],
                      ORIGIN_PARTIAL_RETURN, np.full(m, TYPE_RETURN),
                      np.where(linked, pick, -1), pick,
                      rng.random(m) < rp.negative_quantity_share)
    return docs, extra_sales, concat_lines([unit_returns, extra_returns])


def cancellations(large: Orders, large_lines: OrderLines, first_large: int, first_doc: int,
                  params: Params, rng: np.random.Generator) -> tuple[Orders, OrderLines]:
    """A credit note (or return) minutes after each large order, returning every line."""
    rp = params.returns
    n = large.at.size
    lo, hi = rp.cancellation_minutes
    at = large.at + rng.integers(lo * 60, hi * 60 + 1, size=n)
    kind = np.where(rng.random(n) < rp.cancellation_credit_note_share, TYPE_CREDIT_NOTE,
                    TYPE_RETURN)
    target = first_large + np.arange(n)
    linked = rng.random(n) < rp.cancellation_linked_share
    docs = _documents(large.customer, at, large.cents, large.channel, ORIGIN_CANCELLATION,
                      kind, np.where(linked, target, -1), target,
                      rng.random(n) < rp.negative_quantity_share)
    ln = large_lines
    returns = _lines(first_doc + ln.order - first_large, ln.product, ln.quantity,
                     ln.list_cents, ln.realised_cents, ln.cost_cents, True, ln.seq)
    return docs, returns


def contract_bills(pop: Population, schedule: Schedule, renewal: RenewalResult,
                   first_doc: int, params: Params, timeline: Timeline,
                   rng: np.random.Generator) -> tuple[Orders, OrderLines]:
    """One completed ``contract_billing`` order per month of each realised term.

    Bill k is dated ``start_date + k months`` (the day clipped to the month's length) at
    ``Billing.hour`` UTC, while on or before the term's ``end_date`` and before the end of
    history.
    """
    bp = params.billing
    row, k = realised_terms(schedule, renewal)
    number = np.arange(1, row.size + 1)
    per_term = params.renewal.term_days // 28 + 1
    t = np.repeat(np.arange(row.size), per_term)
    month = np.tile(np.arange(per_term), row.size)
    start = schedule.start[row, k][t].astype("datetime64[D]")
    m0 = start.astype("datetime64[M]")
    dom = (start - m0.astype("datetime64[D]")).astype(np.int64)
    target = m0 + month
    first = target.astype("datetime64[D]")
    length = ((target + 1).astype("datetime64[D]") - first).astype(np.int64)
    bill_day = (first + np.minimum(dom, length - 1)).astype(np.int64)
    cust = schedule.customer[row[t]]
    at = np.maximum(bill_day * DAY + bp.hour * HOUR, pop.created[cust] + 60)
    keep = (bill_day <= schedule.end[row, k][t]) & (at < timeline.end_s)
    t, bill_day, cust, at = t[keep], bill_day[keep], cust[keep], at[keep]
    n = t.size
    fee = term_fee_cents(schedule, row[t], k[t])
    linked = rng.random(n) < bp.subscription_link_share
    docs = _documents(cust, at, fee, np.full(n, -1), ORIGIN_BILLING, np.full(n, TYPE_BILLING),
                      np.full(n, -1), np.full(n, -1), np.zeros(n, dtype=bool))
    docs.subscription = np.where(linked, number[t], 0)
    product = bp.plan_product_base + schedule.plan[row[t]].astype(np.int64)
    bills = _lines(first_doc + np.arange(n), product, np.ones(n), fee, fee, np.full(n, -1),
                   False, 0)
    return docs, bills


def plant(pop: Population, one_off: OneOffPurchases, orders: Orders, lines: OrderLines,
          schedule: Schedule, renewal: RenewalResult, params: Params, timeline: Timeline,
          rngs: dict[str, np.random.Generator]) -> tuple[Orders, OrderLines]:
    """Add large orders, their cancellations, partial returns, bills and currency codes.

    ``orders`` are sorted by time and ``lines`` grouped by order. Returns every order
    document sorted by time (a new document after the sales of the same second), with the
    lines grouped by order in position order; ``original`` and ``credits`` index the
    result.
    """
    rng = rngs["returns"]
    n0 = orders.at.size
    orders.explicit_type = rng.random(n0) < params.returns.explicit_order_type_share
    large = large_orders(pop, one_off, params, timeline, rng)
    large_lines = split_lines(large, params, rng)
    large_lines.order += n0
    n1 = n0 + large.at.size
    docs, extra_sales, partial_lines = partial_returns(orders, lines, large, n1, params,
                                                       timeline, rng)
    n2 = n1 + docs.at.size
    credit, credit_lines = cancellations(large, large_lines, n0, n2, params, rng)
    n3 = n2 + credit.at.size
    new_parts = [large, docs, credit]
    l_parts = [lines, large_lines, extra_sales, partial_lines, credit_lines]
    if params.billing.bill_subscriptions:
        bills, bill_lines = contract_bills(pop, schedule, renewal, n3, params, timeline,
                                           rngs["billing"])
        new_parts.append(bills)
        l_parts.append(bill_lines)
    new = concat_orders(new_parts)  # indices n0, n0 + 1, ...

    # merge the new documents into the sorted sales
    by_time = np.lexsort((new.cents, new.customer, new.at))
    new_at = new.at[by_time]
    position = np.empty(n0 + new.at.size, dtype=np.int64)
    position[:n0] = np.arange(n0) + np.searchsorted(new_at, orders.at, side="left")
    position[n0 + by_time] = np.arange(by_time.size) + np.searchsorted(orders.at, new_at,
                                                                       side="right")
    out = Orders(**{f.name: _scatter(position, (getattr(orders, f.name), getattr(new, f.name)))
                    for f in fields(Orders)})
    for name in ("original", "credits"):
        ref = getattr(out, name)
        setattr(out, name, np.where(ref >= 0, position[np.maximum(ref, 0)], -1))

    # lines: each part's seq is its position within its order
    per_order = sum(np.bincount(position[p.order], minlength=position.size) for p in l_parts)
    first_line = np.zeros(position.size, dtype=np.int64)
    np.cumsum(per_order[:-1], out=first_line[1:])
    dest = np.concatenate([first_line[position[p.order]] + p.seq for p in l_parts])
    out_lines = OrderLines(**{f.name: _scatter(dest, tuple(getattr(p, f.name) for p in l_parts))
                              for f in fields(OrderLines) if f.name != "order"},
                           order=_scatter(dest, tuple(position[p.order] for p in l_parts)))
    if out_lines.order.size and (np.diff(out_lines.order) < 0).any():  # pragma: no cover
        raise AssertionError("lines are not grouped by order")

    cp = params.currency
    out.currency = currency_codes(out.at.size, cp.explicit_share, cp.lower_case_share,
                                  rngs["currency"])
    return out, out_lines


def _scatter(dest: np.ndarray, parts: tuple[np.ndarray, ...]) -> np.ndarray:
    """Values of the concatenated ``parts`` placed at positions ``dest`` (a permutation)."""
    values = np.concatenate(parts)
    out = np.empty_like(values)
    out[dest] = values
    return out


def currency_codes(n: int, explicit_share: float, lower_case_share: float,
                   rng: np.random.Generator) -> np.ndarray:
    """0 = empty, 1 = the reporting code, 2 = the reporting code in lower case."""
    explicit = rng.random(n) < explicit_share
    lower = rng.random(n) < lower_case_share
    return np.where(explicit, np.where(lower, 2, 1), 0).astype(np.int8)
