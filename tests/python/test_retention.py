"""Contractual retention: published sBG fits, hand-worked values, DERL by summation, recovery."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from cx_value.clv import (
    SBGParams,
    fit_sbg,
    fit_sbg_durations,
    kaplan_meier,
    retention,
    sbg_churn_probability,
    sbg_discounted_expected_residual_lifetime,
    sbg_expected_residual_lifetime,
    sbg_renewal_probability,
    sbg_retention_rate,
    sbg_survival,
)

# Fader & Hardie (2007), "How to project customer retention", Table 1: customers of a
# 1,000-strong cohort still active at the start of years 1..8 (years 0..7 of tenure).
REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491]
# Their fits on these seven years of renewals (projected to years 8-12 in the paper).
PUBLISHED = {"regular": (0.704, 1.182), "high_end": (0.668, 3.806)}


@pytest.mark.parametrize(("counts", "segment"), [(REGULAR, "regular"), (HIGH_END, "high_end")])
def test_fader_hardie_2007_fits(counts: list[int], segment: str) -> None:
    fit = fit_sbg(counts)
    alpha, beta = PUBLISHED[segment]
    assert round(fit.alpha, 3) == alpha
    assert round(fit.beta, 3) == beta
    assert fit.n_customers == 1000
    assert np.all(np.isfinite(fit.se_array())) and np.all(fit.se_array() > 0)


def test_log_likelihood_by_hand_at_the_fit() -> None:
    fit = fit_sbg(REGULAR)
    counts = np.array(REGULAR, dtype=float)
    t = np.arange(1, 8)
    by_hand = float((counts[:-1] - counts[1:]) @ np.log(sbg_churn_probability(fit, t))
                    + counts[-1] * np.log(sbg_survival(fit, 7)))
    assert fit.log_likelihood == pytest.approx(by_hand, rel=1e-12)


def test_survival_and_churn_by_hand() -> None:
    # alpha = 2, beta = 3: S(1) = 3/5, S(2) = 3·4/(5·6) = 2/5, S(3) = 3·4·5/(5·6·7) = 2/7;
    # P(T = 1) = alpha/(alpha+beta) = 2/5, P(T = 2) = S(1) - S(2) = 1/5.
    p = SBGParams(alpha=2.0, beta=3.0)
    np.testing.assert_allclose(sbg_survival(p, [0, 1, 2, 3]), [1, 3 / 5, 2 / 5, 2 / 7], rtol=1e-13)
    np.testing.assert_allclose(sbg_churn_probability(p, [1, 2]), [2 / 5, 1 / 5], rtol=1e-13)
    # r_1 = 3/5, r_2 = 4/6, r_3 = 5/7.
    np.testing.assert_allclose(sbg_retention_rate(p, [1, 2, 3]), [3 / 5, 4 / 6, 5 / 7])
    # After two renewals the next one is r_3.
    assert sbg_renewal_probability(p, 2) == pytest.approx(5 / 7)


def test_retention_is_ratio_of_survival_and_probabilities_sum_to_one() -> None:
    p = SBGParams(alpha=0.704, beta=1.182)
    t = np.arange(1, 40)
    np.testing.assert_allclose(sbg_retention_rate(p, t),
                               sbg_survival(p, t) / sbg_survival(p, t - 1), rtol=1e-12)
    np.testing.assert_allclose(sbg_churn_probability(p, t).sum() + sbg_survival(p, 39), 1.0)


@pytest.mark.parametrize(("alpha", "beta", "renewals", "discount"), [
    (0.704, 1.182, 0, 0.10),
    (0.668, 3.806, 4, 0.10),
    (3.0, 2.0, 2, 0.01),
    (1.5, 10.0, 9, 0.25),
])
def test_derl_matches_direct_summation(alpha: float, beta: float, renewals: int,
                                       discount: float) -> None:
    # At the end of period n = renewals + 1 the payments still to come are at the ends of
    # periods n, n+1, ...; the one at the end of period t is made if T > t and is
    # discounted by (1+d)^-(t-n).
    p = SBGParams(alpha=alpha, beta=beta)
    n = renewals + 1
    t = np.arange(n, n + 5000)
    direct = np.sum(sbg_survival(p, t) / sbg_survival(p, n - 1) * (1 + discount) ** -(t - n))
    closed = sbg_discounted_expected_residual_lifetime(p, renewals, discount)
    assert closed == pytest.approx(direct, rel=1e-10)


def test_derl_is_vectorised_and_falls_with_the_discount_rate() -> None:
    p = SBGParams(alpha=0.704, beta=1.182)
    values = sbg_discounted_expected_residual_lifetime(p, np.array([0, 3, 6]), 0.1)
    assert values.shape == (3,) and np.all(np.diff(values) > 0)  # survivors are more loyal
    rates = sbg_discounted_expected_residual_lifetime(p, 2, np.array([0.05, 0.1, 0.2]))
    assert np.all(np.diff(rates) < 0)


def test_expected_residual_lifetime() -> None:
    p = SBGParams(alpha=3.0, beta=2.0)
    # Closed form (beta + n)/(alpha - 1), equal to DERL at d = 0 and to the long sum.
    assert sbg_expected_residual_lifetime(p, 4) == pytest.approx(3.0)
    assert sbg_discounted_expected_residual_lifetime(p, 4, 0.0) == pytest.approx(3.0)
    assert sbg_expected_residual_lifetime(p, 4, horizon=100_000) == pytest.approx(3.0, rel=1e-6)
    # Horizon 2 by hand from n = 1: r_2 + r_2 r_3 = 3/6 + 3/6 · 4/7 = 11/14.
    assert sbg_expected_residual_lifetime(p, 1, horizon=2) == pytest.approx(11 / 14)
    # alpha <= 1: the mean is infinite without a horizon, finite with one.
    q = SBGParams(alpha=0.704, beta=1.182)
    assert np.isinf(sbg_expected_residual_lifetime(q, 0))
    capped = sbg_expected_residual_lifetime(q, np.array([[0, 5], [5, 0]]), horizon=10)
    assert capped.shape == (2, 2) and capped[0, 0] == capped[1, 1] < capped[0, 1]
    t = np.arange(1, 11)
    assert capped[0, 0] == pytest.approx(sbg_survival(q, t).sum())


def test_kaplan_meier_by_hand() -> None:
    # Six customers: churned after 1, active after 2, churned after 3 (two of them),
    # active after 3, active after 5.
    #   t=1: 6 at risk, 1 churns          S = 5/6
    #   t=2: 5 at risk, 0 churn           S = 5/6
    #   t=3: 4 at risk, 2 churn           S = 5/6 · 2/4 = 5/12
    #   t=5: 1 at risk, 0 churn           S = 5/12
    km = kaplan_meier([1, 2, 3, 3, 3, 5], [True, False, True, True, False, False])
    expected = [Fraction(5, 6), Fraction(5, 6), Fraction(5, 12), Fraction(5, 12)]
    np.testing.assert_array_equal(km.times, [1, 2, 3, 5])
    np.testing.assert_array_equal(km.n_at_risk, [6, 5, 4, 1])
    np.testing.assert_array_equal(km.n_churned, [1, 0, 2, 0])
    np.testing.assert_array_equal(km.n_censored, [0, 1, 1, 1])
    np.testing.assert_allclose(km.survival, [float(f) for f in expected], rtol=1e-15)
    # Greenwood: Var S(3) = S(3)^2 (1/(6·5) + 2/(4·2)).
    assert km.se[2] == pytest.approx(5 / 12 * np.sqrt(1 / 30 + 1 / 4))
    np.testing.assert_allclose(km.at([0, 0.5, 1, 2.5, 3, 4, 10]),
                               [1, 1, 5 / 6, 5 / 6, 5 / 12, 5 / 12, 5 / 12])


def test_kaplan_meier_weights_equal_repeated_rows() -> None:
    a = kaplan_meier([1, 2, 2, 4], [True, False, True, True], weights=[3, 1, 2, 1])
    b = kaplan_meier([1, 1, 1, 2, 2, 2, 4], [True, True, True, False, True, True, True])
    np.testing.assert_allclose(a.survival, b.survival)


def test_durations_and_cohorts_give_the_same_fit() -> None:
    # Two cohorts: the regular segment (7 periods) and a younger one observed 4 periods.
    young = [500, 320, 240, 200, 170]
    joint = fit_sbg([REGULAR, young])
    rows_d, rows_c, rows_w = [], [], []
    for counts in (REGULAR, young):
        c = np.array(counts, dtype=float)
        n = c.size - 1
        rows_d += [*range(1, n + 1), n]
        rows_c += [True] * n + [False]
        rows_w += [*(c[:-1] - c[1:]), c[-1]]
    by_row = fit_sbg_durations(rows_d, rows_c, weights=rows_w)
    np.testing.assert_allclose(joint.as_array(), by_row.as_array(), rtol=1e-6)
    assert joint.log_likelihood == pytest.approx(by_row.log_likelihood, rel=1e-10)
    assert joint.n_customers == 1500


def test_invalid_counts_are_rejected() -> None:
    with pytest.raises(ValueError, match="non-increasing"):
        fit_sbg([100, 80, 90])
    with pytest.raises(ValueError, match="no churn"):
        fit_sbg([100, 100, 100])


def test_recovery_of_simulated_parameters() -> None:
    alpha, beta, periods = 0.9, 2.5, 10
    rng = np.random.default_rng(20070101)
    theta = rng.beta(alpha, beta, size=50_000)
    lifetime = rng.geometric(theta)  # period of churn, 1, 2, ...
    churned = lifetime <= periods
    duration = np.minimum(lifetime, periods)
    fit = fit_sbg_durations(duration, churned)
    assert abs(fit.alpha - alpha) < 1.96 * fit.alpha_se
    assert abs(fit.beta - beta) < 1.96 * fit.beta_se
    # The same data as cohort counts, and the model-free curve against the fitted one.
    alive = np.array([(lifetime > t).sum() for t in range(periods + 1)])
    np.testing.assert_allclose(fit_sbg(alive).as_array(), fit.as_array(), rtol=1e-6)
    km = kaplan_meier(duration, churned)
    t = np.arange(1, periods + 1)
    np.testing.assert_array_less(np.abs(km.at(t) - sbg_survival(fit, t)), 3 * km.se)


# ------------------------------------------------------------------ diagnostics


def test_published_fits_are_identified() -> None:
    for counts in (REGULAR, HIGH_END):
        fit = fit_sbg(counts)
        assert fit.converged and fit.is_identified and fit.warning is None


def test_two_observed_periods_leave_heterogeneity_unidentified() -> None:
    """The demo's contract outcomes (244 decided first terms, 136 renewed; 58 decided
    second terms, 35 renewed): two parameters reproduce the two retention rates exactly,
    but a homogeneous churn rate (alpha, beta -> infinity) fits almost as well (LR 0.41),
    so the SEs exceed the estimates (alpha 3.81, SE 6.38; beta 4.80, SE 8.28)."""
    durations = [0] * 57 + [1] * 78 + [1] * 108 + [2] * 35 + [2] * 23
    churned = [False] * 57 + [False] * 78 + [True] * 108 + [False] * 35 + [True] * 23
    assert retention.sbg_sample_shortfall(durations, churned) is None
    fit = fit_sbg_durations(durations, churned)
    assert fit.n_customers == 244
    assert round(fit.alpha, 2) == 3.81 and round(fit.beta, 2) == 4.80
    assert not fit.is_identified
    assert fit.warning is not None
    assert fit.warning.startswith("sBG churn distribution (alpha, beta) not identified: "
                                  "SE of alpha 6.38 exceeds its estimate 3.81")


def test_one_observed_period_is_not_identified() -> None:
    """Only the first renewal decided: the mean churn alpha / (alpha + beta) is known,
    alpha + beta is not; the likelihood is flat along it and the information singular."""
    fit = fit_sbg_durations([1] * 100, [True] * 40 + [False] * 60)
    assert fit.alpha / (fit.alpha + fit.beta) == pytest.approx(0.4, abs=1e-6)
    assert not fit.is_identified
    assert np.isnan(fit.alpha_se) and np.isnan(fit.beta_se)
    assert fit.warning is not None and "SE of alpha cannot be computed" in fit.warning


def test_sbg_minimum_sample() -> None:
    assert retention.sbg_sample_shortfall([1] * 20, [True] * 10 + [False] * 10) is None
    # nobody churned: alpha would go to 0
    assert "0 churned" in retention.sbg_sample_shortfall([1, 2, 3] * 10, [False] * 30)
    # everybody churned at the first renewal: beta would go to 0
    assert retention.sbg_sample_shortfall([1] * 30, [True] * 30) == (
        "needs at least 20 customers with a decided first term of whom 1 churned and 1 "
        "renewed, found 30 customers, 30 churned and 0 renewed")
    # a churn after a renewal counts as a renewal too
    assert retention.sbg_sample_shortfall([1] * 29 + [2], [True] * 30) is None
    # customers still in their first term (censored at 0) do not count
    assert retention.sbg_sample_shortfall([0] * 100 + [1] * 19,
                                          [False] * 110 + [True] * 9) is not None
    assert retention.sbg_sample_shortfall([], []) is not None
