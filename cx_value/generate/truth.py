"""Planted truth: parameters and the values realised on the clean latent data."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np

from cx_value.generate import surveys as sv
from cx_value.generate.params import BANDS, TICKET_CHANNELS
from cx_value.generate.purchases import ORIGIN_ADDON, ORIGIN_BGNBD
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
    """Discount cost, revenue and margin over the clean order lines, to the cent."""
    ln = w.lines
    status = w.orders.status[ln.order]
    q = ln.quantity

    def block(sel: np.ndarray) -> dict[str, Any]:
        disc = int(((ln.list_cents - ln.realised_cents) * q)[sel].sum())
        rev = int((ln.realised_cents * q)[sel].sum())
        cost = int((ln.cost_cents * q)[sel].sum())
        listed = int((ln.list_cents * q)[sel].sum())
        return {"lines": int(sel.sum()), "discount_cost_eur": disc / 100,
                "list_value_eur": listed / 100, "revenue_eur": rev / 100,
                "cost_eur": cost / 100, "margin_eur": (rev - cost) / 100,
                "discount_cost_cents": disc, "revenue_cents": rev}

    out = block(np.ones(q.size, dtype=bool))
    out["completed_orders_only"] = block(status == 0)
    out["definition"] = "sum over lines of (list_price - realised_price) * quantity"
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
        "spend_definition": "sum of completed order lines quantity * realised_price with "
                            "ordered_at in the outcome window",
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
