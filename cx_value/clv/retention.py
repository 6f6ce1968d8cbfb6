"""Contractual retention: shifted-beta-geometric model and Kaplan-Meier survival.

Time runs in contract periods (years, months). Every customer of a cohort is
active in period 1; at the end of each period an active customer either renews or
churns. ``T`` is the period in which a customer churns, so ``T = t`` means t
payments were made and the renewal at the end of period t did not happen, and
``S(t) = P(T > t)`` is the share still active after t periods (t renewals).

**Shifted-beta-geometric (sBG)** (Fader & Hardie 2007, "How to project customer
retention", *Journal of Interactive Marketing* 21(1)): each customer churns at
the end of every period with a constant probability theta, and theta varies over
customers as Beta(alpha, beta). Then

    P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta),
    S(t)     = B(alpha, beta + t) / B(alpha, beta),
    r_t      = S(t) / S(t - 1) = (beta + t - 1) / (alpha + beta + t - 1),

and the retention rate r_t rises with t because the customers most likely to
churn leave first.

**Kaplan-Meier** is the model-free check: the product-limit estimate of S(t)
from individual (duration, churned) records with right-censoring, in the same
convention, so both curves can be drawn on one axis.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import betaln, digamma, hyp2f1
from scipy.stats import norm

from cx_value.clv._numerics import (
    ParameterGroup,
    assess_identification,
    minimise_mean_nll,
    standard_errors,
)

ArrayLike = np.ndarray | float | Sequence[float]

SBG_MIN_CUSTOMERS = 20
"""Fewest customers with a decided first term (a duration of at least one period) an sBG
fit is attempted on: ten per parameter. A customer censored at 0 adds nothing."""

SBG_MIN_CHURNED = 1
"""Fewest churned customers: with none, the likelihood pushes alpha to 0 (nobody churns)."""

SBG_MIN_RENEWED = 1
"""Fewest customers with a renewal: with none, every decided customer churned at the
first chance and beta goes to 0. Thin data beyond these minima leave large standard
errors, which the identification rule reports."""

SBG_PARAMETER_NAMES: tuple[str, ...] = ("alpha", "beta")

SBG_PARAMETER_GROUPS: tuple[ParameterGroup, ...] = (
    ParameterGroup("churn distribution (alpha, beta)", SBG_PARAMETER_NAMES,
                   "renewal probabilities beyond the observed terms, DERL and the projected "
                   "survival curve are unreliable"),
)


@dataclass(frozen=True)
class SBGParams:
    """sBG parameters, with fit statistics when they come from a fit.

    ``alpha``, ``beta``: the Beta distribution of the per-period churn probability
    theta (mean churn alpha / (alpha + beta)). ``*_se`` are asymptotic standard
    errors, ``n_customers`` the customers fitted (churned plus censored).
    ``converged``, ``is_identified`` and ``warning`` are the fit's diagnostics (as for
    BG/NBD); false and None for parameters that do not come from a fit.
    """

    alpha: float
    beta: float
    log_likelihood: float = float("nan")
    alpha_se: float = float("nan")
    beta_se: float = float("nan")
    n_customers: float = 0.0
    converged: bool = False
    is_identified: bool = False
    warning: str | None = None

    def as_array(self) -> np.ndarray:
        """(alpha, beta) as an array."""
        return np.array([self.alpha, self.beta])

    def se_array(self) -> np.ndarray:
        """Standard errors in the order of :meth:`as_array`."""
        return np.array([self.alpha_se, self.beta_se])


@dataclass(frozen=True)
class _Outcomes:
    """Counts per period: churned in period t (``churned``), censored after t (``censored``)."""

    t: np.ndarray
    churned: np.ndarray
    censored: np.ndarray


def _from_alive_counts(cohorts: Sequence[np.ndarray]) -> _Outcomes:
    n_max = max(c.size for c in cohorts) - 1
    churned = np.zeros(n_max + 1)
    censored = np.zeros(n_max + 1)
    for alive in cohorts:
        if alive.ndim != 1 or alive.size < 2:
            raise ValueError("each cohort needs alive counts for at least periods 0 and 1")
        if np.any(alive < 0) or np.any(np.diff(alive) > 0):
            raise ValueError("alive counts must be non-negative and non-increasing")
        n = alive.size - 1
        churned[1:n + 1] += alive[:-1] - alive[1:]
        censored[n] += alive[-1]
    t = np.arange(n_max + 1, dtype=float)
    return _Outcomes(t[1:], churned[1:], censored[1:])


def _from_durations(durations: np.ndarray, churned: np.ndarray, w: np.ndarray) -> _Outcomes:
    if durations.shape != churned.shape or durations.shape != w.shape:
        raise ValueError("durations, churned and weights need the same shape")
    if np.any(durations != np.round(durations)) or np.any(w < 0):
        raise ValueError("durations must be whole periods and weights non-negative")
    if np.any(churned & (durations < 1)) or np.any(durations < 0):
        raise ValueError("a churned customer has a duration of at least 1 period")
    d = durations.astype(np.int64)
    n_max = int(d.max())
    churn_counts = np.bincount(d[churned], weights=w[churned], minlength=n_max + 1)
    cens_counts = np.bincount(d[~churned], weights=w[~churned], minlength=n_max + 1)
    # Censored after 0 periods carries no information: S(0) = 1.
    t = np.arange(1, n_max + 1, dtype=float)
    return _Outcomes(t, churn_counts[1:], cens_counts[1:])


def _log_lik_and_grad(theta: np.ndarray, o: _Outcomes) -> tuple[float, np.ndarray]:
    """Total log-likelihood and its gradient with respect to (alpha, beta)."""
    a, b = theta
    t = o.t
    log_b0 = betaln(a, b)
    log_p = betaln(a + 1.0, b + t - 1.0) - log_b0
    log_s = betaln(a, b + t) - log_b0
    ll = float(o.churned @ log_p + o.censored @ log_s)
    psi_ab = digamma(a + b)
    psi_abt = digamma(a + b + t)
    d0_a, d0_b = digamma(a) - psi_ab, digamma(b) - psi_ab
    dp_a = digamma(a + 1.0) - psi_abt - d0_a
    dp_b = digamma(b + t - 1.0) - psi_abt - d0_b
    ds_a = digamma(a) - psi_abt - d0_a
    ds_b = digamma(b + t) - psi_abt - d0_b
    grad = np.array([o.churned @ dp_a + o.censored @ ds_a, o.churned @ dp_b + o.censored @ ds_b])
    return ll, grad


def _fit(o: _Outcomes) -> SBGParams:
    total = float(o.churned.sum() + o.censored.sum())
    if total <= 0:
        raise ValueError("no customers to fit")
    if o.churned.sum() <= 0:
        raise ValueError("no churn observed: alpha and beta are not identified")

    def objective(log_theta: np.ndarray) -> tuple[float, np.ndarray]:
        theta = np.exp(log_theta)
        ll, grad = _log_lik_and_grad(theta, o)
        return -ll / total, -grad * theta / total

    optimum = minimise_mean_nll(objective, np.zeros(2))
    theta = np.exp(optimum.log_theta)

    def neg_ll(values: np.ndarray) -> float:
        return -_log_lik_and_grad(values, o)[0]

    se = standard_errors(neg_ll, theta)
    verdict = assess_identification("sBG", SBG_PARAMETER_NAMES, theta, se, optimum.at_bound,
                                    optimum.converged, SBG_PARAMETER_GROUPS)
    return SBGParams(alpha=float(theta[0]), beta=float(theta[1]),
                     log_likelihood=-neg_ll(theta), alpha_se=float(se[0]),
                     beta_se=float(se[1]), n_customers=total, converged=optimum.converged,
                     is_identified=verdict.is_identified, warning=verdict.warning)


def sbg_sample_shortfall(durations: ArrayLike, churned: ArrayLike,
                         weights: ArrayLike | None = None,
                         min_customers: float = SBG_MIN_CUSTOMERS,
                         min_churned: float = SBG_MIN_CHURNED,
                         min_renewed: float = SBG_MIN_RENEWED) -> str | None:
    """Why the durations are too few to fit sBG, or None when they suffice.

    In the convention of :func:`fit_sbg_durations`: customers with a duration of at least
    one period count (:data:`SBG_MIN_CUSTOMERS`); of them at least
    :data:`SBG_MIN_CHURNED` churned and :data:`SBG_MIN_RENEWED` renewed at least once
    (churned after two or more periods, or censored after one or more).
    """
    d = np.atleast_1d(np.asarray(durations, dtype=float))
    c = np.atleast_1d(np.asarray(churned, dtype=bool))
    w = np.ones(d.shape) if weights is None else np.atleast_1d(
        np.asarray(weights, dtype=float))
    decided = float(w[d >= 1].sum())
    n_churned = float(w[c & (d >= 1)].sum())
    n_renewed = float(w[(c & (d >= 2)) | (~c & (d >= 1))].sum())
    if decided >= min_customers and n_churned >= min_churned and n_renewed >= min_renewed:
        return None
    return (f"needs at least {min_customers:g} customers with a decided first term of whom "
            f"{min_churned:g} churned and {min_renewed:g} renewed, found {decided:g} "
            f"customers, {n_churned:g} churned and {n_renewed:g} renewed")


def fit_sbg(alive_counts: ArrayLike | Sequence[ArrayLike]) -> SBGParams:
    """Fit sBG by maximum likelihood to cohort counts of active customers.

    ``alive_counts`` holds, for one cohort, the customers active at the start of
    period 1 (the cohort size) and after each of the n observed periods:
    ``[n_0, n_1, ..., n_n]``. ``n_{t-1} - n_t`` churned in period t and the
    ``n_n`` still active are right-censored at n, so

        LL = sum_t (n_{t-1} - n_t) log P(T = t) + n_n log S(n).

    A sequence of such arrays (cohorts of different ages, one shared alpha and
    beta) is fitted jointly. Counts may be fractional (weights). The optimiser
    (L-BFGS-B with the analytic gradient) works on log-parameters; standard
    errors come from the numerical Hessian on the natural parameters.
    """
    items = list(np.atleast_1d(alive_counts) if isinstance(alive_counts, np.ndarray | float | int)
                 else alive_counts)
    if not items:
        raise ValueError("alive_counts needs at least one cohort of counts")
    if np.ndim(items[0]) == 0:  # a single cohort
        cohorts = [np.asarray(items, dtype=float)]
    else:  # one array per cohort, lengths may differ
        cohorts = [np.asarray(c, dtype=float) for c in items]
    return _fit(_from_alive_counts(cohorts))


def fit_sbg_durations(durations: ArrayLike, churned: ArrayLike,
                      weights: ArrayLike | None = None) -> SBGParams:
    """Fit sBG to individual customers: whole periods observed and a churn flag.

    A churned customer with duration t has T = t (churned in period t); an active
    one with duration t has T > t (t renewals so far, censored). Customers of
    different ages mix freely. Gives the same estimates as :func:`fit_sbg` on the
    equivalent cohort counts.
    """
    d = np.atleast_1d(np.asarray(durations, dtype=float))
    c = np.atleast_1d(np.asarray(churned, dtype=bool))
    w = np.ones(d.shape) if weights is None else np.atleast_1d(np.asarray(weights, dtype=float))
    if d.size == 0:
        raise ValueError("no customers to fit")
    return _fit(_from_durations(d, c, w))


def sbg_log_likelihood(params: SBGParams, alive_counts: ArrayLike) -> float:
    """Log-likelihood of one cohort's alive counts ``[n_0, ..., n_n]`` (see :func:`fit_sbg`)."""
    o = _from_alive_counts([np.asarray(alive_counts, dtype=float)])
    return _log_lik_and_grad(params.as_array(), o)[0]


