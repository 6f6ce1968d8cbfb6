"""The latent simulation: everything drawn, before any row is formatted."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cx_value.generate import surveys as sv
from cx_value.generate.crm import Contacts, Deals, add_upsell_deals, draw_contacts, draw_deals
from cx_value.generate.params import Params
from cx_value.generate.population import Population, Referrals, build_population, draw_referrals
from cx_value.generate.purchases import (
    ORIGIN_BGNBD,
    OneOffPurchases,
    OrderLines,
    Orders,
    SpendBanding,
    assemble_orders,
    assign_b2c_bands,
    b2b_addon_orders,
    bgnbd_purchases,
    split_lines,
    window_spend_cents,
)
from cx_value.generate.returns import plant as plant_returns
from cx_value.generate.service import Tickets, draw_tickets
from cx_value.generate.subscriptions import (
    RenewalResult,
    Schedule,
    decide_renewals,
    draw_schedule,
    relationship_end,
    term_flags,
    term_index,
)
from cx_value.generate.text import DAY, HOUR
from cx_value.generate.timeline import Timeline
from cx_value.generate.web import WebPlan, plan_web

STREAMS = ("customers", "purchases", "bands", "web_plan", "addons", "subscriptions",
           "tickets", "deals", "surveys", "referrals", "contacts", "orders", "lines", "web",
           "format", "dirty", "upsell", "returns", "billing", "currency")
# new streams go at the end: SeedSequence.spawn gives child i the same seed whatever the
# number of children, so adding a stream leaves every existing stream's draws unchanged


@dataclass
class World:
    """The complete latent state of one generation."""

    params: Params
    timeline: Timeline
    pop: Population
    one_off: OneOffPurchases
    window_spend: np.ndarray
    banding: SpendBanding
    web_plan: WebPlan
    schedule: Schedule
    renewal: RenewalResult
    tickets: Tickets
    questionnaires: sv.Questionnaires
    gap_mu: dict[str, float]
    referrals: Referrals
    contacts: Contacts
    deals: Deals
    orders: Orders
    lines: OrderLines
    rngs: dict[str, np.random.Generator]


def spawn_streams(seed: int) -> dict[str, np.random.Generator]:
    """One independent generator per named stream, derived from ``seed``."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: np.random.default_rng(child) for name, child in
            zip(STREAMS, children, strict=True)}


def _potential_questionnaires(pop: Population, one_off: OneOffPurchases,
                              addon: tuple[np.ndarray, ...], tickets: Tickets,
                              schedule: Schedule, deals: Deals, plan: WebPlan, params: Params,
                              design: sv.SurveyDesign, timeline: Timeline,
                              rng: np.random.Generator) -> sv.Questionnaires:
    rate = params.surveys.response_rate
    band = pop.band
    parts = []

    def add(tp: str, cust: np.ndarray, sent: np.ndarray, anchor: np.ndarray | None = None,
            term: np.ndarray | None = None, response: float | None = None) -> None:
        ok = sv.respond(rng, cust.size, rate[tp] if response is None else response)
        parts.append(sv.questionnaires(
            tp, cust[ok], sent[ok], band[cust[ok]], params, design, rng,
            anchor=None if anchor is None else anchor[ok],
            term=None if term is None else term[ok]))

    everyone = np.arange(pop.n)
    aware = everyone[plan.awareness_sessions > 0]
    add("brand_survey", aware, sv.sent_after(pop.created[aware], DAY, 7 * DAY, rng))
    demo = everyone[deals.won_type >= 1]
    add("deal_followup", demo, sv.sent_after(pop.created[demo], HOUR, 3 * DAY, rng))
    a_cust, a_at, _ = addon
    o_cust = np.concatenate((one_off.customer, a_cust))
    o_at = np.concatenate((one_off.at, a_at))
    add("order_confirmation", o_cust, sv.sent_after(o_at, DAY, 5 * DAY, rng), anchor=o_at)
    lo = np.where(pop.is_b2b, 30 * DAY, 10 * DAY)
    hi = np.where(pop.is_b2b, 45 * DAY, 20 * DAY)
    add("onboarding_check", everyone, pop.created + rng.integers(lo, hi))
    eligible = everyone[pop.created < timeline.survey_s]
    add("relationship_survey", eligible,
        timeline.survey_s + rng.integers(0, 8 * HOUR, size=eligible.size),
        response=params.surveys.relationship_response_rate)
    k_terms = schedule.start.shape[1]
    s_cust = np.repeat(schedule.customer, k_terms)
    s_start = schedule.start.reshape(-1) * DAY
    add("in_app_pulse", s_cust, s_start + rng.integers(120 * DAY, 240 * DAY, size=s_cust.size))
    resolved = tickets.resolved >= 0
    add("ticket_closed", tickets.customer[resolved],
        sv.sent_after(tickets.resolved[resolved], HOUR, 24 * HOUR, rng),
        anchor=tickets.opened[resolved])
    s_term = np.tile(np.arange(k_terms), schedule.customer.size)
    s_end = (schedule.end.reshape(-1) + 1) * DAY
    decided = s_end <= timeline.end_s
    add("renewal_decision", s_cust[decided],
        sv.sent_after(s_end[decided], 0, 3 * DAY, rng), term=s_term[decided])
    q = sv.Questionnaires.concat(parts)
    return q.subset(q.answered < timeline.end_s)


