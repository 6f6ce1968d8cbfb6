"""Numerical helpers shared by the fitted models: optimiser, Hessian, standard errors and
the identification check."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize

# Central second differences have truncation error O(h^2) and rounding error
# O(eps / h^2); a relative step of eps**(1/4) balances the two.
_REL_STEP = float(np.finfo(float).eps) ** 0.25

MAX_LOG_DEPARTURE = 15.0
"""The optimiser's box: each log-parameter stays within this many units of its start.

The start is 1 for shape parameters and the data's own scale for rates (mean T for the
BG/NBD alpha, mean spend for the Gamma-Gamma gamma), so a parameter may move by a factor
of e^15 (3.3 million) either way. A fitted value on that box has run off towards 0 or
infinity: the likelihood keeps improving in that direction, the maximum is not inside
the parameter space, and the parameter is not identified.
"""

_GRADIENT_TOLERANCE = 1e-7
"""A mean-NLL gradient (per log-parameter) below this counts as zero."""


def hessian(f: Callable[[np.ndarray], float], x: np.ndarray) -> np.ndarray:
    """Central finite-difference Hessian of a scalar function at ``x``.

    Steps are relative to each coordinate, so parameters of different magnitude
    (a shape near 0.2 beside a scale near 15) get comparable accuracy.
    """
    x = np.asarray(x, dtype=float)
    n = x.size
    h = _REL_STEP * np.maximum(np.abs(x), 1e-3)
    # Make x + h exactly representable so the step used equals the step divided by.
    h = (x + h) - x
    f0 = f(x)
    hess = np.empty((n, n))
    for i in range(n):
        ei = np.zeros(n)
        ei[i] = h[i]
        hess[i, i] = (f(x + ei) - 2.0 * f0 + f(x - ei)) / h[i] ** 2
        for j in range(i):
            ej = np.zeros(n)
            ej[j] = h[j]
            value = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (
                4.0 * h[i] * h[j]
            )
            hess[i, j] = hess[j, i] = value
    return hess


def standard_errors(neg_log_likelihood: Callable[[np.ndarray], float],
                    estimate: np.ndarray) -> np.ndarray:
    """Asymptotic standard errors: square roots of the diagonal of the inverse Hessian.

    The Hessian is that of the negative log-likelihood on the natural parameters at
    the maximum-likelihood estimate (the observed information). NaN where the
    Hessian is not finite or not positive definite.
    """
    with np.errstate(all="ignore"):
        info = hessian(neg_log_likelihood, estimate)
    if not np.all(np.isfinite(info)):
        return np.full(estimate.size, np.nan)
    try:
        np.linalg.cholesky(info)
    except np.linalg.LinAlgError:
        return np.full(estimate.size, np.nan)
    return np.sqrt(np.diag(np.linalg.inv(info)))


@dataclass(frozen=True)
class Optimum:
    """Result of :func:`minimise_mean_nll`.

    ``log_theta`` is the argmin; ``converged`` is false when the gradient is still away
    from zero at a parameter inside the box (see :data:`MAX_LOG_DEPARTURE`);
    ``at_bound`` is -1 for a parameter that ended on the lower side of the box (ran off
    towards 0), +1 on the upper side (towards infinity) and 0 inside; ``message`` is the
    optimiser's own.
    """

    log_theta: np.ndarray
    converged: bool
    at_bound: np.ndarray
    message: str


def minimise_mean_nll(
    objective: Callable[..., tuple[float, np.ndarray]],
    start: np.ndarray,
    args: tuple[Any, ...] = (),
) -> Optimum:
    """Minimise a mean negative log-likelihood over log-parameters (L-BFGS-B).

    ``objective(log_theta, *args)`` returns the value and its gradient. Each
    log-parameter is boxed to ``start`` ± :data:`MAX_LOG_DEPARTURE`. Near the optimum
    L-BFGS-B's line search can stop on rounding ("ABNORMAL") with the gradient already at
    zero, so convergence is judged by the gradient: the fit has converged when the
    optimiser says so or when no gradient component of a parameter inside the box
    exceeds 1e-7. A parameter on the box is reported in ``at_bound`` instead.
    """
    start = np.asarray(start, dtype=float)
    bounds = [(s - MAX_LOG_DEPARTURE, s + MAX_LOG_DEPARTURE) for s in start]
    with np.errstate(all="ignore"):
        result = minimize(objective, start, args=args, jac=True, method="L-BFGS-B",
                          bounds=bounds,
                          options={"maxiter": 10_000, "ftol": 1e-15, "gtol": 1e-10})
    log_theta = np.asarray(result.x, dtype=float)
    departure = log_theta - start
    on_box = np.abs(departure) >= MAX_LOG_DEPARTURE * (1.0 - 1e-9)
    at_bound = np.where(on_box, np.sign(departure), 0).astype(np.int64)
    gradient = np.asarray(result.jac, dtype=float)
    inside = gradient[~on_box]
    finite = bool(np.all(np.isfinite(gradient))) and bool(np.isfinite(result.fun))
    converged = finite and (bool(result.success) or inside.size == 0
                            or float(np.max(np.abs(inside))) <= _GRADIENT_TOLERANCE)
    return Optimum(log_theta=log_theta, converged=converged, at_bound=at_bound,
                   message=str(result.message))


@dataclass(frozen=True)
class ParameterGroup:
    """Parameters that describe one process of a model, for the warning text.

    ``label`` names the process as a reader knows it ("dropout (a, b)"), ``names`` the
    parameters in the model's order and ``consequence`` what becomes unreliable when
    they are not identified ("P(alive) and CLV are unreliable").
    """

    label: str
    names: tuple[str, ...]
    consequence: str


@dataclass(frozen=True)
class Identification:
    """Whether a maximum-likelihood fit is identified, and why not in plain language."""

    is_identified: bool
    warning: str | None


def _number(value: float) -> str:
    return f"{value:.3g}"


def assess_identification(model: str, names: Sequence[str], estimate: np.ndarray,
                          se: np.ndarray, at_bound: np.ndarray, converged: bool,
                          groups: Sequence[ParameterGroup]) -> Identification:
    """The identification rule of the likelihood models (BG/NBD, Gamma-Gamma, sBG).

    A fit is identified when the optimiser converged and, for every parameter, the
    standard error is finite and at most the estimate, and the estimate is not on the
    optimiser's box (it did not run off towards 0 or infinity). Otherwise the warning
    names the process whose parameters fail, the first reason for each, and what is
    unreliable as a consequence.
    """
    position = {name: i for i, name in enumerate(names)}
    if not converged:
        consequence = "; ".join(dict.fromkeys(g.consequence for g in groups))
        return Identification(False, f"{model} not identified: the optimiser did not "
                                     f"converge; {consequence}")
    sentences = []
    for group in groups:
        reasons = []
        for name in group.names:
            i = position[name]
            value, error = float(estimate[i]), float(se[i])
            if at_bound[i] != 0:
                direction = "0" if at_bound[i] < 0 else "infinity"
                reasons.append(f"{name} ran off towards {direction} ({_number(value)})")
            elif not np.isfinite(error):
                reasons.append(f"SE of {name} cannot be computed (singular information)")
            elif error > value:
                reasons.append(f"SE of {name} {_number(error)} exceeds its estimate "
                               f"{_number(value)}")
        if reasons:
            sentences.append(f"{model} {group.label} not identified: {', '.join(reasons)}; "
                             f"{group.consequence}")
    if sentences:
        return Identification(False, ". ".join(sentences))
    return Identification(True, None)
