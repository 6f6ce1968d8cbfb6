"""Contacts and deals (consideration stage) of the CRM."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cx_value.generate.params import Params
from cx_value.generate.population import Population
from cx_value.generate.subscriptions import Schedule
from cx_value.generate.text import DAY, HOUR
from cx_value.generate.timeline import Timeline

DEAL_TYPES = ("quote", "demo", "trial")
DEAL_STATUSES = ("open", "won", "lost")
JOB_TITLES = ("CEO", "CFO", "Head of Customer Success", "Purchasing Manager",
              "Operations Manager", "IT Manager", "Marketing Lead", "Office Manager")


@dataclass
class Contacts:
    """Contacts, grouped by customer in customer order."""

    customer: np.ndarray
    number: np.ndarray  # 1-based contact number (id)
    first_name: np.ndarray
    last_name: np.ndarray
    job_title: np.ndarray  # -1 none
    is_primary: np.ndarray
    created: np.ndarray
    start: np.ndarray  # per customer: index of the first contact
    count: np.ndarray  # per customer


def draw_contacts(pop: Population, rng: np.random.Generator) -> Contacts:
    """One contact per consumer, 1-4 per account; the first one is primary."""
    n = pop.n
    count = np.where(pop.is_b2b, 1 + rng.choice(4, size=n, p=[0.3, 0.3, 0.25, 0.15]), 1)
    start = np.concatenate(([0], np.cumsum(count)[:-1]))
    cust = np.repeat(np.arange(n), count)
    pos = np.arange(cust.size) - start[cust]
    primary = pos == 0
    b2b = pop.is_b2b[cust]
    first = np.where(primary & ~b2b, pop.first_name[cust],
                     rng.integers(0, 20, size=cust.size)).astype(np.int16)
    last = np.where(primary & ~b2b, pop.last_name[cust],
                    rng.integers(0, 15, size=cust.size)).astype(np.int16)
    job = np.where(b2b, rng.integers(0, len(JOB_TITLES), size=cust.size), -1)
    span = np.maximum(pop.alive_until[cust] - pop.created[cust], 1)
    later = pop.created[cust] + (rng.random(cust.size) * span * 0.8).astype(np.int64)
    created = np.where(primary, pop.created[cust], later)
    return Contacts(customer=cust, number=np.arange(1, cust.size + 1), first_name=first,
                    last_name=last, job_title=job, is_primary=primary, created=created,
                    start=start, count=count)


@dataclass
class Deals:
    """Deals sorted by creation time."""

    customer: np.ndarray
    deal_type: np.ndarray
    status: np.ndarray
    amount_cents: np.ndarray  # -1 for none
    created: np.ndarray
    closed: np.ndarray  # -1 while open
    won_type: np.ndarray  # per customer: type of the won deal, -1 none


def draw_deals(pop: Population, schedule: Schedule, params: Params, timeline: Timeline,
               rng: np.random.Generator) -> Deals:
    """Deals before acquisition: 0-2 lost ones, then the one won at acquisition."""
    n = pop.n
    row = schedule.row_of(n)
    annual = np.where(row >= 0, schedule.fee_cents[np.maximum(row, 0)] * 12, 0)
    b2b = np.flatnonzero(pop.is_b2b)
    b2c_trial = np.flatnonzero(~pop.is_b2b & (rng.random(n) < params.b2c_trial_share))
    won_cust = np.concatenate((b2b, b2c_trial))
    median = np.where(pop.is_b2b[won_cust], params.b2b_sales_cycle_median_days,
                      params.b2c_sales_cycle_median_days)
    cycle_days = median * np.exp(0.6 * rng.standard_normal(won_cust.size))
    won_created = pop.created[won_cust] - np.maximum(np.rint(cycle_days * DAY), HOUR).astype(
        np.int64)
    u = rng.random(won_cust.size)
    won_type = np.where(pop.is_b2b[won_cust], np.select([u < 0.3, u < 0.7], [0, 1], 2), 2)
    won_amount = np.where(pop.is_b2b[won_cust], annual[won_cust], -1)

    n_lost = np.where(pop.is_b2b[won_cust], rng.choice(3, size=won_cust.size,
                                                       p=[0.5, 0.35, 0.15]), 0)
    lost_of = np.repeat(np.arange(won_cust.size), n_lost)
    lost_cust = won_cust[lost_of]
    rank = np.arange(lost_of.size) - np.concatenate(([0], np.cumsum(n_lost)[:-1]))[lost_of]
    lost_created = won_created[lost_of] - ((rank + 1) * rng.uniform(30, 200, lost_of.size)
                                           * DAY).astype(np.int64)
    lost_closed = lost_created + np.maximum(
        np.rint(20 * np.exp(0.5 * rng.standard_normal(lost_of.size)) * DAY), HOUR).astype(
        np.int64)
    lost_closed = np.minimum(lost_closed, won_created[lost_of] - HOUR)
    lost_closed = np.maximum(lost_closed, lost_created + HOUR)
    lost_type = rng.integers(0, 3, size=lost_of.size)
    lost_amount = np.rint(annual[lost_cust] * rng.uniform(0.7, 1.3, lost_of.size)).astype(
        np.int64)

    won_type_by_customer = np.full(n, -1, dtype=np.int8)
    won_type_by_customer[won_cust] = won_type
    return Deals(
        customer=np.concatenate((won_cust, lost_cust)),
        deal_type=np.concatenate((won_type, lost_type)).astype(np.int8),
        status=np.concatenate((np.ones(won_cust.size, np.int8),
                               np.full(lost_of.size, 2, np.int8))),
        amount_cents=np.concatenate((won_amount, lost_amount)).astype(np.int64),
        created=np.concatenate((won_created, lost_created)).astype(np.int64),
        closed=np.concatenate((pop.created[won_cust], lost_closed)).astype(np.int64),
        won_type=won_type_by_customer,
    )


def add_upsell_deals(deals: Deals, pop: Population, schedule: Schedule, params: Params,
                     timeline: Timeline, rng: np.random.Generator) -> Deals:
    """Add open upsell quotes of current subscribers and sort all deals by creation."""
    row = schedule.row_of(pop.n)
    annual = np.where(row >= 0, schedule.fee_cents[np.maximum(row, 0)] * 12, 0)
    active = np.flatnonzero(pop.is_b2b & (pop.alive_until >= timeline.end_s))
    up = active[rng.random(active.size) < params.open_upsell_deal_share]
    up_created = np.maximum(timeline.end_s - rng.integers(DAY, 90 * DAY, size=up.size),
                            pop.created[up] + DAY)
    up_created = np.minimum(up_created, timeline.end_s - HOUR)
    up_amount = np.rint(annual[up] * rng.uniform(0.2, 0.6, up.size)).astype(np.int64)
    customer = np.concatenate((deals.customer, up))
    created = np.concatenate((deals.created, up_created))
    closed = np.concatenate((deals.closed, np.full(up.size, -1)))
    deal_type = np.concatenate((deals.deal_type, np.zeros(up.size, np.int8)))
    status = np.concatenate((deals.status, np.zeros(up.size, np.int8)))
    amount = np.concatenate((deals.amount_cents, up_amount))
    order = np.lexsort((status, customer, created))
    return Deals(customer=customer[order], deal_type=deal_type[order], status=status[order],
                 amount_cents=amount[order], created=created[order], closed=closed[order],
                 won_type=deals.won_type)