def simulate(customers: int, seed: int, as_of_params: tuple[Params, Timeline]) -> World:
    """Draw the whole latent world for ``customers`` customers."""
    params, timeline = as_of_params
    rngs = spawn_streams(seed)
    pop = build_population(customers, params, timeline, rngs["customers"])
    one_off = bgnbd_purchases(pop, params, timeline, rngs["purchases"])
    spend = window_spend_cents(pop.n, one_off.customer, one_off.at, one_off.cents, timeline)
    banding = assign_b2c_bands(pop, spend, params, timeline, rngs["bands"])
    plan = plan_web(pop.n, params, rngs["web_plan"])
    addon = b2b_addon_orders(pop, params, timeline, rngs["addons"])
    schedule = draw_schedule(pop, params, rngs["subscriptions"])
    tickets = draw_tickets(pop, one_off.customer, one_off.at, params, timeline, rngs["tickets"])
    deals_pre = draw_deals(pop, schedule, params, timeline, rngs["deals"])
    design = sv.SurveyDesign(gap_mu=sv.calibrate_gap_means(params))
    q = _potential_questionnaires(pop, one_off, addon, tickets, schedule, deals_pre, plan,
                                  params, design, timeline, rngs["surveys"])

    # renewal features on the potential history (only realised terms ever use them)
    row_of = schedule.row_of(pop.n)
    q_row = row_of[q.customer]
    detractor = term_flags(schedule, q_row, q.answered, (q.nps >= 0) & (q.nps <= 6))
    complaint = complaint_flags(schedule, row_of, tickets)
    renewal = decide_renewals(schedule, pop.band[schedule.customer], detractor, complaint,
                              params, timeline)
    pop.alive_until[schedule.customer] = relationship_end(schedule, renewal, timeline)

    # what a churned subscriber never did
    a_cust, a_at, a_cents = addon
    keep = a_at < pop.alive_until[a_cust]
    addon = (a_cust[keep], a_at[keep], a_cents[keep])
    tickets = tickets.subset(tickets.opened < pop.alive_until[tickets.customer])
    is_b2b_q = q_row >= 0
    term = q.term.astype(np.int64)
    renewal_q = term >= 0
    rq_ok = np.zeros(q.customer.size, dtype=bool)
    rq_ok[renewal_q] = (renewal.realised[q_row[renewal_q], term[renewal_q]]
                        & renewal.decided[q_row[renewal_q], term[renewal_q]])
    keep_q = ~is_b2b_q | np.where(renewal_q, rq_ok, q.anchor < pop.alive_until[q.customer])
    q = q.subset(keep_q)
    q = q.subset(np.lexsort((q.touchpoint, q.customer, q.answered)))

    # open upsell deals of those still under contract
    deals = add_upsell_deals(deals_pre, pop, schedule, params, timeline, rngs["upsell"])
    referrals = draw_referrals(pop, params, rngs["referrals"])
    contacts = draw_contacts(pop, rngs["contacts"])
    orders = assemble_orders(pop, one_off, addon, params, timeline, rngs["orders"])
    lines = split_lines(orders, params, rngs["lines"])
    orders, lines = plant_returns(pop, one_off, orders, lines, schedule, renewal, params,
                                  timeline, rngs)
    return World(
        params=params, timeline=timeline, pop=pop, one_off=one_off, window_spend=spend,
        banding=banding, web_plan=plan, schedule=schedule, renewal=renewal, tickets=tickets,
        questionnaires=q, gap_mu=design.gap_mu, referrals=referrals, contacts=contacts,
        deals=deals, orders=orders, lines=lines, rngs=rngs,
    )


def complaint_flags(schedule: Schedule, row_of: np.ndarray, tickets: Tickets) -> np.ndarray:
    """(m, K): a complaint opened in the term is still unresolved at the term's end."""
    out = np.zeros(schedule.start.shape, dtype=bool)
    rows = row_of[tickets.customer]
    sel = (rows >= 0) & tickets.is_complaint
    r, opened, resolved = rows[sel], tickets.opened[sel], tickets.resolved[sel]
    k = term_index(schedule, r, opened)
    inside = k >= 0
    r, k, resolved = r[inside], k[inside], resolved[inside]
    term_end = (schedule.end[r, k] + 1) * DAY
    open_at_end = (resolved < 0) | (resolved >= term_end)
    out[r[open_at_end], k[open_at_end]] = True
    return out


def is_bgnbd(orders: Orders) -> np.ndarray:
    """Orders drawn from the BG/NBD process."""
    return orders.origin == ORIGIN_BGNBD