def sbg_churn_probability(params: SBGParams, t: ArrayLike) -> np.ndarray:
    """P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta), for t = 1, 2, ..."""
    t = np.asarray(t, dtype=float)
    a, b = params.alpha, params.beta
    return np.exp(betaln(a + 1.0, b + t - 1.0) - betaln(a, b))


def sbg_survival(params: SBGParams, t: ArrayLike) -> np.ndarray:
    """S(t) = P(T > t) = B(alpha, beta + t) / B(alpha, beta); S(0) = 1."""
    t = np.asarray(t, dtype=float)
    a, b = params.alpha, params.beta
    return np.exp(betaln(a, b + t) - betaln(a, b))


def sbg_retention_rate(params: SBGParams, t: ArrayLike) -> np.ndarray:
    """r_t = S(t) / S(t - 1) = (beta + t - 1) / (alpha + beta + t - 1), for t = 1, 2, ..."""
    t = np.asarray(t, dtype=float)
    a, b = params.alpha, params.beta
    return (b + t - 1.0) / (a + b + t - 1.0)


def sbg_renewal_probability(params: SBGParams, renewals: ArrayLike) -> np.ndarray:
    """P(next renewal | ``renewals`` made so far) = r_{n+1} = (beta + n) / (alpha + beta + n).

    A customer who has renewed n times is in period n + 1; the posterior of theta
    is Beta(alpha, beta + n), whose mean of 1 - theta is this probability.
    """
    return sbg_retention_rate(params, np.asarray(renewals, dtype=float) + 1.0)


