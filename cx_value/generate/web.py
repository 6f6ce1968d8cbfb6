"""Web sessions and events, anonymous devices and identity, generated per chunk of customers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from cx_value.generate import text
from cx_value.generate.params import BANDS, Params
from cx_value.generate.text import DAY, HOUR

EVENT_TYPES = ("page_view", "share", "comment", "review", "download", "login", "form_fill",
               "referral_click")
PAGE_VIEW, SHARE, COMMENT, REVIEW, DOWNLOAD, LOGIN, FORM_FILL, REFERRAL_CLICK = range(8)
PAGES = ("/", "/pricing", "/products", "/products/analytics", "/products/service-desk",
         "/blog/customer-experience", "/blog/nps-explained", "/blog/churn", "/support",
         "/docs/getting-started", "/case-studies", "/about")
TYPE_PAGES = {
    LOGIN: ("/login",), FORM_FILL: ("/contact", "/support/form", "/demo-request"),
    DOWNLOAD: ("/downloads/whitepaper.pdf", "/downloads/price-list.pdf"),
    REVIEW: ("/reviews/new",), COMMENT: ("/blog/customer-experience", "/community"),
    SHARE: ("/blog/nps-explained", "/case-studies"), REFERRAL_CLICK: ("/refer-a-friend",),
}
REFERRERS = (None, "google.com", "bing.com", "linkedin.com", "facebook.com", "newsletter")
CAMPAIGNS = ("spring_sale", "webinar_series", "brand_awareness", "retargeting")
MONTH = 30.4375 * DAY
_ALL_PAGES: tuple[str, ...] = PAGES + tuple(p for pages in TYPE_PAGES.values() for p in pages)
_TYPE_PAGE_SLOTS: dict[int, tuple[int, int]] = {}
_offset = len(PAGES)
for _code, _pages in TYPE_PAGES.items():
    _TYPE_PAGE_SLOTS[_code] = (_offset, len(_pages))
    _offset += len(_pages)


@dataclass
class WebPlan:
    """Per-customer web attributes fixed before any event is drawn."""

    n_devices: np.ndarray
    device_start: np.ndarray  # first device index of each customer
    awareness_sessions: np.ndarray
    anon_number: np.ndarray  # per device (customers' devices, then visitors): id number
    n_visitors: int


def plan_web(n: int, params: Params, rng: np.random.Generator) -> WebPlan:
    """Devices per customer, awareness sessions before acquisition, anonymous id numbers."""
    wp = params.web
    n_devices = 1 + rng.choice(3, size=n, p=np.asarray(wp.device_count_probabilities))
    device_start = np.concatenate(([0], np.cumsum(n_devices)[:-1]))
    total = int(n_devices.sum())
    n_visitors = round(wp.anonymous_visitor_share * total)
    anon_number = 1 + rng.permutation(total + n_visitors)
    awareness = rng.poisson(wp.awareness_sessions_mean, size=n)
    return WebPlan(n_devices=n_devices, device_start=device_start,
                   awareness_sessions=awareness, anon_number=anon_number,
                   n_visitors=n_visitors)


@dataclass
class CustomerWeb:
    """Inputs of one chunk: customer indices and what shapes their activity."""

    index: np.ndarray  # customer indices (sorted)
    created: np.ndarray
    until: np.ndarray  # end of relationship
    is_b2b: np.ndarray
    band: np.ndarray
    dormant_from: np.ndarray  # seconds after which a one-off buyer is dormant, -1 never
    fell_start: np.ndarray  # (m, K) seconds, -1 none: web activity fell in [start, end)
    fell_end: np.ndarray


@dataclass
class ChunkResult:
    """Events of one chunk as text columns plus per-customer and per-device truth."""

    columns: dict[str, pa.Array]
    n_events: int
    sessions: np.ndarray  # per customer in chunk
    awareness: np.ndarray
    logged_in: np.ndarray
    events: np.ndarray
    device_identified: np.ndarray  # per device of the chunk's customers


def _event_columns(owner_anon: np.ndarray, user: np.ndarray, logged: np.ndarray,
                   session_start: np.ndarray, session_events: np.ndarray,
                   social: np.ndarray, first_event_id: int, end_s: int, cap_s: int,
                   params: Params, rng: np.random.Generator) -> tuple[dict[str, pa.Array], int]:
    """Expand sessions into events and format them as text columns."""
    wp = params.web
    n_s = session_start.size
    sess = np.repeat(np.arange(n_s), session_events)
    n_e = sess.size
    starts = np.concatenate(([0], np.cumsum(session_events)[:-1]))
    pos = np.arange(n_e) - starts[sess]
    gaps = rng.integers(1, wp.max_event_gap_seconds + 1, size=n_e)
    gaps[pos == 0] = 0
    cum = np.cumsum(gaps)
    at = session_start[sess] + cum - cum[starts][sess]
    # event types: first event login/form_fill on logged-in sessions, else page_view;
    # later events mostly page views, social events more often in better bands
    u = rng.random(n_e)
    etype = np.full(n_e, PAGE_VIEW, dtype=np.int64)
    kinds = np.array([SHARE, COMMENT, REVIEW, DOWNLOAD, REFERRAL_CLICK, FORM_FILL, PAGE_VIEW])
    ev_social = social[sess]
    for factor in np.unique(social):
        sel = ev_social == factor
        probs = np.array([0.03 * factor, 0.015 * factor, 0.015 * factor, 0.04, 0.01 * factor,
                          0.01])
        etype[sel] = kinds[np.searchsorted(np.cumsum(probs), u[sel], side="right")]
    lg = logged[sess]
    etype = np.where((etype == FORM_FILL) & ~lg, PAGE_VIEW, etype)
    first = pos == 0
    etype = np.where(first, np.where(lg, np.where(rng.random(n_e) < 0.9, LOGIN, FORM_FILL),
                                     PAGE_VIEW), etype)
    # pages: a general page, or one that fits the event type
    page_code = rng.integers(0, len(PAGES), size=n_e)
    pick_u = rng.random(n_e)
    for code, (offset, count) in _TYPE_PAGE_SLOTS.items():
        sel = etype == code
        page_code[sel] = offset + (pick_u[sel] * count).astype(np.int64)
    page = text.pick(_ALL_PAGES, page_code)
    ref_code = np.where(first, rng.integers(0, len(REFERRERS), size=n_e), 0)
    camp_code = np.where(first & (rng.random(n_e) < 0.2),
                         1 + rng.integers(0, len(CAMPAIGNS), size=n_e), 0)
    loaded = text.loaded_at(at, rng, cap_s, 1.0, 24.0)
    user_ids = text.ids("c", user[sess] + 1)
    user_col = _mask(user_ids, ~lg)
    cols = {
        "event_id": text.ids("e", np.arange(first_event_id, first_event_id + n_e)),
        "anonymous_id": text.ids("a", owner_anon[sess]),
        "user_id": user_col,
        "event_type": text.pick(EVENT_TYPES, etype),
        "event_at": text.timestamps(at),
        "page_url": page,
        "referrer": text.pick(REFERRERS, ref_code),
        "campaign": text.pick((None, *CAMPAIGNS), camp_code),
        "loaded_at": text.timestamps(loaded),
    }
    assert at.size == 0 or at.max() < end_s
    return cols, n_e


def _mask(values: pa.Array, null_where: np.ndarray) -> pa.Array:
    import pyarrow.compute as pc

    return pc.if_else(pa.array(null_where), pa.nulls(len(values), pa.string()), values)


def customer_chunk(cw: CustomerWeb, plan: WebPlan, params: Params, start_s: int, end_s: int,
                   cap_s: int, first_event_id: int, rng: np.random.Generator) -> ChunkResult:
    """Sessions and events of one chunk of customers."""
    wp = params.web
    m = cw.index.size
    band_f = np.asarray([wp.band_session_factor[b] for b in BANDS])[cw.band]
    rate = np.where(cw.is_b2b, wp.b2b_sessions_per_month, wp.b2c_sessions_per_month) * band_f
    span = np.maximum(cw.until - cw.created, 0)
    n_post = rng.poisson(rate * span / MONTH)
    n_aw = plan.awareness_sessions[cw.index]
    local = np.concatenate((np.repeat(np.arange(m), n_aw), np.repeat(np.arange(m), n_post)))
    is_aw = np.concatenate((np.ones(int(n_aw.sum()), bool), np.zeros(int(n_post.sum()), bool)))
    u = rng.random(local.size)
    aw_start = cw.created[local] - wp.awareness_days * DAY
    t = np.where(is_aw, aw_start + (u * (wp.awareness_days * DAY - HOUR)).astype(np.int64),
                 cw.created[local] + (u * span[local]).astype(np.int64))
    keep = t >= start_s
    # thinning: web activity fell (subscribers), dormant one-off buyers
    fell = np.zeros(local.size, dtype=bool)
    for k in range(cw.fell_start.shape[1]):
        fs, fe = cw.fell_start[local, k], cw.fell_end[local, k]
        fell |= (fs >= 0) & (t >= fs) & (t < fe)
    dormant = (cw.dormant_from[local] >= 0) & (t >= cw.dormant_from[local]) & ~is_aw
    thin = rng.random(local.size)
    keep &= ~(fell & (thin >= params.renewal.web_fell_rate_factor))
    keep &= ~(dormant & (thin >= wp.b2c_dormant_factor))
    local, t, is_aw = local[keep], t[keep], is_aw[keep]
    order = np.lexsort((t, local))
    local, t, is_aw = local[order], t[order], is_aw[order]
    # sessions of one customer at least a few hours apart (any device)
    min_gap = int(wp.min_session_start_gap_hours * HOUR)
    close = np.zeros(local.size, dtype=bool)
    if local.size > 1:
        close[1:] = (local[1:] == local[:-1]) & (t[1:] - t[:-1] < min_gap)
    # a session must end before the end of history
    too_late = t > end_s - 3 * HOUR
    keep = ~close & ~too_late
    local, t, is_aw = local[keep], t[keep], is_aw[keep]
    n_s = local.size

    dev_rel = (rng.random(n_s) * plan.n_devices[cw.index][local]).astype(np.int64)
    device = plan.device_start[cw.index][local] + dev_rel
    p_login = np.where(cw.is_b2b[local], wp.login_probability_b2b, wp.login_probability_b2c)
    logged = ~is_aw & (rng.random(n_s) < p_login)
    n_ev = np.minimum(1 + rng.poisson(wp.extra_events_mean, size=n_s), wp.max_events_per_session)
    social = np.asarray([wp.social_factor[b] for b in BANDS])[cw.band[local]]
    cols, n_e = _event_columns(plan.anon_number[device], cw.index[local], logged, t, n_ev,
                               social, first_event_id, end_s, cap_s, params, rng)
    first_dev = plan.device_start[cw.index[0]] if m else 0
    n_dev_chunk = int(plan.n_devices[cw.index].sum())
    identified = np.zeros(n_dev_chunk, dtype=bool)
    identified[device[logged] - first_dev] = True
    return ChunkResult(
        columns=cols, n_events=n_e,
        sessions=np.bincount(local, minlength=m),
        awareness=np.bincount(local[is_aw], minlength=m),
        logged_in=np.bincount(local[logged], minlength=m),
        events=np.bincount(local, weights=n_ev, minlength=m).astype(np.int64),
        device_identified=identified,
    )


def visitor_chunk(plan: WebPlan, n_customer_devices: int, params: Params, start_s: int,
                  end_s: int, cap_s: int, first_event_id: int,
                  rng: np.random.Generator) -> tuple[dict[str, pa.Array], int, int]:
    """Events of anonymous visitors who never become customers (never identified)."""
    wp = params.web
    v = plan.n_visitors
    n_sess = rng.integers(1, 4, size=v)
    owner = np.repeat(np.arange(v), n_sess)
    span = end_s - start_s - 3 * HOUR
    # visitors' sessions fall in distinct slots of their own so they stay apart
    slot = owner * 0 + rng.integers(0, span // (6 * HOUR), size=owner.size)
    t = start_s + slot * 6 * HOUR + rng.integers(0, HOUR, size=owner.size)
    order = np.lexsort((t, owner))
    owner, t = owner[order], t[order]
    dup = np.zeros(owner.size, dtype=bool)
    dup[1:] = (owner[1:] == owner[:-1]) & (t[1:] - t[:-1] < int(wp.min_session_start_gap_hours
                                                                * HOUR))
    owner, t = owner[~dup], t[~dup]
    n_ev = np.minimum(1 + rng.poisson(wp.extra_events_mean * 0.6, size=owner.size),
                      wp.max_events_per_session)
    anon = plan.anon_number[n_customer_devices + owner]
    cols, n_e = _event_columns(anon, np.zeros(owner.size, np.int64),
                               np.zeros(owner.size, bool), t, n_ev,
                               np.ones(owner.size), first_event_id, end_s, cap_s, params, rng)
    return cols, n_e, int(owner.size)
