"""Non-contractual CLV helpers: published CDNOW fits, closed forms, planted-parameter recovery."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cx_value.clv import (
    WEEKS_PER_MONTH,
    BGNBDParams,
    bgnbd,
    discounted_clv,
    expected_purchases_by_month,
    gamma_gamma,
    simulate_bgnbd,
)
from cx_value.clv.simulate import simulate_mean_spend

CDNOW = Path(__file__).resolve().parents[1] / "data" / "cdnow"
PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_GG = {"p": 6.25, "q": 3.74, "gamma": 15.44}
CALIBRATION_END = pd.Timestamp("1997-09-30")


@pytest.fixture(scope="module")
def summary() -> pd.DataFrame:
    return pd.read_csv(CDNOW / "cdnow_customers_summary.csv")


@pytest.fixture(scope="module")
def spend_summary() -> pd.DataFrame:
    return pd.read_csv(CDNOW / "cdnow_customers_summary_with_transactions.csv")


@pytest.fixture(scope="module")
def bg_fit(summary: pd.DataFrame) -> BGNBDParams:
    return bgnbd.fit(summary["frequency"], summary["recency"], summary["T"])


def _repeat_spend_from_transactions() -> pd.DataFrame:
    """x and the unrounded mean repeat spend of each sample customer in the calibration period.

    Purchases on the same day count as one transaction, as in the papers.
    """
    tx = pd.read_csv(CDNOW / "CDNOW_sample.txt", sep=r"\s+", header=None,
                     names=["master_id", "customer_id", "date", "cds", "dollars"])
    tx["date"] = pd.to_datetime(tx["date"].astype(str), format="%Y%m%d")
    daily = (tx[tx["date"] <= CALIBRATION_END]
             .groupby(["customer_id", "date"], as_index=False)["dollars"].sum())
    first = daily.groupby("customer_id")["date"].transform("min")
    repeats = daily[daily["date"] > first]
    return repeats.groupby("customer_id")["dollars"].agg(x="count", m_x="mean")


def test_bgnbd_reproduces_published_cdnow_fit(summary: pd.DataFrame,
                                              bg_fit: BGNBDParams) -> None:
    assert len(summary) == 2357
    for name, published in PUBLISHED_BGNBD.items():
        assert round(getattr(bg_fit, name), 3) == published, name
    assert round(bg_fit.log_likelihood, 1) == -9582.4
    assert bg_fit.n_customers == 2357
    assert bg_fit.n_distinct < 2357


def test_bgnbd_standard_errors_are_finite_and_small(bg_fit: BGNBDParams) -> None:
    se = bg_fit.se_array()
    assert np.all(np.isfinite(se)) and np.all(se > 0)
    assert np.all(se < bg_fit.as_array())


def test_log_likelihood_matches_the_direct_formula(summary: pd.DataFrame) -> None:
    """The log-space form equals the likelihood written out directly (small x, no overflow)."""
    from scipy.special import beta, gamma

    r, alpha, a, b = 0.243, 4.414, 0.793, 2.426
    x, t_x, t_cal = (summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    common = gamma(r + x) * alpha**r / gamma(r)
    direct = (beta(a, b + x) / beta(a, b) * common / (alpha + t_cal) ** (r + x)
              + (x > 0) * beta(a + 1, b + np.maximum(x, 1) - 1) / beta(a, b) * common
              / (alpha + t_x) ** (r + x))
    np.testing.assert_allclose(bgnbd.log_likelihood(r, alpha, a, b, x, t_x, t_cal),
                               np.log(direct), rtol=1e-10)


def test_collapsed_and_uncollapsed_fits_agree(summary: pd.DataFrame,
                                              bg_fit: BGNBDParams) -> None:
    """Weights of 1 on every row, and counts of distinct rows, give the same estimates."""
    rows = summary[["frequency", "recency", "T"]]
    distinct = rows.value_counts().reset_index(name="n")
    from_counts = bgnbd.fit(distinct["frequency"], distinct["recency"], distinct["T"],
                            weights=distinct["n"])
    np.testing.assert_allclose(from_counts.as_array(), bg_fit.as_array(), rtol=1e-6)
    # Duplicating every customer doubles the weights but not the estimates.
    doubled = pd.concat([rows, rows])
    twice = bgnbd.fit(doubled["frequency"], doubled["recency"], doubled["T"])
    np.testing.assert_allclose(twice.as_array(), bg_fit.as_array(), rtol=1e-6)
    np.testing.assert_allclose(twice.log_likelihood, 2 * bg_fit.log_likelihood, rtol=1e-9)


def test_conditional_expectation_matches_published_value(bg_fit: BGNBDParams) -> None:
    value = bgnbd.conditional_expected_purchases(bg_fit, 39, 2, 30.43, 38.86)
    assert round(float(value), 3) == 1.226


def test_p_alive_is_one_without_repeat_purchases(bg_fit: BGNBDParams) -> None:
    alive = bgnbd.p_alive(bg_fit, np.zeros(3), np.zeros(3), np.array([1.0, 30.0, 38.86]))
    np.testing.assert_array_equal(alive, 1.0)
    # A long silence after frequent buying makes a customer less likely to be alive.
    recent, silent = bgnbd.p_alive(bg_fit, [5, 5], [38.0, 10.0], [38.86, 38.86])
    assert 0 < silent < recent < 1


def test_expected_purchases_of_a_new_customer(bg_fit: BGNBDParams) -> None:
    """E[X(t)] is increasing, 0 at t = 0, and equals E[Y(t) | x = 0, t_x = 0, T = 0]."""
    t = np.array([0.0, 1.0, 39.0, 78.0])
    ex = bgnbd.expected_purchases(bg_fit, t)
    assert ex[0] == 0 and np.all(np.diff(ex) > 0)
    np.testing.assert_allclose(bgnbd.conditional_expected_purchases(bg_fit, t, 0, 0, 0), ex,
                               rtol=1e-12, atol=1e-15)


def test_gamma_gamma_on_published_summary(spend_summary: pd.DataFrame) -> None:
    """The summary file's spend is rounded to cents, which moves gamma by 0.004.

    p and q match the published figures to 2 dp; gamma comes out at 15.448 and is
    held to within 0.01 of 15.44. The next test fits the unrounded spend.
    """
    fit = gamma_gamma.fit(spend_summary["x"], spend_summary["zbar"])
    assert fit.n_customers == 946
    assert round(fit.p, 2) == PUBLISHED_GG["p"]
    assert round(fit.q, 2) == PUBLISHED_GG["q"]
    assert abs(fit.gamma - PUBLISHED_GG["gamma"]) < 0.01
    assert np.all(np.isfinite(fit.se_array())) and np.all(fit.se_array() > 0)


def test_gamma_gamma_reproduces_published_fit_from_transactions(
        spend_summary: pd.DataFrame) -> None:
    spend = _repeat_spend_from_transactions()
    repeaters = spend_summary[spend_summary["x"] > 0].set_index("ID")
    assert len(spend) == 946
    np.testing.assert_array_equal(spend["x"].reindex(repeaters.index), repeaters["x"])
    np.testing.assert_allclose(spend["m_x"].reindex(repeaters.index), repeaters["zbar"],
                               atol=0.005 + 1e-9)
    fit = gamma_gamma.fit(spend["x"], spend["m_x"])
    for name, published in PUBLISHED_GG.items():
        assert round(getattr(fit, name), 2) == published, name


def test_conditional_expected_spend_shrinks_towards_population_mean() -> None:
    params = gamma_gamma.GammaGammaParams(p=6.25, q=3.74, gamma=15.44)
    population = params.p * params.gamma / (params.q - 1)
    spend = gamma_gamma.conditional_expected_spend(params, [0, 1, 10, 1000], [0, 60, 60, 60])
    assert spend[0] == pytest.approx(population)
    assert population < spend[1] < spend[2] < spend[3] < 60
    assert spend[3] == pytest.approx(60, rel=1e-2)


def test_heavy_tailed_spend_has_no_mean_for_one_time_buyers() -> None:
    """q <= 1: the population mean p·gamma/(q-1) is infinite; a repeat buyer's posterior
    mean (gamma + m·x)·p/(p·x + q - 1) is still finite, worked by hand here."""
    params = gamma_gamma.GammaGammaParams(p=2.0, q=0.8, gamma=10.0)
    spend = gamma_gamma.conditional_expected_spend(params, [0, 3], [0, 20])
    assert np.isnan(spend[0])
    assert spend[1] == pytest.approx((10 + 20 * 3) * 2 / (2 * 3 + 0.8 - 1))


def test_a_fit_with_q_at_most_one_is_not_identified() -> None:
    """Spend scales drawn with q = 0.6 (infinite mean): the fit says so."""
    rng = np.random.default_rng(5)
    planted = gamma_gamma.GammaGammaParams(p=4.0, q=0.6, gamma=2.0)
    x = rng.integers(1, 8, size=4000).astype(float)
    m_x = simulate_mean_spend(planted, x, rng)
    fitted = gamma_gamma.fit(x, m_x)
    assert fitted.q <= 1
    assert not fitted.is_identified
    assert fitted.warning is not None and "infinite" in fitted.warning


def test_discounted_clv(bg_fit: BGNBDParams) -> None:
    x, t_x, t_cal = np.array([0.0, 2.0, 10.0]), np.array([0.0, 30.43, 38.0]), np.full(3, 38.86)
    monthly = expected_purchases_by_month(bg_fit, x, t_x, t_cal, months=12)
    assert monthly.shape == (3, 12) and np.all(monthly > 0)
    np.testing.assert_allclose(
        monthly.sum(axis=1),
        bgnbd.conditional_expected_purchases(bg_fit, 12 * WEEKS_PER_MONTH, x, t_x, t_cal))
    spend = np.array([35.0, 25.0, 40.0])
    undiscounted = discounted_clv(bg_fit, x, t_x, t_cal, spend, monthly_discount_rate=0.0)
    np.testing.assert_allclose(undiscounted, spend * monthly.sum(axis=1))
    value = discounted_clv(bg_fit, x, t_x, t_cal, spend, margin=0.3)
    expected = 0.3 * spend * (monthly / 1.01 ** np.arange(1, 13)).sum(axis=1)
    np.testing.assert_allclose(value, expected)
    assert np.all(value < 0.3 * undiscounted)


def test_bgnbd_recovers_planted_parameters() -> None:
    """100,000 customers drawn with the CDNOW parameters: each lies within 1.96 SE."""
    true = BGNBDParams(**PUBLISHED_BGNBD)
    rng = np.random.default_rng(20050301)
    t_cal = rng.uniform(26.0, 78.0, size=100_000)
    x, t_x = simulate_bgnbd(true, t_cal, rng)
    fit = bgnbd.fit(x, t_x, t_cal)
    z = (fit.as_array() - true.as_array()) / fit.se_array()
    assert np.all(np.abs(z) < 1.96), dict(zip(("r", "alpha", "a", "b"), z, strict=True))


def test_fit_rejects_impossible_histories() -> None:
    with pytest.raises(ValueError, match="t_x"):
        bgnbd.fit([1, 2], [5.0, 12.0], [10.0, 10.0])
    with pytest.raises(ValueError, match="positive"):
        gamma_gamma.fit([1, 2], [0.0, 12.0])


# ------------------------------------------------------------------ diagnostics


def test_cdnow_fits_are_converged_and_identified(bg_fit: BGNBDParams,
                                                 spend_summary: pd.DataFrame) -> None:
    assert bg_fit.converged and bg_fit.is_identified and bg_fit.warning is None
    spend = gamma_gamma.fit(spend_summary["x"], spend_summary["zbar"])
    assert spend.converged and spend.is_identified and spend.warning is None


def _planted(a: float, b: float, customers: int, seed: int) -> BGNBDParams:
    """BG/NBD fitted to customers simulated with CDNOW's purchase rates and dropout
    Beta(a, b), observed 26-78 weeks, last purchases recorded to the day."""
    rng = np.random.default_rng(seed)
    t_cal = rng.uniform(26.0, 78.0, size=customers)
    true = BGNBDParams(r=0.243, alpha=4.414, a=a, b=b)
    x, t_x = simulate_bgnbd(true, t_cal, rng, resolution=1 / 7)
    assert bgnbd.sample_shortfall(x) is None  # plenty of data: the model is the problem
    return bgnbd.fit(x, t_x, t_cal)


def test_rare_dropout_is_not_identified() -> None:
    """Dropout after a repeat purchase with mean probability 0.001 (a 0.02, b 20): in 2,000
    customers observed for at most 78 weeks hardly anyone drops out, so the data cannot
    say how dropout varies. The fit lands on a 0.051 with SE 0.100 and b 13.2 with SE
    34.7 (seed 1), like the retailer's a 0.0034 (SE 0.0103), b 6.75 (SE 22.2); the
    purchase process stays identified."""
    fit = _planted(a=0.02, b=20.0, customers=2000, seed=1)
    assert fit.converged
    assert not fit.is_identified
    assert fit.a_se > fit.a and fit.b_se > fit.b
    assert fit.r_se < fit.r and fit.alpha_se < fit.alpha
    assert fit.warning is not None
    assert fit.warning.startswith("BG/NBD dropout (a, b) not identified: SE of a ")
    assert "P(alive) and CLV are unreliable" in fit.warning
    assert "purchase rate" not in fit.warning


def test_dropout_running_off_to_zero_is_not_identified() -> None:
    """With dropout probability mean 0.0002 (a 0.001, b 5) the likelihood keeps rising as
    a falls: a runs onto the optimiser's box (e^-15) and is reported as running off."""
    fit = _planted(a=0.001, b=5.0, customers=1500, seed=3)
    assert not fit.is_identified
    assert fit.a < 1e-6
    assert fit.warning is not None and "a ran off towards 0" in fit.warning