def sbg_conditional_survival(params: SBGParams, renewals: ArrayLike,
                             decisions: ArrayLike) -> np.ndarray:
    """S(n + j) / S(n): P(still a customer after j more renewal decisions | n passed).

    The product of the next j renewal probabilities r_{n+1} ... r_{n+j}, with n =
    ``renewals`` and j = ``decisions`` (1 for j = 0). A month paid only if the customer
    renews j more times is paid with this probability. Closed form
    B(alpha, beta + n + j) / B(alpha, beta + n).
    """
    n = np.asarray(renewals, dtype=float)
    j = np.asarray(decisions, dtype=float)
    if np.any(n < 0) or np.any(j < 0):
        raise ValueError("renewals and decisions must be non-negative")
    a, b = params.alpha, params.beta
    return np.exp(betaln(a, b + n + j) - betaln(a, b + n))


def sbg_discounted_expected_residual_lifetime(params: SBGParams, renewals: ArrayLike,
                                              discount: ArrayLike) -> np.ndarray:
    """DERL: discounted expected number of payments still to come (Fader & Hardie 2010).

    The customer is at the end of period n = ``renewals`` + 1, just before the
    renewal decision, having renewed ``renewals`` times (T > n - 1). Each future
    payment counts 1 if the customer is still active, the next one (at the end of
    period n) undiscounted and the k-th one after it discounted by (1 + d)^-k:

        DERL = sum_{t >= n} S(t) / S(n - 1) · (1 + d)^-(t - n)
             = (beta + n - 1) / (alpha + beta + n - 1)
               · 2F1(1, beta + n; alpha + beta + n; 1 / (1 + d)).

    Fader & Hardie (2010), "Customer-base valuation in a contractual setting: the
    perils of ignoring heterogeneity", *Marketing Science* 29(1), eq. for
    DERL(d | alpha, beta, n - 1 renewals). Multiply by the payment per period for
    a value. ``discount`` d > 0 per period; with d = 0 it is finite only for
    alpha > 1 (see :func:`sbg_expected_residual_lifetime`).
    """
    a, b = params.alpha, params.beta
    n = np.asarray(renewals, dtype=float) + 1.0
    d = np.asarray(discount, dtype=float)
    if np.any(d < 0):
        raise ValueError("discount rate must be non-negative")
    return (b + n - 1.0) / (a + b + n - 1.0) * hyp2f1(1.0, b + n, a + b + n, 1.0 / (1.0 + d))


