"""BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005).

Each customer buys as a Poisson process with rate lambda ~ Gamma(r, alpha) while
alive, and after every repeat purchase drops out for good with probability
p ~ Beta(a, b). A customer's calibration history is (x, t_x, T): the number of
repeat purchases, the time of the last one (0 if none) and the time since the first
purchase, all in one time unit (weeks for CDNOW). Parameters are in that unit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from cx_value.clv._collapse import collapse
from cx_value.clv._numerics import (
    ParameterGroup,
    assess_identification,
    minimise_mean_nll,
    standard_errors,
)

ArrayLike = np.ndarray | float

MIN_CUSTOMERS = 40
"""Fewest customers a BG/NBD fit is attempted on: ten per parameter (r, alpha, a, b)."""

MIN_REPEAT_BUYERS = 20
"""Fewest repeat buyers (x > 0) a BG/NBD fit is attempted on: ten per dropout parameter.

Only a repeat buyer can drop out (and only after a repeat purchase), so a and b are
learnt from them alone; with none the likelihood pushes r to 0 and says nothing of a, b.
"""

PARAMETER_NAMES: tuple[str, ...] = ("r", "alpha", "a", "b")

PARAMETER_GROUPS: tuple[ParameterGroup, ...] = (
    ParameterGroup("purchase rate (r, alpha)", ("r", "alpha"),
                   "expected purchases and CLV are unreliable"),
    ParameterGroup("dropout (a, b)", ("a", "b"), "P(alive) and CLV are unreliable"),
)


@dataclass(frozen=True)
class BGNBDParams:
    """BG/NBD parameters, with fit statistics when they come from :func:`fit`.

    ``r``, ``alpha``: shape and rate of the Gamma distribution of purchase rates
    (alpha in the time unit of the data); ``a``, ``b``: Beta distribution of the
    dropout probability. ``*_se`` are asymptotic standard errors, ``n_customers``
    the customers fitted (sum of weights) and ``n_distinct`` their distinct histories.
    ``converged``, ``is_identified`` and ``warning`` are the fit's diagnostics (see
    :func:`cx_value.clv._numerics.assess_identification`); false and None for
    parameters that do not come from a fit.
    """

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float = float("nan")
    r_se: float = float("nan")
    alpha_se: float = float("nan")
    a_se: float = float("nan")
    b_se: float = float("nan")
    n_customers: float = 0.0
    n_distinct: int = 0
    converged: bool = False
    is_identified: bool = False
    warning: str | None = None

    def as_array(self) -> np.ndarray:
        """(r, alpha, a, b) as an array."""
        return np.array([self.r, self.alpha, self.a, self.b])

    def se_array(self) -> np.ndarray:
        """Standard errors in the order of :meth:`as_array`."""
        return np.array([self.r_se, self.alpha_se, self.a_se, self.b_se])


@dataclass(frozen=True)
class _Histories:
    """Collapsed histories, with x indexed into its few distinct values.

    Every Gamma- and Beta-function term depends on a customer only through x, which
    takes few distinct values; evaluating them once per distinct x and gathering
    leaves only logarithms and exponentials per row.
    """

    x: np.ndarray
    t_x: np.ndarray
    t_cal: np.ndarray
    w: np.ndarray
    x_values: np.ndarray
    x_index: np.ndarray

    @classmethod
    def of(cls, x: np.ndarray, t_x: np.ndarray, t_cal: np.ndarray,
           w: np.ndarray) -> _Histories:
        x_values, x_index = np.unique(x, return_inverse=True)
        return cls(x, t_x, t_cal, w, x_values, x_index.ravel())


def _terms(theta: np.ndarray, h: _Histories) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log-likelihood pieces A1 + logaddexp(A2, A3), with A3 = -inf where x = 0."""
    r, alpha, a, b = theta
    ux = h.x_values
    ux1 = np.where(ux > 0, ux, 1.0)  # keeps b + x - 1 > 0 where A3 is unused
    beta_ab = betaln(a, b)
    a1 = (gammaln(r + ux) - gammaln(r) + r * np.log(alpha))[h.x_index]
    a2 = (betaln(a, b + ux) - beta_ab)[h.x_index] - (r + h.x) * np.log(alpha + h.t_cal)
    a3 = (betaln(a + 1.0, b + ux1 - 1.0) - beta_ab)[h.x_index] - (r + h.x) * np.log(
        alpha + h.t_x)
    return a1, a2, np.where(h.x > 0, a3, -np.inf)


