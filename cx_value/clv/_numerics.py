"""Numerical helpers shared by the CLV models: finite-difference Hessian, standard errors."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.optimize import minimize

# Central second differences have truncation error O(h^2) and rounding error
# O(eps / h^2); a relative step of eps**(1/4) balances the two.
_REL_STEP = float(np.finfo(float).eps) ** 0.25


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
    Hessian is not positive definite.
    """
    info = hessian(neg_log_likelihood, estimate)
    try:
        np.linalg.cholesky(info)
    except np.linalg.LinAlgError:
        return np.full(estimate.size, np.nan)
    return np.sqrt(np.diag(np.linalg.inv(info)))


def minimise_mean_nll(
    objective: Callable[..., tuple[float, np.ndarray]],
    start: np.ndarray,
    args: tuple[Any, ...] = (),
) -> np.ndarray:
    """Minimise a mean negative log-likelihood over log-parameters; return the argmin.

    ``objective(log_theta, *args)`` returns the value and its gradient. Near the
    optimum L-BFGS-B's line search can stop on rounding ("ABNORMAL") with the
    gradient already at zero, so only a gradient still away from zero is reported
    as a failure to converge (a RuntimeWarning, as the estimate may still be usable).
    """
    result = minimize(objective, start, args=args, jac=True, method="L-BFGS-B",
                      options={"maxiter": 10_000, "ftol": 1e-15, "gtol": 1e-10})
    if not result.success and np.max(np.abs(result.jac)) > 1e-7:
        warnings.warn(f"maximum likelihood did not converge: {result.message}",
                      RuntimeWarning, stacklevel=3)
    return np.asarray(result.x, dtype=float)