def sbg_expected_residual_lifetime(params: SBGParams, renewals: ArrayLike,
                                   horizon: int | None = None) -> np.ndarray:
    """Expected further renewals of a customer who has renewed ``renewals`` times.

    Undiscounted: E[sum_{k >= 1} S(n + k) / S(n)] for n = ``renewals``, the
    expected number of periods after the current one. Without a ``horizon`` this
    is the closed form (beta + n) / (alpha - 1), which is **infinite when
    alpha <= 1**: the Beta mixture then puts enough customers at churn rates near
    zero that the mean lifetime diverges (the regular and high-end segments of
    Fader & Hardie 2007 both have alpha < 1). With ``horizon`` H, the sum stops
    after H further periods (finite for every alpha):
    sum_{k=1}^{H} prod_{i=1}^{k} r_{n+i}, evaluated once per distinct n.
    """
    a, b = params.alpha, params.beta
    n = np.asarray(renewals, dtype=float)
    if np.any(n < 0):
        raise ValueError("renewals must be non-negative")
    if horizon is None:
        if a <= 1.0:
            return np.full(n.shape, np.inf)
        return (b + n) / (a - 1.0)
    if horizon < 0:
        raise ValueError("horizon must be non-negative")
    values, index = np.unique(n, return_inverse=True)
    k = np.arange(1, horizon + 1, dtype=float)
    rates = (b + values[:, None] + k - 1.0) / (a + b + values[:, None] + k - 1.0)
    totals = np.cumprod(rates, axis=1).sum(axis=1)
    return totals[index.reshape(n.shape)]