def log_likelihood(r: float, alpha: float, a: float, b: float, x: ArrayLike, t_x: ArrayLike,
                   t_cal: ArrayLike) -> np.ndarray:
    """Per-customer BG/NBD log-likelihood of histories (x, t_x, T), computed in log space.

    L = B(a, b+x)/B(a, b) · Γ(r+x) alpha^r / (Γ(r) (alpha+T)^(r+x))
        + [x > 0] · B(a+1, b+x-1)/B(a, b) · Γ(r+x) alpha^r / (Γ(r) (alpha+t_x)^(r+x)).
    """
    x, t_x, t_cal = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, t_x, t_cal)))
    h = _Histories.of(x.ravel(), t_x.ravel(), t_cal.ravel(), np.ones(x.size))
    return _row_log_likelihood(np.array([r, alpha, a, b]), h).reshape(x.shape)


def _row_log_likelihood(theta: np.ndarray, h: _Histories) -> np.ndarray:
    a1, a2, a3 = _terms(theta, h)
    return a1 + np.logaddexp(a2, a3)


def _nll_and_grad(log_theta: np.ndarray, h: _Histories) -> tuple[float, np.ndarray]:
    """Mean negative log-likelihood and its gradient with respect to log-parameters."""
    theta = np.exp(log_theta)
    r, alpha, a, b = theta
    a1, a2, a3 = _terms(theta, h)
    lse = np.logaddexp(a2, a3)
    w2 = np.exp(a2 - lse)  # share of the likelihood from "alive at T"
    w3 = 1.0 - w2
    ww2, ww3 = h.w * w2, h.w * w3
    ux = h.x_values
    ux1 = np.where(ux > 0, ux, 1.0)
    # Sums of weights per distinct x turn per-x derivative terms into short dot products.
    n_x = h.x_values.size
    s2 = np.bincount(h.x_index, weights=ww2, minlength=n_x)
    s3 = np.bincount(h.x_index, weights=ww3, minlength=n_x)
    s = s2 + s3
    psi_ab, psi_abx = digamma(a + b), digamma(a + b + ux)
    d_r = (s @ (digamma(r + ux) - digamma(r)) + s.sum() * np.log(alpha)
           - ww2 @ np.log(alpha + h.t_cal) - ww3 @ np.log(alpha + h.t_x))
    d_alpha = s.sum() * r / alpha - (r + h.x) @ (ww2 / (alpha + h.t_cal) + ww3 / (alpha + h.t_x))
    d_a = s @ (psi_ab - psi_abx) + s3.sum() * (digamma(a + 1.0) - digamma(a))
    d_b = (s2 @ digamma(b + ux) + s3 @ digamma(b + ux1 - 1.0)
           + s @ (psi_ab - psi_abx - digamma(b)))
    total = s.sum()
    grad = np.array([d_r, d_alpha, d_a, d_b]) * theta / total
    return -float(h.w @ (a1 + lse)) / total, -grad


def fit(frequency: ArrayLike, recency: ArrayLike, T: ArrayLike,  # noqa: N803 (the paper's T)
        weights: ArrayLike | None = None) -> BGNBDParams:
    """Fit BG/NBD by maximum likelihood.

    ``frequency`` is x (repeat purchases), ``recency`` t_x and ``T`` the customer's
    age, in one time unit. Identical histories are collapsed into weighted rows
    first, so the cost grows with distinct histories, not customers. ``weights``
    counts each row as that many customers. The optimiser (L-BFGS-B with the
    analytic gradient) works on log-parameters; standard errors come from the
    inverse of the numerical Hessian of the negative log-likelihood on the natural
    parameters at the optimum.

    The result carries the diagnostics: ``converged``, and ``is_identified`` with a
    plain-language ``warning`` when a standard error exceeds its estimate or cannot be
    computed, a parameter ran off towards 0 or infinity, or the optimiser did not
    converge. An empty sample raises ``ValueError``; use :func:`sample_shortfall` to
    check the minimum sample first.
    """
    (x, t_x, t_cal), w = collapse((frequency, recency, T), None if weights is None
                                  else np.asarray(weights, dtype=float))
    _check_histories(x, t_x, t_cal)
    if x.size == 0:
        raise ValueError("no customers to fit")
    h = _Histories.of(x, t_x, t_cal, w)
    start = np.log([1.0, max(float(np.average(t_cal, weights=w)), 1e-3), 1.0, 1.0])
    optimum = minimise_mean_nll(_nll_and_grad, start, args=(h,))
    theta = np.exp(optimum.log_theta)

    def neg_ll(values: np.ndarray) -> float:
        return -float(w @ _row_log_likelihood(values, h))

    se = standard_errors(neg_ll, theta)
    verdict = assess_identification("BG/NBD", PARAMETER_NAMES, theta, se, optimum.at_bound,
                                    optimum.converged, PARAMETER_GROUPS)
    r, alpha, a, b = (float(v) for v in theta)
    return BGNBDParams(r=r, alpha=alpha, a=a, b=b, log_likelihood=-neg_ll(theta),
                       r_se=float(se[0]), alpha_se=float(se[1]), a_se=float(se[2]),
                       b_se=float(se[3]), n_customers=float(w.sum()), n_distinct=int(x.size),
                       converged=optimum.converged, is_identified=verdict.is_identified,
                       warning=verdict.warning)


