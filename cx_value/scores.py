"""Survey scores: NPS, CSAT and CES, with their intervals and sample-size flag.

Definitions follow DOMAIN §2 and ``DECISIONLOG.md`` ("Survey scores"). Every
function here has an SQL twin in ``macros/scores/`` and both are checked against
the hand-worked cases in ``seeds/fixtures/score_cases.csv``:

=============================  =======================================================
Python                         SQL macro
=============================  =======================================================
``nps``                        ``cx_nps``
``nps_variance``               ``cx_nps_variance``
``nps_interval``               ``cx_nps_adjusted``, ``cx_nps_lower``, ``cx_nps_upper``
``nps_change_z``               ``cx_nps_change_z``, ``cx_nps_change_is_significant``
``csat_share``, ``ces_share``  ``cx_csat_share``, ``cx_ces_share``
``wilson_interval``            ``cx_wilson_lower``, ``cx_wilson_upper``
``score_mean``                 ``cx_score_mean``
``is_too_small``               ``cx_is_too_small``
``z_value``                    ``cx_z_value`` (lookup: 0.80, 0.90, 0.95, 0.99)
=============================  =======================================================

The count functions accept scalars or numpy arrays (broadcast against each
other) and return floats or float arrays; a score over no answers (n = 0) is
NaN, the Python spelling of SQL's null.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from scipy.stats import norm

ArrayLike = npt.ArrayLike
FloatArray = np.float64 | npt.NDArray[np.float64]

NPS_SCALE = (0, 10)
CSAT_SCALE = (1, 5)
CES_SCALE = (1, 7)
CSAT_SATISFIED_FROM = 4
CES_EASY_FROM = 5
MIN_SAMPLE_SIZE = 30
SIGNIFICANT_Z = 1.96


class NpsCounts(NamedTuple):
    """Answers of an NPS question by class."""

    promoters: int
    passives: int
    detractors: int
    n: int


class NpsInterval(NamedTuple):
    """Adjusted-Wald NPS (Rocks 2016) and its bounds, on the -100…100 scale."""

    nps_adjusted: FloatArray
    lower: FloatArray
    upper: FloatArray


class NpsChange(NamedTuple):
    """Two-sample z of an NPS change and whether |z| exceeds the critical value."""

    z: FloatArray
    is_significant: np.bool_ | npt.NDArray[np.bool_]


class ShareAndMean(NamedTuple):
    """Share of the top answers in %, mean score, and the number of answers."""

    share: float
    mean: float
    n: int


class WilsonInterval(NamedTuple):
    """Wilson score interval of a share, in % (the scale of the shares here)."""

    lower: FloatArray
    upper: FloatArray


def z_value(confidence: float = 0.95) -> float:
    """Two-sided standard-normal critical value, e.g. 1.959963984540054 for 0.95."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence}")
    return float(norm.ppf(0.5 + confidence / 2.0))


def _as_float(values: ArrayLike) -> npt.NDArray[np.float64]:
    return np.asarray(values, dtype=np.float64)


def _scalar_or_array(values: npt.NDArray[np.float64]) -> FloatArray:
    return values[()] if values.ndim == 0 else values


def _scores(scores: ArrayLike, scale: tuple[int, int], name: str) -> npt.NDArray[np.float64]:
    """Answered scores as floats: NaN (not answered) dropped, the scale enforced."""
    values = np.ravel(_as_float(scores))
    values = values[~np.isnan(values)]
    low, high = scale
    bad = (values < low) | (values > high) | (values != np.round(values))
    if bad.any():
        raise ValueError(f"{name} scores must be whole numbers {low}-{high}; got {values[bad][:5]}")
    return values


