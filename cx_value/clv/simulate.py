"""Draw calibration histories from BG/NBD and mean spend from Gamma-Gamma, vectorised."""

from __future__ import annotations

import numpy as np

from cx_value.clv.bgnbd import BGNBDParams
from cx_value.clv.gamma_gamma import GammaGammaParams


def simulate_bgnbd(params: BGNBDParams, T: np.ndarray,  # noqa: N803
                   rng: np.random.Generator,
                   resolution: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Repeat purchases x and last-purchase time t_x of customers observed for ``T``.

    Per customer lambda ~ Gamma(r, rate alpha) and p ~ Beta(a, b); the customer drops
    out right after repeat purchase J ~ Geometric(p). With N(T) ~ Poisson(lambda·T)
    purchases of the undisturbed process, x = min(N, J), and t_x is the x-th of N
    uniform times on (0, T), i.e. T · Beta(x, N - x + 1). ``resolution`` rounds t_x
    up to a whole number of such steps (e.g. 1/7 for days when T is in weeks), as
    recorded data would be; T is taken as given.
    """
    t_cal = np.asarray(T, dtype=float)
    n = t_cal.size
    lam = rng.gamma(params.r, 1.0 / params.alpha, size=n)
    p = rng.beta(params.a, params.b, size=n)
    lifetime = rng.geometric(np.clip(p, 1e-12, 1.0))
    n_process = rng.poisson(lam * t_cal)
    x = np.minimum(n_process, lifetime)
    has_repeat = x > 0
    k = np.where(has_repeat, x, 1)
    t_x = np.where(has_repeat, t_cal * rng.beta(k, n_process - k + 1 + (~has_repeat)), 0.0)
    if resolution is not None:
        t_x = np.minimum(np.ceil(t_x / resolution) * resolution, t_cal)
    return x.astype(float), t_x


def simulate_mean_spend(params: GammaGammaParams, x: np.ndarray,
                        rng: np.random.Generator) -> np.ndarray:
    """Mean value m_x of each customer's x repeat purchases under Gamma-Gamma (0 when x = 0).

    nu ~ Gamma(q, rate gamma) per customer; the sum of x purchase values Gamma(p, nu)
    is Gamma(p·x, nu), so their mean is Gamma(p·x, rate nu·x).
    """
    x = np.asarray(x, dtype=float)
    nu = rng.gamma(params.q, 1.0 / params.gamma, size=x.size)
    has_repeat = x > 0
    k = np.where(has_repeat, x, 1.0)
    return np.where(has_repeat, rng.gamma(params.p * k, 1.0 / (nu * k)), 0.0)