def test_identification_rule_by_hand() -> None:
    from cx_value.clv._numerics import ParameterGroup, assess_identification

    groups = (ParameterGroup("first (x)", ("x",), "X is unreliable"),
              ParameterGroup("second (y, z)", ("y", "z"), "Y is unreliable"))
    names = ("x", "y", "z")
    estimate = np.array([1.0, 2.0, 3.0])
    inside = np.zeros(3, dtype=np.int64)
    fine = assess_identification("M", names, estimate, np.array([0.5, 2.0, 1.0]), inside,
                                 True, groups)
    assert fine.is_identified and fine.warning is None  # SE equal to the estimate is allowed
    wide = assess_identification("M", names, estimate, np.array([1.5, np.nan, 1.0]), inside,
                                 True, groups)
    assert not wide.is_identified
    assert wide.warning == (
        "M first (x) not identified: SE of x 1.5 exceeds its estimate 1; X is unreliable. "
        "M second (y, z) not identified: SE of y cannot be computed (singular "
        "information); Y is unreliable")
    bound = assess_identification("M", names, estimate, np.array([0.1, 0.1, 0.1]),
                                  np.array([0, 0, 1]), True, groups)
    assert bound.warning == ("M second (y, z) not identified: z ran off towards infinity "
                             "(3); Y is unreliable")
    stalled = assess_identification("M", names, estimate, np.array([0.1, 0.1, 0.1]), inside,
                                    False, groups)
    assert not stalled.is_identified
    assert stalled.warning == ("M not identified: the optimiser did not converge; "
                               "X is unreliable; Y is unreliable")