def nps_counts(scores: ArrayLike) -> NpsCounts:
    """Count promoters (9-10), passives (7-8) and detractors (0-6) among 0-10 answers.

    NaN entries are unanswered and not counted; anything else outside 0-10 or
    not a whole number raises ``ValueError`` (staging rejects such answers).
    """
    values = _scores(scores, NPS_SCALE, "NPS")
    promoters = int(np.count_nonzero(values >= 9))
    detractors = int(np.count_nonzero(values <= 6))
    n = int(values.size)
    return NpsCounts(promoters, n - promoters - detractors, detractors, n)


def nps(promoters: ArrayLike, detractors: ArrayLike, n: ArrayLike) -> FloatArray:
    """Net Promoter Score 100 · (P - D) / n, in -100…100; NaN when n = 0."""
    p, d, total = _as_float(promoters), _as_float(detractors), _as_float(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        result = np.where(total > 0, 100.0 * (p - d) / total, np.nan)
    return _scalar_or_array(result)


def nps_variance(p_count: ArrayLike, d_count: ArrayLike, n: ArrayLike) -> FloatArray:
    """Variance of the proportion difference p - d: (p + d - (p - d)²) / n.

    Takes counts and works on proportions (p = P/n, d = D/n), so the result is
    on the proportion scale: multiply its square root by 100 for NPS points.
    NaN when n = 0.
    """
    p_c, d_c, total = _as_float(p_count), _as_float(d_count), _as_float(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        p, d = p_c / total, d_c / total
        result = np.where(total > 0, (p + d - (p - d) ** 2) / total, np.nan)
    return _scalar_or_array(result)


def _adjusted(
    promoters: ArrayLike, detractors: ArrayLike, n: ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Adjusted-Wald difference p' - d' and its variance (proportion scale), and n."""
    p_c, d_c, total = _as_float(promoters), _as_float(detractors), _as_float(n)
    n_adj = total + 3.0
    p_adj = (p_c + 0.75) / n_adj
    d_adj = (d_c + 0.75) / n_adj
    diff = p_adj - d_adj
    variance = (p_adj + d_adj - diff**2) / n_adj
    return diff, variance, total


def nps_interval(
    promoters: ArrayLike, detractors: ArrayLike, n: ArrayLike, confidence: float = 0.95
) -> NpsInterval:
    """Adjusted-Wald NPS interval (Rocks 2016, *The American Statistician*).

    n' = n + 3, p' = (P + ¾)/n', d' = (D + ¾)/n';
    NPS' = 100 · (p' - d') and NPS' ± z · 100 · √((p' + d' - (p' - d')²)/n').

    The bounds are clipped to -100…100, the range an NPS can take; the centre
    ``nps_adjusted`` is never clipped (it always lies inside). All three are NaN
    when n = 0: the adjustment alone would otherwise report an interval for a
    question nobody answered.
    """
    diff, variance, total = _adjusted(promoters, detractors, n)
    half_width = z_value(confidence) * np.sqrt(variance)
    empty = ~(total > 0)
    centre = np.where(empty, np.nan, 100.0 * diff)
    lower = np.where(empty, np.nan, np.clip(100.0 * (diff - half_width), -100.0, 100.0))
    upper = np.where(empty, np.nan, np.clip(100.0 * (diff + half_width), -100.0, 100.0))
    return NpsInterval(_scalar_or_array(centre), _scalar_or_array(lower), _scalar_or_array(upper))


def nps_change_z(
    promoters_1: ArrayLike,
    detractors_1: ArrayLike,
    n_1: ArrayLike,
    promoters_2: ArrayLike,
    detractors_2: ArrayLike,
    n_2: ArrayLike,
    critical: float = SIGNIFICANT_Z,
) -> NpsChange:
    """Two-sample z of NPS₁ - NPS₂ for independent periods or segments.

    z = (NPS'₁ - NPS'₂) / √(Var'₁ + Var'₂) with the adjusted-Wald quantities of
    ``nps_interval``, difference and variances both on the proportion scale (the
    x100 cancels). ``is_significant`` is |z| > ``critical`` (1.96); z is NaN and
    the flag False when either n is 0, as there is no evidence of a change.
    """
    diff_1, var_1, total_1 = _adjusted(promoters_1, detractors_1, n_1)
    diff_2, var_2, total_2 = _adjusted(promoters_2, detractors_2, n_2)
    z = np.where((total_1 > 0) & (total_2 > 0), (diff_1 - diff_2) / np.sqrt(var_1 + var_2), np.nan)
    flag = np.abs(z) > critical  # NaN compares False
    return NpsChange(_scalar_or_array(z), flag[()] if flag.ndim == 0 else flag)


def share(successes: ArrayLike, n: ArrayLike) -> FloatArray:
    """Share of successes in %, 100 · s / n; NaN when n = 0.

    The CSAT share (answers 4-5 of 1-5) and the CES share (answers 5-7 of 1-7)
    are this share of their counts.
    """
    s, total = _as_float(successes), _as_float(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        result = np.where(total > 0, 100.0 * s / total, np.nan)
    return _scalar_or_array(result)


def score_mean(score_sum: ArrayLike, n: ArrayLike) -> FloatArray:
    """Mean score from the sum of scores and the number of answers; NaN when n = 0."""
    s, total = _as_float(score_sum), _as_float(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        result = np.where(total > 0, s / total, np.nan)
    return _scalar_or_array(result)


def csat_share(satisfied: ArrayLike, n: ArrayLike) -> FloatArray:
    """CSAT share in %: answers 4-5 (``satisfied``) among n answers on 1-5."""
    return share(satisfied, n)


def ces_share(easy: ArrayLike, n: ArrayLike) -> FloatArray:
    """CES share in %: answers 5-7 (``easy``) among n answers on 1-7."""
    return share(easy, n)


def _share_and_mean(
    scores: ArrayLike, scale: tuple[int, int], top_from: int, name: str
) -> ShareAndMean:
    values = _scores(scores, scale, name)
    n = int(values.size)
    top = int(np.count_nonzero(values >= top_from))
    return ShareAndMean(float(share(top, n)), float(score_mean(values.sum(), n)), n)


def csat(scores: ArrayLike) -> ShareAndMean:
    """CSAT of 1-5 answers: share of 4 and 5 in %, mean score, n (NaN scores skipped)."""
    return _share_and_mean(scores, CSAT_SCALE, CSAT_SATISFIED_FROM, "CSAT")


def ces(scores: ArrayLike) -> ShareAndMean:
    """CES of 1-7 answers (7 = very easy): share of 5-7 in %, mean score, n."""
    return _share_and_mean(scores, CES_SCALE, CES_EASY_FROM, "CES")


def wilson_interval(successes: ArrayLike, n: ArrayLike, confidence: float = 0.95) -> WilsonInterval:
    """Wilson score interval of the share s / n, in % (0…100); NaN when n = 0.

    With p = s/n and z the two-sided critical value:
    centre = (p + z²/2n) / (1 + z²/n),
    half = z / (1 + z²/n) · √(p(1 - p)/n + z²/4n²).
    """
    s, total = _as_float(successes), _as_float(n)
    z = z_value(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = s / total
        denominator = 1.0 + z**2 / total
        centre = (p + z**2 / (2.0 * total)) / denominator
        half = z / denominator * np.sqrt(p * (1.0 - p) / total + z**2 / (4.0 * total**2))
        empty = ~(total > 0)
        lower = np.where(empty, np.nan, 100.0 * (centre - half))
        upper = np.where(empty, np.nan, 100.0 * (centre + half))
    return WilsonInterval(_scalar_or_array(lower), _scalar_or_array(upper))


def is_too_small(n: ArrayLike, minimum: int = MIN_SAMPLE_SIZE) -> np.bool_ | npt.NDArray[np.bool_]:
    """True where n is below ``minimum`` (30): show the score, flag it as too small to read."""
    result = _as_float(n) < minimum
    return result[()] if result.ndim == 0 else result
