"""Planted truth: parameters and the values realised on the clean latent data."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from cx_value.generate import surveys as sv
from cx_value.generate.params import BANDS, TICKET_CHANNELS
from cx_value.generate.purchases import (
    ORIGIN_ADDON,
    ORIGIN_BGNBD,
    ORIGIN_CANCELLATION,
    ORIGIN_PARTIAL_RETURN,
    TYPE_BILLING,
    TYPE_CREDIT_NOTE,
    TYPE_ORDER,
    TYPE_RETURN,
)
from cx_value.generate.returns import DAY_KEY, day_key, sorted_unique
from cx_value.generate.simulate import World
from cx_value.generate.tables import SurveyRows
from cx_value.generate.text import DAY, HOUR

WEEK = 7 * DAY


def _r(x: float, digits: int = 6) -> float:
    return round(float(x), digits)


def stage_nps(w: World) -> dict[str, Any]:
    """Planted expected and realised NPS per stage, on the clean answers."""
    q = w.questionnaires
    p = w.params
    out: dict[str, Any] = {}
    stage_of = np.array([sv.TOUCHPOINTS[t][0] for t in sv.TOUCHPOINT_NAMES])
    for stage in p.surveys.stage_nps:
        sel = stage_of[q.touchpoint] == stage
        n = int(sel.sum())
        if n == 0:
            out[stage] = {"n": 0, "planted": None, "realised": None}
            continue
        band = q.band[sel].astype(np.int64)
        p_prom, p_det = sv.nps_probabilities(p, stage)
        expected = p_prom[band] - p_det[band]
        rel = q.touchpoint[sel] == sv.TP["relationship_survey"]
        expected = np.where(rel, np.array([-1.0, 0.0, 1.0])[band], expected)
        score = q.nps[sel]
        prom = (score >= 9).mean()
        det = (score <= 6).mean()
        out[stage] = {
            "n": n,
            "planted": _r(100 * expected.mean(), 4),
            "realised": _r(100 * (prom - det), 4),
            "respondent_band_share": {b: _r((band == i).mean(), 6) for i, b in enumerate(BANDS)},
        }
    return out


def expectation_gaps(w: World) -> dict[str, Any]:
    """Planted and realised mean (csat - expectation) per touchpoint."""
    q = w.questionnaires
    p = w.params
    shift = {b: p.surveys.gap_band_shift[b] for b in BANDS}
    out: dict[str, Any] = {}
    for tp, target in p.surveys.expectation_gap.items():
        sel = q.touchpoint == sv.TP[tp]
        band = q.band[sel].astype(np.int64)
        pmf = np.asarray(sv.EXPECTATION_PMF[tp])
        per_band = np.array([sv.expected_gap(pmf, w.gap_mu[tp] + shift[b]) for b in BANDS])
        gaps = q.csat[sel].astype(np.int64) - q.expectation[sel].astype(np.int64)
        out[tp] = {
            "target": target,
            "planted": _r(per_band[band].mean()) if band.size else None,
            "realised": _r(gaps.mean()) if gaps.size else None,
            "n": int(sel.sum()),
            "gap_mean_parameter": _r(w.gap_mu[tp]),
        }
    return out


def ces(w: World, rows: SurveyRows) -> dict[str, Any]:
    """True CES (after un-reversing) and the reversed legacy rows."""
    q = w.questionnaires
    p = w.params
    is_ces = rows.question == sv.QUESTIONS.index("ces")
    true = rows.true_score[is_ces]
    band = q.band[rows.questionnaire[is_ces]].astype(np.int64)
    means = np.array([(np.arange(1, 8) * sv.ces_pmf(p.surveys.ces_mean[b], p.surveys.ces_sd))
                      .sum() for b in BANDS])
    return {
        "true_mean": _r(true.mean()) if true.size else None,
        "planted_mean": _r(means[band].mean()) if band.size else None,
        "rows": int(is_ces.sum()),
        "reversed_rows": int(rows.reversed.sum()),
        "legacy_survey_id": p.surveys.ces_legacy_survey_id,
        "planted_mean_by_band": {b: _r(means[i]) for i, b in enumerate(BANDS)},
    }


def service(w: World) -> dict[str, Any]:
    """Per channel: planted and realised first-response median and FCR; complaints."""
    t = w.tickets
    sp = w.params.service
    per: dict[str, Any] = {}
    for code, ch in enumerate(TICKET_CHANNELS):
        sel = t.channel == code
        responded = sel & (t.first_response >= 0)
        frt = (t.first_response[responded] - t.opened[responded]) / HOUR
        resolved = sel & (t.resolved >= 0)
        fcr = (t.agent_contacts == 1) & (t.reopen_count == 0)
        per[ch] = {
            "tickets": int(sel.sum()),
            "planted_first_response_median_hours": sp.first_response_median_hours[ch],
            "realised_first_response_median_hours": _r(np.median(frt)) if frt.size else None,
            "planted_fcr": sp.fcr_probability[ch],
            "realised_fcr_all": _r(fcr[sel].mean()) if sel.any() else None,
            "realised_fcr_resolved": _r(fcr[resolved].mean()) if resolved.any() else None,
        }
    complaints = t.is_complaint
    return {
        "per_channel": per,
        "tickets": int(t.opened.size),
        "complaint_share": _r(complaints.mean()) if complaints.size else None,
        "unresolved_complaints": int((complaints & (t.resolved < 0)).sum()),
        "complaint_share_by_band": {
            b: _r(complaints[w.pop.band[t.customer] == i].mean())
            if (w.pop.band[t.customer] == i).any() else None for i, b in enumerate(BANDS)},
        "fcr_definition": "agent_contacts = 1 and reopen_count = 0",
    }


def discounts(w: World) -> dict[str, Any]:
    """Discount cost, revenue and margin over the clean sale lines, to the cent.

    Sale lines are the lines of `order` documents (not of return or credit-note
    documents, not of contract bills): the same lines these keys covered before the
    contract had returns, so their meaning is unchanged. The top block keeps every order
    status; ``completed_orders_only`` is the revenue definition. Returns, net revenue
    and contract billing are in the ``returns`` section.
    """
    ln = w.lines
    status = w.orders.status[ln.order]
    q = ln.quantity
    sale = line_values(w).sale

    def block(sel: np.ndarray) -> dict[str, Any]:
        disc = int(((ln.list_cents - ln.realised_cents) * q)[sel].sum())
        rev = int((ln.realised_cents * q)[sel].sum())
        cost = int((ln.cost_cents * q)[sel].sum())
        listed = int((ln.list_cents * q)[sel].sum())
        return {"lines": int(sel.sum()), "discount_cost_eur": disc / 100,
                "list_value_eur": listed / 100, "revenue_eur": rev / 100,
                "cost_eur": cost / 100, "margin_eur": (rev - cost) / 100,
                "discount_cost_cents": disc, "revenue_cents": rev}

    out = block(sale)
    out["completed_orders_only"] = block(sale & (status == 0))
    out["definition"] = ("sum over sale lines (lines of order documents: order_type empty or "
                         "`order`) of (list_price - realised_price) * quantity; return "
                         "documents and contract bills are not included (see `returns`)")
    return out


def bgnbd(w: World) -> dict[str, Any]:
    """BG/NBD inputs and simple realised statistics of one-off buyers."""
    p = w.params
    o = w.orders
    b2c = ~w.pop.is_b2b
    sel = (o.origin == ORIGIN_BGNBD)
    per_customer = np.bincount(o.customer[sel], minlength=w.pop.n)
    created = w.pop.created
    eligible = b2c & (created <= w.timeline.end_s - 39 * WEEK)
    repeat39 = np.bincount(
        o.customer[sel & (o.at > created[o.customer]) & (o.at <= created[o.customer] + 39 * WEEK)],
        minlength=w.pop.n)
    return {
        "parameters": asdict(p.bgnbd),
        "gamma_gamma": asdict(p.gamma_gamma),
        "time_unit": "weeks",
        "one_off_buyers": int(b2c.sum()),
        "orders": int(sel.sum()),
        "repeat_orders": int((per_customer[b2c] - 1).sum()),
        "dropped_out_by_end": int((w.one_off.dropout_at[b2c] >= 0).sum()),
        "zero_repeat_share_39_weeks": _r((repeat39[eligible] == 0).mean()) if eligible.any()
        else None,
        "customers_observed_39_weeks": int(eligible.sum()),
        "first_purchase": "at acquisition (customers.created_at)",
        "purchase_days": int(sorted_unique(day_key(w.one_off.customer, w.one_off.at)).size),
        "purchase_day_rule": "every planted purchase is on its own UTC day of its customer "
                             "(a repeat drawn on a day already bought on moves to the next "
                             "free day), so purchase days = orders; returns and same-day "
                             "cancellations leave each day's net at the planted value",
        "mean_order_value_eur": _r(w.one_off.cents.mean() / 100) if w.one_off.cents.size else None,
        "b2b_addon_orders": int((o.origin == ORIGIN_ADDON).sum()),
    }


def renewal(w: World, term_ids: np.ndarray) -> dict[str, Any]:
    """Renewal model: targets, betas, calibrated intercepts, realised rates per band."""
    rp = w.params.renewal
    r = w.renewal
    s = w.schedule
    band = w.pop.band[s.customer][:, None].repeat(s.start.shape[1], axis=1)
    target = r.realised & r.in_window
    per: dict[str, Any] = {}
    for i, b in enumerate(BANDS):
        sel = target & (band == i)
        n = int(sel.sum())
        per[b] = {
            "target": rp.targets[b],
            "intercept": r.intercepts[b],
            "terms_ending_in_window": n,
            "expected_rate": _r(r.probability[sel].mean()) if n else None,
            "realised_rate": _r(r.renewed[sel].mean()) if n else None,
            "detractor_share": _r(r.detractor[sel].mean()) if n else None,
            "complaint_share": _r(r.complaint[sel].mean()) if n else None,
            "web_fell_share": _r(s.web_fell[sel].mean()) if n else None,
        }
    return {
        "by_band": per,
        "betas": {"detractor": rp.beta_detractor, "unresolved_complaint": rp.beta_complaint,
                  "web_activity_fell": rp.beta_web_fell},
        "calibration_iterations": r.iterations,
        "realised_terms": int(r.realised.sum()),
        "decided_terms": int((r.realised & r.decided).sum()),
        "renewed_terms": int(r.renewed.sum()),
        "definitions": {
            "term_ends_in_window": "end_date in [outcome_window_start, outcome_window_end)",
            "renewed": "a term with previous_subscription_id = this term, starting 1-21 days "
                       "after end_date (within the grace period)",
            "detractor": "an NPS answer 0-6 of the customer with answered_at in "
                         "[start_date, end_date + 1 day)",
            "unresolved_complaint": "a ticket with is_complaint = true opened in the term and "
                                    "resolved_at empty or after the term's end",
            "web_activity_fell": f"session rate x {rp.web_fell_rate_factor} in the last "
                                 f"{rp.web_fell_days} days of the term",
        },
        "grace_days": rp.grace_days,
    }


def spend(w: World) -> dict[str, Any]:
    """HBR transactional uplift as planted on one-off buyers."""
    b = w.banding
    return {
        "target_ratio_best_worst": w.params.spend_ratio_target,
        "realised_ratio_best_worst": b.ratio_best_worst,
        "noise_sigma": b.sigma,
        "mean_window_spend_eur_by_band": b.mean_spend_eur,
        "population": "b2c customers created before the relationship survey",
        "customers": b.eligible_customers,
        "spend_definition": "net spend: sum over completed orders with ordered_at in the "
                            "outcome window of quantity * realised_price, return lines "
                            "counted negative (no planted return crosses the window start, "
                            "so this equals the net of the purchase days in the window)",
    }


def bands(w: World) -> dict[str, Any]:
    """Band shares by customer type."""
    p = w.pop
    out: dict[str, Any] = {"planted_shares": dict(zip(BANDS, w.params.band_shares, strict=True))}
    for name, sel in (("b2b", p.is_b2b), ("b2c", ~p.is_b2b)):
        out[name] = {b: int(((p.band == i) & sel).sum()) for i, b in enumerate(BANDS)}
    rel = w.questionnaires.touchpoint == sv.TP["relationship_survey"]
    out["relationship_survey"] = {
        "sent_to": "customers created before the survey date and, for subscribers, still "
                   "under contract",
        "response_rate": w.params.surveys.relationship_response_rate,
        "answers": int(rel.sum()),
        "answer_class": "worst: 0-6, middle: 7-8, best: 9-10",
    }
    return out


# ------------------------------------------------------------------------ revenue
# Computed from the final order documents and lines with the warehouse's rules (the
# document's order_type, original_order_id and the written sign of the quantity), not from
# how the returns were planted, so tests can hold the planting against them.

RETURN_TYPES = (TYPE_RETURN, TYPE_CREDIT_NOTE)


def written_quantity(w: World) -> np.ndarray:
    """Quantity of each clean line as written in order_lines.quantity."""
    ln = w.lines
    return np.where(ln.is_return & w.orders.negative[ln.order], -ln.quantity, ln.quantity)


@dataclass
class LineValues:
    """Per clean line: its kind and, in cents, units (always >= 0) times each price."""

    sale: np.ndarray  # a line of an `order` document that is not a return (any status)
    returns: np.ndarray  # every line of a return / credit note, and any negative line
    completed: np.ndarray  # the document's status is completed
    billing: np.ndarray  # a line of a contract bill
    revenue: np.ndarray
    cost: np.ndarray  # 0 where the line has no unit cost
    listed: np.ndarray

    @property
    def gross(self) -> np.ndarray:
        """Sale lines of completed documents: gross revenue."""
        return self.sale & self.completed

    @property
    def returned(self) -> np.ndarray:
        """Return lines of completed documents: returns (bills never are)."""
        return self.returns & self.completed & ~self.billing

    @property
    def billed(self) -> np.ndarray:
        """Lines of completed contract bills: contract revenue."""
        return self.billing & self.completed & ~self.returns


def line_values(w: World) -> LineValues:
    """Kind and units x price of every clean line."""
    o, ln = w.orders, w.lines
    written = written_quantity(w)
    units = np.abs(written)
    doc_type = o.order_type[ln.order]
    returns = np.isin(doc_type, RETURN_TYPES) | (written < 0)
    return LineValues(
        sale=(doc_type == TYPE_ORDER) & ~returns,
        returns=returns,
        completed=o.status[ln.order] == 0,
        billing=doc_type == TYPE_BILLING,
        revenue=units * ln.realised_cents,
        cost=units * np.maximum(ln.cost_cents, 0),
        listed=units * ln.list_cents,
    )


def _per(index: np.ndarray, sel: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Sum of ``values`` over ``sel`` per ``index`` (0..n-1), exact in int64."""
    return np.bincount(index[sel], weights=values[sel], minlength=n).astype(np.int64)