@dataclass(frozen=True)
class KaplanMeier:
    """Kaplan-Meier estimate at each distinct observed duration.

    ``survival[i]`` is S(t) = P(T > t) just after ``times[i]``; ``n_at_risk`` the
    customers with duration >= t, ``n_churned`` those churning at t and
    ``n_censored`` those censored at t (censored at t counts as at risk at t:
    a customer who renewed t times survived period t). ``se`` is Greenwood's
    standard error.
    """

    times: np.ndarray
    n_at_risk: np.ndarray
    n_churned: np.ndarray
    n_censored: np.ndarray
    survival: np.ndarray
    se: np.ndarray

    def at(self, t: ArrayLike) -> np.ndarray:
        """S(t) as a right-continuous step function: 1 before the first duration.

        Beyond the last duration the last value is carried (not an estimate of
        its own when the largest duration is censored).
        """
        t = np.asarray(t, dtype=float)
        i = np.searchsorted(self.times, t, side="right")
        return np.concatenate(([1.0], self.survival))[i]

    def confidence_interval(self, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Pointwise (lower, upper) bounds of S(t) at :attr:`times`, log-log transformed.

        The interval is built for log(-log S(t)), whose Greenwood variance is
        sum d_i / (n_i (n_i - d_i)) / (log S(t))^2, and mapped back:
        S(t)^exp(+z·se) and S(t)^exp(-z·se) (Kalbfleisch & Prentice 2002, the
        "exponential Greenwood" interval; lifelines' default). Unlike the plain
        S ± z·se interval it stays inside [0, 1]. Where S(t) = 1 (no churn yet) or
        S(t) = 0 the transform is undefined and both bounds equal S(t).
        """
        z = float(norm.ppf(0.5 + level / 2.0))
        s = self.survival
        with np.errstate(divide="ignore", invalid="ignore"):
            greenwood = (self.se / s) ** 2
            se_loglog = np.sqrt(greenwood) / np.abs(np.log(s))
            lower = s ** np.exp(z * se_loglog)
            upper = s ** np.exp(-z * se_loglog)
        degenerate = (s >= 1.0) | (s <= 0.0) | ~np.isfinite(se_loglog)
        return np.where(degenerate, s, lower), np.where(degenerate, s, upper)

    def interval_at(self, t: ArrayLike,
                    level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """The bounds of :meth:`confidence_interval` as step functions of t, like :meth:`at`."""
        t = np.asarray(t, dtype=float)
        i = np.searchsorted(self.times, t, side="right")
        lower, upper = self.confidence_interval(level)
        return (np.concatenate(([1.0], lower))[i], np.concatenate(([1.0], upper))[i])


def kaplan_meier(durations: ArrayLike, churned: ArrayLike,
                 weights: ArrayLike | None = None) -> KaplanMeier:
    """Product-limit estimate of S(t) from durations with right-censoring.

    ``durations`` in periods (or any unit), ``churned`` true when the duration
    ends in churn and false when the customer is still active (censored).
    S(t) = prod_{t_i <= t} (1 - d_i / n_i) over distinct durations t_i, with d_i
    churned at t_i and n_i at risk. ``weights`` counts each row as that many
    customers.
    """
    d = np.atleast_1d(np.asarray(durations, dtype=float))
    c = np.atleast_1d(np.asarray(churned, dtype=bool))
    w = np.ones(d.shape) if weights is None else np.atleast_1d(np.asarray(weights, dtype=float))
    if d.shape != c.shape or d.shape != w.shape:
        raise ValueError("durations, churned and weights need the same shape")
    if d.size == 0 or np.any(d < 0) or np.any(w < 0):
        raise ValueError("need at least one non-negative duration and non-negative weights")
    times, index = np.unique(d, return_inverse=True)
    index = index.ravel()
    churn = np.bincount(index, weights=w * c, minlength=times.size)
    cens = np.bincount(index, weights=w * ~c, minlength=times.size)
    leaving = churn + cens
    at_risk = leaving[::-1].cumsum()[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        survival = np.cumprod(1.0 - churn / at_risk)
        greenwood = np.cumsum(churn / (at_risk * (at_risk - churn)))
        se = survival * np.sqrt(greenwood)
    return KaplanMeier(times=times, n_at_risk=at_risk, n_churned=churn, n_censored=cens,
                       survival=survival, se=se)
