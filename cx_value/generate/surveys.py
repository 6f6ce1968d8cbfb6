"""Survey questionnaires and their scores (NPS, CSAT, CES, expectation) by stage and band."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cx_value.generate.params import BANDS, Params
from cx_value.generate.text import HOUR

# touchpoint -> (stage, questions asked, in this order)
TOUCHPOINTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "brand_survey": ("awareness", ("nps",)),
    "deal_followup": ("consideration", ("nps",)),
    "order_confirmation": ("purchase", ("nps", "csat", "expectation")),
    "onboarding_check": ("onboarding", ("nps", "csat", "ces", "expectation")),
    "relationship_survey": ("usage", ("nps",)),
    "in_app_pulse": ("usage", ("nps",)),
    "ticket_closed": ("service", ("nps", "csat", "ces", "expectation")),
    "renewal_decision": ("renewal", ("nps",)),
}
TOUCHPOINT_NAMES: tuple[str, ...] = tuple(TOUCHPOINTS)
TP = {name: i for i, name in enumerate(TOUCHPOINT_NAMES)}
QUESTIONS: tuple[str, ...] = ("nps", "csat", "ces", "expectation")
# expectation (1-5) before the touchpoint, per touchpoint that asks it
EXPECTATION_PMF: dict[str, tuple[float, ...]] = {
    "order_confirmation": (0.03, 0.10, 0.30, 0.40, 0.17),
    "onboarding_check": (0.02, 0.06, 0.25, 0.45, 0.22),
    "ticket_closed": (0.03, 0.08, 0.27, 0.42, 0.20),
}
GAP_STEPS = np.arange(-4, 5)
GAP_SD = 0.9
DETRACTOR_DIGIT_WEIGHTS = np.array([1, 1, 1, 2, 2, 3, 4], dtype=float)
COMMENTS = {
    "detractor": ("Too slow.", "Nobody called me back.", "Price went up again.",
                  "Hard to find anything.", "Disappointed."),
    "passive": ("OK overall.", "Fine, nothing special.", "Does the job."),
    "promoter": ("Great service!", "Very helpful staff.", "Easy and quick.",
                 "Recommended to colleagues."),
}


def _discrete_normal(values: np.ndarray, mean: float, sd: float) -> np.ndarray:
    w = np.exp(-0.5 * ((values - mean) / sd) ** 2)
    return w / w.sum()


def gap_pmf(mu: float) -> np.ndarray:
    """Distribution of csat - expectation before clipping, on GAP_STEPS."""
    return _discrete_normal(GAP_STEPS.astype(float), mu, GAP_SD)


def expected_gap(expectation_pmf: np.ndarray, mu: float) -> float:
    """E[clip(e + d, 1, 5) - e] for e ~ expectation_pmf and d ~ gap_pmf(mu)."""
    e = np.arange(1, 6)
    d = gap_pmf(mu)
    csat = np.clip(e[:, None] + GAP_STEPS[None, :], 1, 5)
    return float((expectation_pmf[:, None] * d[None, :] * (csat - e[:, None])).sum())


def calibrate_gap_means(params: Params) -> dict[str, float]:
    """Per touchpoint, the gap mean mu so that the band-mixed expected gap hits the target."""
    sp = params.surveys
    shares = np.asarray(params.band_shares)
    shift = np.asarray([sp.gap_band_shift[b] for b in BANDS])
    out = {}
    for tp, target in sp.expectation_gap.items():
        pmf = np.asarray(EXPECTATION_PMF[tp])

        def mixed(mu: float, pmf: np.ndarray = pmf) -> float:
            return sum(s * expected_gap(pmf, mu + sh) for s, sh in zip(shares, shift, strict=True))

        lo, hi = -5.0, 5.0
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            if mixed(mid) < target:
                lo = mid
            else:
                hi = mid
        out[tp] = 0.5 * (lo + hi)
    return out


def ces_pmf(mean: float, sd: float) -> np.ndarray:
    """Distribution of the true CES on 1..7."""
    return _discrete_normal(np.arange(1, 8, dtype=float), mean, sd)


@dataclass
class Questionnaires:
    """One answered questionnaire per row; scores -1 where the question is not asked."""

    customer: np.ndarray
    touchpoint: np.ndarray  # code into TOUCHPOINT_NAMES
    sent: np.ndarray
    answered: np.ndarray
    anchor: np.ndarray  # time that decides whether a churned subscriber still gets it
    term: np.ndarray  # renewal_decision: potential term index; else -1
    nps: np.ndarray
    csat: np.ndarray
    ces: np.ndarray
    expectation: np.ndarray
    legacy: np.ndarray  # CES asked on the legacy (reversed) questionnaire
    band: np.ndarray

    def subset(self, keep: np.ndarray) -> Questionnaires:
        """The questionnaires selected by a mask or index array."""
        return Questionnaires(**{k: v[keep] for k, v in self.__dict__.items()})

    @staticmethod
    def concat(parts: list[Questionnaires]) -> Questionnaires:
        """Stack several sets of questionnaires."""
        return Questionnaires(**{k: np.concatenate([getattr(p, k) for p in parts])
                                 for k in Questionnaires.__dataclass_fields__})


@dataclass(frozen=True)
class SurveyDesign:
    """Calibrated distributions used to draw scores."""

    gap_mu: dict[str, float]


def _nps_digit(rng: np.random.Generator, cls: np.ndarray) -> np.ndarray:
    """A 0-10 answer within class (0 detractor, 1 passive, 2 promoter)."""
    n = cls.size
    det = rng.choice(7, size=n, p=DETRACTOR_DIGIT_WEIGHTS / DETRACTOR_DIGIT_WEIGHTS.sum())
    two = rng.integers(0, 2, size=n)
    return np.select([cls == 0, cls == 1], [det, 7 + two], 9 + two).astype(np.int8)


def nps_probabilities(params: Params, stage: str) -> tuple[np.ndarray, np.ndarray]:
    """(P promoter, P detractor) by band code for one stage."""
    table = params.surveys.stage_nps[stage]
    return (np.asarray([table[b][0] for b in BANDS]), np.asarray([table[b][1] for b in BANDS]))


def _categorical(rng: np.random.Generator, pmf_rows: np.ndarray, which: np.ndarray) -> np.ndarray:
    """Draw one category per row from pmf_rows[which]."""
    cdf = np.cumsum(pmf_rows, axis=1)
    u = rng.random(which.size)
    return (u[:, None] >= cdf[which]).sum(axis=1)


def questionnaires(touchpoint: str, customer: np.ndarray, sent: np.ndarray,
                   band: np.ndarray, params: Params, design: SurveyDesign,
                   rng: np.random.Generator, anchor: np.ndarray | None = None,
                   term: np.ndarray | None = None) -> Questionnaires:
    """Draw answers for questionnaires sent at one touchpoint (all of them answered)."""
    stage, asked = TOUCHPOINTS[touchpoint]
    sp = params.surveys
    n = customer.size
    delay_h = np.minimum(np.exp(np.log(20.0) + 1.2 * rng.standard_normal(n)), 14 * 24)
    answered = sent + np.maximum(np.rint(delay_h * HOUR), 60).astype(np.int64)
    none = np.full(n, -1, dtype=np.int8)
    if touchpoint == "relationship_survey":
        cls = band.astype(np.int8)
    else:
        p_prom, p_det = nps_probabilities(params, stage)
        u = rng.random(n)
        cls = np.where(u < p_prom[band], 2, np.where(u < p_prom[band] + p_det[band], 0, 1))
    nps = _nps_digit(rng, cls)
    csat = expectation = ces = none
    if "expectation" in asked:
        e_pmf = np.asarray(EXPECTATION_PMF[touchpoint])
        e = 1 + _categorical(rng, e_pmf[None, :], np.zeros(n, dtype=np.int64))
        shift = np.asarray([sp.gap_band_shift[b] for b in BANDS])
        d_rows = np.stack([gap_pmf(design.gap_mu[touchpoint] + s) for s in shift])
        d = GAP_STEPS[_categorical(rng, d_rows, band.astype(np.int64))]
        expectation = e.astype(np.int8)
        csat = np.clip(e + d, 1, 5).astype(np.int8)
    if "ces" in asked:
        rows = np.stack([ces_pmf(sp.ces_mean[b], sp.ces_sd) for b in BANDS])
        ces = (1 + _categorical(rng, rows, band.astype(np.int64))).astype(np.int8)
    legacy = (rng.random(n) < sp.ces_legacy_share) if "ces" in asked else np.zeros(n, bool)
    return Questionnaires(
        customer=customer, touchpoint=np.full(n, TP[touchpoint], np.int8), sent=sent,
        answered=answered, anchor=sent if anchor is None else anchor,
        term=np.full(n, -1, np.int8) if term is None else term.astype(np.int8),
        nps=nps, csat=csat, ces=ces, expectation=expectation, legacy=legacy,
        band=band.astype(np.int8),
    )


def sent_after(base: np.ndarray, lo_s: int, hi_s: int, rng: np.random.Generator) -> np.ndarray:
    """Send times a random delay in [lo_s, hi_s) after ``base``."""
    return base + rng.integers(lo_s, hi_s, size=base.size)


def respond(rng: np.random.Generator, n: int, rate: float) -> np.ndarray:
    """Which of ``n`` sent questionnaires are answered."""
    return rng.random(n) < rate