@dataclass
class PurchaseDays:
    """Customer-days with completed sales, their sales, allocated returns and net."""

    key: np.ndarray  # returns.day_key, ascending
    sales: np.ndarray
    returns: np.ndarray

    @property
    def customer(self) -> np.ndarray:
        return self.key // DAY_KEY

    @property
    def day(self) -> np.ndarray:
        return self.key % DAY_KEY

    @property
    def net(self) -> np.ndarray:
        return self.sales - self.returns


def purchase_days(w: World, v: LineValues) -> PurchaseDays:
    """Net of every customer-day with sales (the CLV purchase-day rule).

    A day's net is its sales minus the returns allocated to it: a return linked by
    original_order_id goes to that order's day, an unlinked one to the customer's latest
    day with sales on or before the return's date (none: it is allocated to no day).
    """
    o, ln = w.orders, w.lines
    n_o = o.at.size
    sales_o = _per(ln.order, v.gross, v.revenue, n_o)
    returns_o = _per(ln.order, v.returned, v.revenue, n_o)
    so = np.flatnonzero(np.bincount(ln.order[v.gross], minlength=n_o))
    key_o = day_key(o.customer[so], o.at[so])
    perm = np.argsort(key_o, kind="stable")
    sorted_keys = key_o[perm]
    first = np.ones(sorted_keys.size, dtype=bool)
    first[1:] = sorted_keys[1:] != sorted_keys[:-1]
    keys = sorted_keys[first]
    sales = np.bincount(np.cumsum(first) - 1, weights=sales_o[so][perm],
                        minlength=keys.size).astype(np.int64)
    if keys.size == 0:
        return PurchaseDays(key=keys, sales=sales, returns=np.zeros(0, np.int64))
    ro = np.flatnonzero(np.bincount(ln.order[v.returned], minlength=n_o))
    orig = o.original[ro]
    linked_key = day_key(o.customer[np.maximum(orig, 0)], o.at[np.maximum(orig, 0)])
    own = day_key(o.customer[ro], o.at[ro])
    latest = np.maximum(np.searchsorted(keys, own, side="right") - 1, 0)
    found = (keys[latest] <= own) & (keys[latest] // DAY_KEY == o.customer[ro])
    target = np.where(orig >= 0, linked_key, np.where(found, keys[latest], -1))
    idx = np.minimum(np.searchsorted(keys, target), keys.size - 1)
    hit = keys[idx] == target
    returns = np.bincount(idx[hit], weights=returns_o[ro][hit],
                          minlength=keys.size).astype(np.int64)
    return PurchaseDays(key=keys, sales=sales, returns=returns)


def customer_revenue(w: World, v: LineValues) -> dict[str, np.ndarray]:
    """Per customer index: gross, returns, net, billing (cents) and net purchase days."""
    o, ln, n = w.orders, w.lines, w.pop.n
    cust = o.customer[ln.order]
    gross = _per(cust, v.gross, v.revenue, n)
    returned = _per(cust, v.returned, v.revenue, n)
    days = purchase_days(w, v)
    positive = days.net > 0
    pc_ = days.customer[positive]
    pd_ = days.day[positive]
    first = np.full(n, -1, dtype=np.int64)
    last = np.full(n, -1, dtype=np.int64)
    # keys ascend by customer then day: the last write per customer wins
    first[pc_[::-1]] = pd_[::-1]
    last[pc_] = pd_
    return {"gross": gross, "returns": returned, "net": gross - returned,
            "billing": _per(cust, v.billed, v.revenue, n),
            "purchase_days": np.bincount(pc_, minlength=n), "first_day": first,
            "last_day": last}


MONEY_KEYS = ("gross_cents", "returns_cents", "net_cents", "gross_cost_cents",
              "returns_cost_cents", "net_cost_cents", "gross_margin_cents",
              "returns_margin_cents", "net_margin_cents", "gross_discount_cents",
              "returns_discount_cents", "net_discount_cents")


def _money(v: LineValues, group: np.ndarray, n: int) -> dict[str, np.ndarray]:
    """Revenue, cost, margin and discount of gross, returns and net per group 0..n-1."""
    g_rev, r_rev = _per(group, v.gross, v.revenue, n), _per(group, v.returned, v.revenue, n)
    g_cost, r_cost = _per(group, v.gross, v.cost, n), _per(group, v.returned, v.cost, n)
    g_list, r_list = _per(group, v.gross, v.listed, n), _per(group, v.returned, v.listed, n)
    values = (g_rev, r_rev, g_rev - r_rev, g_cost, r_cost, g_cost - r_cost,
              g_rev - g_cost, r_rev - r_cost, (g_rev - g_cost) - (r_rev - r_cost),
              g_list - g_rev, r_list - r_rev, (g_list - g_rev) - (r_list - r_rev))
    return dict(zip(MONEY_KEYS, values, strict=True))


def returns(w: World, v: LineValues, cr: dict[str, np.ndarray]) -> dict[str, Any]:
    """Gross, returns and net revenue (cents) in total and by month; the planted returns."""
    o, ln = w.orders, w.lines
    month_o = np.asarray(o.at, dtype="datetime64[s]").astype("datetime64[M]").astype(np.int64)
    m0 = int(month_o.min()) if month_o.size else 0
    month = month_o[ln.order] - m0
    n_m = int(month.max()) + 1 if month.size else 0
    by = _money(v, month, n_m)
    lines_m = np.bincount(month[v.gross | v.returned], minlength=n_m)
    billed_m = _per(month, v.billed, v.revenue, n_m)

    def label(i: int) -> str:
        return str(np.datetime64(m0 + i, "M"))

    out: dict[str, Any] = {
        "definitions": {
            "gross": "sum of quantity * realised_price over sale lines (lines of `order` "
                     "documents, order_type empty or `order`, with quantity > 0) of "
                     "completed orders; contract bills excluded",
            "returns": "sum of |quantity| * realised_price over return lines (every line of "
                       "a `return` or `credit_note` document, whatever its sign, and any "
                       "negative line) of completed documents, as a positive amount",
            "net": "gross - returns",
            "cost": "units * unit_cost (returned units' cost comes back: net cost = gross "
                    "cost - returns cost); margin = revenue - cost; discount = units * "
                    "(list_price - realised_price)",
            "month": "calendar month (UTC, YYYY-MM) of the document's ordered_at: a return "
                     "counts in the month its credit was issued",
            "purchase_day": "a customer-day with completed sales; its net = sales - returns "
                            "allocated to it (linked: the original order's day; unlinked: "
                            "the latest day with sales on or before the return's date); a "
                            "day with net <= 0 is not a purchase",
        },
        "totals": {k: int(a.sum()) for k, a in by.items()},
        "by_month": {label(i): {k: int(by[k][i]) for k in (
            "gross_cents", "returns_cents", "net_cents", "net_margin_cents")}
            for i in range(n_m) if lines_m[i]},
    }
    out["totals"]["sale_lines"] = int(v.gross.sum())
    out["totals"]["return_lines"] = int(v.returned.sum())

    doc = np.isin(o.order_type, RETURN_TYPES) & (o.status == 0)
    same_day = doc & (o.origin == ORIGIN_CANCELLATION)
    partial = doc & (o.origin == ORIGIN_PARTIAL_RETURN)
    linked = doc & (o.original >= 0)
    n_doc = int(doc.sum())

    def share(a: np.ndarray, b: np.ndarray) -> float | None:
        return _r(a.sum() / b.sum()) if b.any() else None

    out["documents"] = {
        "return_documents": n_doc,
        "by_order_type": {t: int((doc & (o.order_type == c)).sum())
                          for t, c in (("return", TYPE_RETURN),
                                       ("credit_note", TYPE_CREDIT_NOTE))},
        "return_lines": int(v.returned.sum()),
        "negative_quantity_documents": int((doc & o.negative).sum()),
        "same_day_cancellations": int(same_day.sum()),
        "partial_returns": int(partial.sum()),
        "linked_documents": int(linked.sum()),
        "linked_share": share(linked, doc),
        "same_day_cancellation_linked_share": share(linked & same_day, same_day),
        "partial_return_linked_share": share(linked & partial, partial),
        "customers_with_returns": int(sorted_unique(o.customer[doc]).size),
        "return_lines_on_order_documents": int(
            (v.returned & (o.order_type[ln.order] == TYPE_ORDER)).sum()),
    }
    b2c = ~w.pop.is_b2b
    out["customers"] = {
        "b2c_net_purchase_days": int(cr["purchase_days"][b2c].sum()),
        "b2c_repeat_purchase_days": int(np.maximum(cr["purchase_days"][b2c] - 1, 0).sum()),
        "fully_reversed_customers": int(((cr["gross"] > 0) & (cr["net"] == 0)).sum()),
    }
    out["lines_by_kind"] = {
        "sale": int(v.sale.sum()), "return": int(v.returns.sum()),
        "contract_billing": int(v.billing.sum()), "all": int(ln.order.size),
    }
    bill = (o.order_type == TYPE_BILLING) & (o.status == 0)
    with_sub = bill & (o.subscription > 0)
    out["contract_billing"] = {
        "enabled": w.params.billing.bill_subscriptions,
        "orders": int(bill.sum()),
        "orders_with_subscription_id": int(with_sub.sum()),
        "subscription_id_share": share(with_sub, bill),
        "revenue_cents": int(billed_m.sum()),
        "by_month_cents": {label(i): int(billed_m[i]) for i in range(n_m) if billed_m[i]},
        "definition": "one completed contract_billing order per month of each contract "
                      "term: start_date + k months (k = 0, 1, ...) while on or before "
                      "end_date and before the end of history; one line, quantity 1, "
                      "price = monthly_fee, no unit cost; contract revenue, not a one-off "
                      "purchase (not in gross, not a purchase day)",
    }
    return out


def planted_returns(w: World, v: LineValues) -> dict[str, Any]:
    """One entry per planted return document, with the order it credits (even unlinked)."""
    o, ln = w.orders, w.lines
    n_o = o.at.size
    doc = np.flatnonzero(np.isin(o.order_type, RETURN_TYPES))
    value = _per(ln.order, v.returned, v.revenue, n_o)
    gross = _per(ln.order, v.gross, v.revenue, n_o)
    credited = o.credits[doc]
    return {
        "doc": doc, "credited": credited,
        "kind": np.where(o.origin[doc] == ORIGIN_CANCELLATION, 1, 0),
        "linked": o.original[doc] >= 0, "negative": o.negative[doc],
        "returned_cents": value[doc], "credited_gross_cents": gross[credited],
    }
