"""Contract terms of subscribers and the logistic renewal model, calibrated per band."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cx_value.generate.params import BANDS, Params
from cx_value.generate.population import Population
from cx_value.generate.text import DAY
from cx_value.generate.timeline import Timeline

MAX_TERMS = 4
PLANS = ("basic", "pro", "enterprise")


@dataclass
class Schedule:
    """Potential terms of each subscriber (row j is customer ``customer[j]``), in days."""

    customer: np.ndarray  # (m,)
    start: np.ndarray  # (m, K) first day
    end: np.ndarray  # (m, K) last day
    web_fell: np.ndarray  # (m, K) bool, latent
    plan: np.ndarray  # (m,)
    fee_cents: np.ndarray  # (m,) first-term monthly fee
    cancel_u: np.ndarray  # (m, K) uniforms for notice
    cancel_days: np.ndarray  # (m, K)
    renew_u: np.ndarray  # (m, K) uniforms for the renewal decision

    def row_of(self, n: int) -> np.ndarray:
        """Map customer index -> schedule row (-1 for non-subscribers)."""
        out = np.full(n, -1, dtype=np.int64)
        out[self.customer] = np.arange(self.customer.size)
        return out


def draw_schedule(pop: Population, params: Params, rng: np.random.Generator) -> Schedule:
    """Potential 12-month terms back to back (0-20 day gaps) from acquisition on."""
    rp = params.renewal
    cust = np.flatnonzero(pop.is_b2b)
    m = cust.size
    gap = rng.integers(0, rp.max_gap_days + 1, size=(m, MAX_TERMS))
    start = np.zeros((m, MAX_TERMS), dtype=np.int64)
    end = np.zeros((m, MAX_TERMS), dtype=np.int64)
    start[:, 0] = pop.created[cust] // DAY
    for k in range(MAX_TERMS):
        if k:
            start[:, k] = end[:, k - 1] + 1 + gap[:, k - 1]
        end[:, k] = start[:, k] + rp.term_days - 1
    p_fell = np.asarray([rp.web_fell_probability[b] for b in BANDS])[pop.band[cust]]
    web_fell = rng.random((m, MAX_TERMS)) < p_fell[:, None]
    enterprise = pop.segment[cust] == 0
    plan = np.where(enterprise, np.where(rng.random(m) < 0.7, 2, 1),
                    np.where(rng.random(m) < 0.6, 0, 1)).astype(np.int8)
    fee_lo = np.array([49.0, 190.0, 1200.0])[plan]
    fee_hi = np.array([150.0, 600.0, 4000.0])[plan]
    fee = np.rint(rng.uniform(fee_lo, fee_hi) * 100).astype(np.int64)
    return Schedule(
        customer=cust, start=start, end=end, web_fell=web_fell, plan=plan, fee_cents=fee,
        cancel_u=rng.random((m, MAX_TERMS)),
        cancel_days=rng.integers(14, 61, size=(m, MAX_TERMS)),
        renew_u=rng.random((m, MAX_TERMS)),
    )


def term_index(schedule: Schedule, row: np.ndarray, at_s: np.ndarray) -> np.ndarray:
    """Potential term (0..K-1) containing each instant, -1 if in a gap or before the first."""
    day = at_s // DAY
    starts = schedule.start[row]
    ends = schedule.end[row]
    k = (day[:, None] >= starts).sum(axis=1) - 1
    kk = np.maximum(k, 0)
    inside = (k >= 0) & (day <= ends[np.arange(row.size), kk])
    return np.where(inside, k, -1)


def term_flags(schedule: Schedule, row: np.ndarray, at_s: np.ndarray,
               flag: np.ndarray) -> np.ndarray:
    """(m, K) bool: some flagged instant of the customer lies in the term."""
    out = np.zeros(schedule.start.shape, dtype=bool)
    ok = (row >= 0) & flag
    k = term_index(schedule, row[ok], at_s[ok])
    inside = k >= 0
    out[row[ok][inside], k[inside]] = True
    return out


@dataclass
class RenewalResult:
    """Realised terms and the calibrated model."""

    realised: np.ndarray  # (m, K) bool
    renewed: np.ndarray  # (m, K) bool, decided terms only
    decided: np.ndarray  # (m, K)
    in_window: np.ndarray  # (m, K)
    probability: np.ndarray  # (m, K)
    detractor: np.ndarray
    complaint: np.ndarray
    intercepts: dict[str, float]
    iterations: int


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def decide_renewals(schedule: Schedule, band: np.ndarray, detractor: np.ndarray,
                    complaint: np.ndarray, params: Params, timeline: Timeline) -> RenewalResult:
    """Renew term by term with P = sigmoid(intercept[band] + betas . features).

    The three band intercepts are found by bisection (on the realised features) so that
    the expected renewal rate of the terms that end in the outcome window equals the
    target per band; because which terms exist depends on earlier decisions, the
    calibration is repeated until the set of terms is stable.
    """
    rp = params.renewal
    as_of_day = timeline.end_s // DAY
    ws_day = timeline.window_start_s // DAY
    decided = schedule.end < as_of_day
    in_window = decided & (schedule.end >= ws_day)
    lin = (rp.beta_detractor * detractor + rp.beta_complaint * complaint
           + rp.beta_web_fell * schedule.web_fell)
    b = band[:, None].repeat(MAX_TERMS, axis=1)
    intercept = np.zeros(3)

    def realise(icpt: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        prob = _sigmoid(icpt[b] + lin)
        renewed = decided & (schedule.renew_u < prob)
        realised = np.zeros_like(decided)
        realised[:, 0] = True
        for k in range(1, MAX_TERMS):
            realised[:, k] = realised[:, k - 1] & renewed[:, k - 1]
        return realised, renewed, prob

    iterations = 0
    previous = None
    for iterations in range(1, 31):  # noqa: B007 - the count is reported
        realised, _, _ = realise(intercept)
        target_set = realised & in_window
        if previous is not None and np.array_equal(previous, target_set):
            break
        previous = target_set
        for code, name in enumerate(BANDS):
            sel = target_set & (b == code)
            if not sel.any():
                continue
            x = lin[sel]
            lo, hi = -10.0, 10.0
            for _ in range(60):
                mid = 0.5 * (lo + hi)
                if _sigmoid(mid + x).mean() < rp.targets[name]:
                    lo = mid
                else:
                    hi = mid
            intercept[code] = 0.5 * (lo + hi)
    realised, renewed, prob = realise(intercept)
    return RenewalResult(
        realised=realised, renewed=renewed & realised, decided=decided, in_window=in_window,
        probability=prob, detractor=detractor, complaint=complaint,
        intercepts={name: round(float(intercept[i]), 6) for i, name in enumerate(BANDS)},
        iterations=iterations,
    )


def relationship_end(schedule: Schedule, result: RenewalResult, timeline: Timeline) -> np.ndarray:
    """Per subscriber: midnight after the last day of a term that was not renewed, else end."""
    last = result.realised.sum(axis=1) - 1
    rows = np.arange(last.size)
    last_end = schedule.end[rows, last]
    churned = result.decided[rows, last] & ~result.renewed[rows, last]
    return np.where(churned, (last_end + 1) * DAY, timeline.end_s).astype(np.int64)


def realised_terms(schedule: Schedule, result: RenewalResult) -> tuple[np.ndarray, np.ndarray]:
    """(schedule row, term index) of every realised term, in subscription-id order.

    The id order is start date, customer, term index; term ``j`` of the result gets the
    subscription number ``j + 1``.
    """
    row, k = np.nonzero(result.realised)
    order = np.lexsort((k, schedule.customer[row], schedule.start[row, k]))
    return row[order], k[order]


def term_fee_cents(schedule: Schedule, row: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Monthly fee of term ``k`` of schedule row ``row``: +3 % per renewal."""
    return np.rint(schedule.fee_cents[row] * (1.03 ** k)).astype(np.int64)
