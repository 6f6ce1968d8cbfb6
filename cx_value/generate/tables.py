"""Format the latent world into the raw tables' text columns (clean rows only)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cx_value.contract import ORDER_TYPES
from cx_value.generate import surveys as sv
from cx_value.generate import text
from cx_value.generate.crm import DEAL_STATUSES, DEAL_TYPES, JOB_TITLES
from cx_value.generate.params import TICKET_CHANNELS
from cx_value.generate.population import (
    ACCOUNT_KINDS,
    ACCOUNT_WORDS,
    CHANNELS,
    COUNTRIES,
    FIRST_NAMES,
    LAST_NAMES,
    REFERRAL_CHANNELS,
    SEGMENTS,
)
from cx_value.generate.purchases import ORDER_CHANNELS, ORDER_STATUSES
from cx_value.generate.returns import currency_codes
from cx_value.generate.service import CATEGORIES
from cx_value.generate.simulate import World
from cx_value.generate.subscriptions import PLANS, realised_terms, term_fee_cents
from cx_value.generate.text import DAY

Columns = dict[str, pa.Array]


def customers(w: World, rng: np.random.Generator) -> Columns:
    """crm.customers."""
    p = w.pop
    n = p.n
    b2b_name = pc.binary_join_element_wise(text.pick(ACCOUNT_WORDS, p.account_word),
                                           text.pick(ACCOUNT_KINDS, p.account_kind), "Oy", " ")
    b2c_name = pc.binary_join_element_wise(text.pick(FIRST_NAMES, p.first_name),
                                           text.pick(LAST_NAMES, p.last_name), " ")
    name = pc.if_else(pa.array(p.is_b2b), b2b_name, b2c_name)
    owner = pc.if_else(pa.array(p.owner > 0), text.ids("u", p.owner), text.blank(n))
    return {
        "customer_id": text.ids("c", np.arange(1, n + 1)),
        "account_name": name,
        "customer_type": text.pick(("b2c", "b2b"), p.is_b2b.astype(np.int8)),
        "segment": text.pick(SEGMENTS, p.segment),
        "country": text.pick(COUNTRIES, p.country),
        "acquisition_channel": text.pick(CHANNELS, p.channel),
        "owner_id": owner,
        "created_at": text.timestamps(p.created),
        "loaded_at": text.timestamps(text.loaded_at(p.created, rng, w.timeline.export_cap_s)),
    }


def contacts(w: World, rng: np.random.Generator) -> Columns:
    """crm.contacts."""
    c = w.contacts
    first = text.pick(FIRST_NAMES, c.first_name)
    last = text.pick(LAST_NAMES, c.last_name)
    local = pc.binary_join_element_wise(pc.utf8_lower(first), pc.utf8_lower(last), ".")
    email = pc.binary_join_element_wise(local, pc.cast(pa.array(c.number), pa.string()),
                                        "@example.com", "")
    phone = pc.binary_join_element_wise(
        "+358 50 ", pc.utf8_lpad(pc.cast(pa.array(c.number % 10_000_000), pa.string()), 7, "0"),
        "")
    job = pc.if_else(pa.array(c.job_title >= 0), text.pick(JOB_TITLES, np.maximum(c.job_title, 0)),
                     text.blank(c.number.size))
    return {
        "contact_id": text.ids("p", c.number),
        "customer_id": text.ids("c", c.customer + 1),
        "first_name": first,
        "last_name": last,
        "email": email,
        "phone": phone,
        "job_title": job,
        "is_primary": text.booleans(c.is_primary),
        "created_at": text.timestamps(c.created),
        "loaded_at": text.timestamps(text.loaded_at(c.created, rng, w.timeline.export_cap_s)),
    }


def deals(w: World, rng: np.random.Generator) -> Columns:
    """crm.deals."""
    d = w.deals
    has_amount = d.amount_cents >= 0
    closed = d.closed >= 0
    latest = np.where(closed, np.maximum(d.closed, d.created), d.created)
    return {
        "deal_id": text.ids("d", np.arange(1, d.customer.size + 1)),
        "customer_id": text.ids("c", d.customer + 1),
        "deal_type": text.pick(DEAL_TYPES, d.deal_type),
        "status": text.pick(DEAL_STATUSES, d.status),
        "amount": text.money(np.maximum(d.amount_cents, 0), has_amount),
        "created_at": text.timestamps(d.created),
        "closed_at": text.timestamps(np.maximum(d.closed, 0), closed),
        "currency": _currency(w, d.customer.size),
        "loaded_at": text.timestamps(text.loaded_at(latest, rng, w.timeline.export_cap_s)),
    }


def _currency(w: World, n: int, codes: np.ndarray | None = None) -> pa.Array:
    """The currency column: empty, the reporting code, or it in lower case.

    Codes of orders are drawn in the simulation; those of deals and subscriptions here,
    on the ``currency`` stream (never the format stream, so other columns keep their
    draws).
    """
    cp = w.params.currency
    if codes is None:
        codes = currency_codes(n, cp.explicit_share, cp.lower_case_share, w.rngs["currency"])
    return text.pick((None, cp.reporting, cp.reporting.lower()), codes)


def _ids_where(prefix: str, numbers: np.ndarray, valid: np.ndarray) -> pa.Array:
    """Ids where ``valid``, empty elsewhere."""
    return pc.if_else(pa.array(valid), text.ids(prefix, np.where(valid, numbers, 0)),
                      text.blank(numbers.size))


def orders(w: World, rng: np.random.Generator) -> Columns:
    """crm.orders."""
    o = w.orders
    written_type = np.where(o.explicit_type | (o.order_type != 0), o.order_type + 1, 0)
    return {
        "order_id": text.ids("o", np.arange(1, o.at.size + 1)),
        "customer_id": text.ids("c", o.customer + 1),
        "ordered_at": text.timestamps(o.at),
        "channel": text.pick((*ORDER_CHANNELS, None), np.where(o.channel < 0,
                                                               len(ORDER_CHANNELS), o.channel)),
        "status": text.pick(ORDER_STATUSES, o.status),
        "order_type": text.pick((None, *ORDER_TYPES), written_type),
        "original_order_id": _ids_where("o", o.original + 1, o.original >= 0),
        "subscription_id": _ids_where("s", o.subscription, o.subscription > 0),
        "currency": _currency(w, o.at.size, o.currency),
        "loaded_at": text.timestamps(text.loaded_at(o.at, rng, w.timeline.export_cap_s)),
    }


def order_lines(w: World, rng: np.random.Generator) -> Columns:
    """crm.order_lines."""
    ln = w.lines
    line_loaded = text.loaded_at(w.orders.at[ln.order], rng, w.timeline.export_cap_s)
    # a return document writes its units negative or positive (its type says return)
    written = np.where(ln.is_return & w.orders.negative[ln.order], -ln.quantity, ln.quantity)
    return {
        "order_line_id": text.ids("l", np.arange(1, ln.order.size + 1)),
        "order_id": text.ids("o", ln.order + 1),
        "product_id": text.ids("prd", ln.product),
        "quantity": text.integers(written),
        "list_price": text.money(ln.list_cents),
        "realised_price": text.money(ln.realised_cents),
        "unit_cost": text.money(np.maximum(ln.cost_cents, 0), ln.cost_cents >= 0),
        "loaded_at": text.timestamps(line_loaded),
    }


@dataclass
class TermRows:
    """Realised contract terms in id order."""

    row: np.ndarray  # schedule row
    k: np.ndarray  # term index
    number: np.ndarray  # id number


def term_rows(w: World) -> TermRows:
    """Realised terms sorted by start date, customer and term index."""
    row, k = realised_terms(w.schedule, w.renewal)
    return TermRows(row=row, k=k, number=np.arange(1, row.size + 1))


def subscriptions(w: World, terms: TermRows, rng: np.random.Generator) -> Columns:
    """crm.subscriptions."""
    s, r, tl = w.schedule, w.renewal, w.timeline
    row, k = terms.row, terms.k
    number_of = np.zeros(s.start.shape, dtype=np.int64)
    number_of[row, k] = terms.number
    has_prev = k > 0
    prev = number_of[row, np.maximum(k - 1, 0)]
    not_renewed = r.decided[row, k] & ~r.renewed[row, k]
    gave_notice = not_renewed & (s.cancel_u[row, k] < w.params.renewal.cancel_notice_share)
    cancelled = (s.end[row, k] - s.cancel_days[row, k]) * DAY + (
        s.cancel_u[row, k] * 9 * 3600).astype(np.int64) + 8 * 3600
    fee = term_fee_cents(s, row, k)
    start_s = np.minimum(s.start[row, k] * DAY, tl.end_s - 1)
    latest = np.where(gave_notice, np.maximum(cancelled, start_s), start_s)
    return {
        "subscription_id": text.ids("s", terms.number),
        "customer_id": text.ids("c", s.customer[row] + 1),
        "plan": text.pick(PLANS, s.plan[row]),
        "start_date": text.dates(s.start[row, k]),
        "end_date": text.dates(s.end[row, k]),
        "monthly_fee": text.money(fee),
        "cancelled_at": text.timestamps(cancelled, gave_notice),
        "previous_subscription_id": pc.if_else(pa.array(has_prev), text.ids("s", prev),
                                               text.blank(row.size)),
        "currency": _currency(w, row.size),
        "loaded_at": text.timestamps(text.loaded_at(latest, rng, tl.export_cap_s)),
    }


def tickets(w: World, rng: np.random.Generator) -> Columns:
    """crm.tickets."""
    t = w.tickets
    latest = np.maximum(np.maximum(t.opened, t.first_response), t.resolved)
    return {
        "ticket_id": text.ids("t", np.arange(1, t.opened.size + 1)),
        "customer_id": text.ids("c", t.customer + 1),
        "channel": text.pick(TICKET_CHANNELS, t.channel),
        "category": text.pick(CATEGORIES, t.category),
        "is_complaint": text.booleans(t.is_complaint),
        "opened_at": text.timestamps(t.opened),
        "first_response_at": text.timestamps(np.maximum(t.first_response, 0),
                                             t.first_response >= 0),
        "resolved_at": text.timestamps(np.maximum(t.resolved, 0), t.resolved >= 0),
        "reopen_count": text.integers(t.reopen_count),
        "agent_contacts": text.integers(t.agent_contacts),
        "loaded_at": text.timestamps(text.loaded_at(latest, rng, w.timeline.export_cap_s)),
    }


def referrals(w: World, rng: np.random.Generator) -> Columns:
    """crm.referrals."""
    f = w.referrals
    order = np.lexsort((f.referred, f.referred_at))
    at = f.referred_at[order]
    return {
        "referral_id": text.ids("f", np.arange(1, order.size + 1)),
        "referrer_customer_id": text.ids("c", f.referrer[order] + 1),
        "referred_customer_id": text.ids("c", f.referred[order] + 1),
        "referred_at": text.timestamps(at),
        "channel": text.pick(REFERRAL_CHANNELS, f.channel[order]),
        "loaded_at": text.timestamps(text.loaded_at(at, rng, w.timeline.export_cap_s)),
    }


@dataclass
class SurveyRows:
    """One row per answer, in id order, with the latent values tests of truth need."""

    questionnaire: np.ndarray
    question: np.ndarray  # code into sv.QUESTIONS
    true_score: np.ndarray
    reversed: np.ndarray


def survey_rows(w: World) -> SurveyRows:
    """Explode questionnaires into answers, ordered by answer time."""
    q = w.questionnaires
    parts_q, parts_k, parts_s = [], [], []
    for code, name in enumerate(sv.QUESTIONS):
        score = getattr(q, name)
        idx = np.flatnonzero(score >= 0)
        parts_q.append(idx)
        parts_k.append(np.full(idx.size, code, np.int8))
        parts_s.append(score[idx])
    qi = np.concatenate(parts_q)
    qk = np.concatenate(parts_k)
    qs = np.concatenate(parts_s).astype(np.int64)
    order = np.lexsort((qk, qi))  # questionnaires are already in answer-time order
    qi, qk, qs = qi[order], qk[order], qs[order]
    rev = (qk == sv.QUESTIONS.index("ces")) & q.legacy[qi]
    return SurveyRows(questionnaire=qi, question=qk, true_score=qs, reversed=rev)


def survey_responses(w: World, rows: SurveyRows, rng: np.random.Generator) -> Columns:
    """surveys.survey_responses."""
    q = w.questionnaires
    c = w.contacts
    qi = rows.questionnaire
    n = qi.size
    cust = q.customer
    # the contact who answered: the consumer, or one of the account's contacts
    contact_pick = c.start[cust] + (rng.random(cust.size) * c.count[cust]).astype(np.int64)
    tp_names = sv.TOUCHPOINT_NAMES
    stage_of_tp = [sv.TOUCHPOINTS[t][0] for t in tp_names]
    survey_ids = (*tuple(f"svy_{t}" for t in tp_names), w.params.surveys.ces_legacy_survey_id)
    survey_code = np.where(q.legacy, len(tp_names), q.touchpoint)
    written = np.where(rows.reversed, 8 - rows.true_score, rows.true_score)
    # comments on some NPS answers, worded by class
    vocab: list[str | None] = [None]
    offsets = {}
    for cls in ("detractor", "passive", "promoter"):
        offsets[cls] = len(vocab)
        vocab.extend(sv.COMMENTS[cls])
    is_nps = rows.question == 0
    score = rows.true_score
    cls_off = np.select([score <= 6, score <= 8],
                        [offsets["detractor"], offsets["passive"]], offsets["promoter"])
    cls_len = np.select([score <= 6, score <= 8],
                        [len(sv.COMMENTS["detractor"]), len(sv.COMMENTS["passive"])],
                        len(sv.COMMENTS["promoter"]))
    commented = is_nps & (rng.random(n) < w.params.surveys.comment_share)
    comment_code = np.where(commented, cls_off + (rng.random(n) * cls_len).astype(np.int64), 0)
    loaded_q = text.loaded_at(q.answered, rng, w.timeline.export_cap_s)
    return {
        "response_id": text.ids("r", np.arange(1, n + 1)),
        "customer_id": text.ids("c", cust[qi] + 1),
        "contact_id": text.ids("p", contact_pick[qi] + 1),
        "survey_id": text.pick(survey_ids, survey_code[qi]),
        "stage": text.pick(stage_of_tp, q.touchpoint[qi]),
        "touchpoint": text.pick(tp_names, q.touchpoint[qi]),
        "question_type": text.pick(sv.QUESTIONS, rows.question),
        "score": text.integers(written),
        "scale_direction": text.pick(("standard", "reversed"), rows.reversed.astype(np.int8)),
        "comment": text.pick(vocab, comment_code),
        "sent_at": text.timestamps(q.sent[qi]),
        "answered_at": text.timestamps(q.answered[qi]),
        "loaded_at": text.timestamps(loaded_q[qi]),
    }