def test_minimum_samples() -> None:
    x = np.array([0] * 20 + [1] * 20)
    assert bgnbd.sample_shortfall(x) is None
    assert bgnbd.sample_shortfall(x[1:]) == (
        "needs at least 40 customers of whom 20 repeat buyers, found 39 customers and 20 "
        "repeat buyers")
    assert bgnbd.sample_shortfall(np.zeros(500)) is not None  # nobody bought twice
    assert bgnbd.sample_shortfall([0, 1], weights=[20, 20]) is None
    assert bgnbd.sample_shortfall([]) is not None
    m_x = np.where(x > 0, 10.0, np.nan)
    assert gamma_gamma.sample_shortfall(x, m_x) == (
        "needs at least 30 repeat buyers with a positive mean spend, found 20")
    assert gamma_gamma.sample_shortfall(np.ones(30), np.full(30, 5.0)) is None
    # A repeat buyer whose repeat days had no revenue carries no spend information.
    assert gamma_gamma.sample_shortfall(np.ones(30), np.r_[0.0, np.full(29, 5.0)]) is not None


def test_a_customer_s_clv_does_not_depend_on_the_order_of_the_rows():
    # the warehouse hands rows over in any order: each customer's figure must be the
    # same to the bit wherever its row falls
    rng = np.random.default_rng(5)
    n = 2_003
    x = rng.integers(0, 20, n).astype(float)
    t_cal = rng.uniform(1, 80, n)
    t_x = np.where(x > 0, t_cal * rng.uniform(0, 1, n), 0.0)
    spend = rng.uniform(5, 200, n)
    params = BGNBDParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
    first = discounted_clv(params, x, t_x, t_cal, spend)
    order = rng.permutation(n)
    again = discounted_clv(params, x[order], t_x[order], t_cal[order], spend[order])
    assert np.array_equal(first[order], again)
