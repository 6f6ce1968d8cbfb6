"""Support tickets: channels, response and resolution times, FCR, complaints."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cx_value.generate.params import BANDS, TICKET_CHANNELS, Params
from cx_value.generate.population import Population
from cx_value.generate.text import DAY, HOUR
from cx_value.generate.timeline import Timeline

CATEGORIES = ("billing", "technical", "delivery", "account", "product", "other")
MONTH = 30.4375 * DAY
NONE = -1


@dataclass
class Tickets:
    """Ticket arrays; times in seconds, -1 where absent."""

    customer: np.ndarray
    opened: np.ndarray
    channel: np.ndarray
    category: np.ndarray
    is_complaint: np.ndarray
    first_response: np.ndarray
    resolved: np.ndarray
    reopen_count: np.ndarray
    agent_contacts: np.ndarray
    fcr: np.ndarray

    def subset(self, keep: np.ndarray) -> Tickets:
        """The tickets selected by a boolean mask or index array."""
        return Tickets(**{k: v[keep] for k, v in self.__dict__.items()})


def _channels(share: dict[str, float], u: np.ndarray) -> np.ndarray:
    p = np.asarray([share[c] for c in TICKET_CHANNELS])
    return np.minimum(np.searchsorted(np.cumsum(p) / p.sum(), u, side="right"),
                      len(TICKET_CHANNELS) - 1)


def draw_tickets(pop: Population, order_customer: np.ndarray, order_at: np.ndarray,
                 params: Params, timeline: Timeline, rng: np.random.Generator) -> Tickets:
    """Potential tickets: B2B at a monthly rate by band, B2C after some of their orders."""
    sp = params.service
    b2b = np.flatnonzero(pop.is_b2b)
    band_factor = np.asarray([sp.band_ticket_factor[b] for b in BANDS])
    months = (timeline.end_s - pop.created[b2b]) / MONTH
    count = rng.poisson(sp.b2b_tickets_per_month * band_factor[pop.band[b2b]] * months)
    b_cust = np.repeat(b2b, count)
    span = (timeline.end_s - pop.created[b_cust]).astype(np.float64)
    b_open = pop.created[b_cust] + (rng.random(b_cust.size) * span).astype(np.int64)

    from_order = rng.random(order_at.size) < sp.b2c_ticket_per_order
    c_cust = order_customer[from_order]
    c_open = order_at[from_order] + rng.integers(HOUR, 14 * DAY, size=c_cust.size)
    c_ok = c_open < timeline.end_s
    c_cust, c_open = c_cust[c_ok], c_open[c_ok]

    customer = np.concatenate((b_cust, c_cust))
    opened = np.concatenate((b_open, c_open)).astype(np.int64)
    n = customer.size
    is_b2b = pop.is_b2b[customer]
    u = rng.random(n)
    channel = np.where(is_b2b, _channels(sp.channel_share_b2b, u),
                       _channels(sp.channel_share_b2c, u)).astype(np.int8)
    category = rng.integers(0, len(CATEGORIES), size=n).astype(np.int8)
    band = pop.band[customer]
    p_complaint = np.asarray([sp.complaint_probability[b] for b in BANDS])[band]
    is_complaint = rng.random(n) < p_complaint

    frt_median = np.asarray([sp.first_response_median_hours[c] for c in TICKET_CHANNELS])
    res_median = np.asarray([sp.resolution_median_hours[c] for c in TICKET_CHANNELS])
    frt_h = frt_median[channel] * np.exp(sp.first_response_sigma * rng.standard_normal(n))
    res_h = res_median[channel] * np.exp(sp.resolution_sigma * rng.standard_normal(n))
    res_h = np.where(is_complaint, res_h * sp.complaint_resolution_factor, res_h)
    first_response = opened + np.maximum(np.rint(frt_h * HOUR), 1).astype(np.int64)
    resolved = first_response + np.maximum(np.rint(res_h * HOUR), 1).astype(np.int64)
    p_unres = np.asarray([sp.unresolved_complaint_probability[b] for b in BANDS])[band]
    unresolved = is_complaint & (rng.random(n) < p_unres)
    resolved = np.where(unresolved | (resolved >= timeline.end_s), NONE, resolved)
    no_response = first_response >= timeline.end_s
    first_response = np.where(no_response, NONE, first_response)
    resolved = np.where(no_response, NONE, resolved)

    fcr_p = np.asarray([sp.fcr_probability[c] for c in TICKET_CHANNELS])[channel]
    fcr = rng.random(n) < fcr_p
    kind = rng.random(n)
    extra_contacts = rng.integers(2, 5, size=n)
    reopens = rng.integers(1, 3, size=n)
    agent_contacts = np.where(fcr, 1, np.where(kind < 0.8, extra_contacts, 1))
    reopen_count = np.where(fcr, 0, np.where(kind < 0.5, 0, reopens))
    order = np.lexsort((channel, customer, opened))
    return Tickets(
        customer=customer, opened=opened, channel=channel, category=category,
        is_complaint=is_complaint, first_response=first_response, resolved=resolved,
        reopen_count=reopen_count.astype(np.int64), agent_contacts=agent_contacts.astype(
            np.int64), fcr=fcr,
    ).subset(order)