def sample_shortfall(frequency: ArrayLike, weights: ArrayLike | None = None,
                     min_customers: float = MIN_CUSTOMERS,
                     min_repeat_buyers: float = MIN_REPEAT_BUYERS) -> str | None:
    """Why the histories are too few to fit BG/NBD, or None when they suffice.

    The minimum is :data:`MIN_CUSTOMERS` customers of whom :data:`MIN_REPEAT_BUYERS`
    made a repeat purchase (``weights`` count a row as that many customers).
    """
    x = np.atleast_1d(np.asarray(frequency, dtype=float))
    w = np.ones(x.shape) if weights is None else np.atleast_1d(
        np.asarray(weights, dtype=float))
    customers, repeaters = float(w.sum()), float(w[x > 0].sum())
    if customers >= min_customers and repeaters >= min_repeat_buyers:
        return None
    return (f"needs at least {min_customers:g} customers of whom {min_repeat_buyers:g} repeat "
            f"buyers, found {customers:g} customers and {repeaters:g} repeat buyers")


def _check_histories(x: np.ndarray, t_x: np.ndarray, t_cal: np.ndarray) -> None:
    if np.any(x < 0) or np.any(t_x < 0) or np.any(t_x > t_cal):
        raise ValueError("histories need x >= 0 and 0 <= t_x <= T")


def expected_purchases(params: BGNBDParams, t: ArrayLike) -> np.ndarray:
    """E[X(t)]: expected repeat purchases in (0, t] of a newly acquired customer."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    t = np.asarray(t, dtype=float)
    z = t / (alpha + t)
    return (a + b - 1.0) / (a - 1.0) * (
        1.0 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1.0, z))


def _log_odds_dead(params: BGNBDParams, x: np.ndarray, t_x: np.ndarray,
                   t_cal: np.ndarray) -> np.ndarray:
    """log of a/(b+x-1) · ((alpha+T)/(alpha+t_x))^(r+x); -inf when x = 0 (cannot have dropped)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x1 = np.where(x > 0, x, 1.0)
    value = (np.log(a) - np.log(b + x1 - 1.0)
             + (r + x) * (np.log(alpha + t_cal) - np.log(alpha + t_x)))
    return np.where(x > 0, value, -np.inf)


def p_alive(params: BGNBDParams, x: ArrayLike, t_x: ArrayLike,
            T: ArrayLike) -> np.ndarray:  # noqa: N803
    """P(alive | x, t_x, T) = 1 / (1 + [x > 0] · a/(b+x-1) · ((alpha+T)/(alpha+t_x))^(r+x))."""
    x, t_x, t_cal = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    return expit(-_log_odds_dead(params, x, t_x, t_cal))


def conditional_expected_purchases(params: BGNBDParams, t: ArrayLike, x: ArrayLike,
                                   t_x: ArrayLike, T: ArrayLike) -> np.ndarray:  # noqa: N803
    """E[Y(t) | x, t_x, T]: expected purchases in (T, T+t] given the history (FHL eq. 10)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    t, x, t_x, t_cal = (np.asarray(v, dtype=float) for v in (t, x, t_x, T))
    z = t / (alpha + t_cal + t)
    alive_part = (a + b + x - 1.0) / (a - 1.0) * (
        1.0 - ((alpha + t_cal) / (alpha + t_cal + t)) ** (r + x)
        * hyp2f1(r + x, b + x, a + b + x - 1.0, z))
    return alive_part * expit(-_log_odds_dead(params, x, t_x, t_cal))
