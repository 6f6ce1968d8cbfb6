"""Discounted customer lifetime value of non-contractual customers (BG/NBD with Gamma-Gamma).

Expected purchases in each future month come from BG/NBD, as differences of the
conditional expectation E[Y(t) | x, t_x, T] at successive month ends; each month's
purchases are valued at the Gamma-Gamma expected spend per purchase, times a margin,
and discounted to the end of the calibration period.
"""

from __future__ import annotations

import numpy as np

from cx_value.clv.bgnbd import BGNBDParams, conditional_expected_purchases

ArrayLike = np.ndarray | float

DAYS_PER_MONTH = 365.25 / 12
WEEKS_PER_MONTH = DAYS_PER_MONTH / 7
DEFAULT_MONTHLY_DISCOUNT_RATE = 0.01


def expected_purchases_by_month(params: BGNBDParams, x: ArrayLike, t_x: ArrayLike,
                                T: ArrayLike, months: int = 12,  # noqa: N803
                                time_units_per_month: float = WEEKS_PER_MONTH) -> np.ndarray:
    """Expected purchases in each of the next ``months`` months, shape (customers, months).

    Column k is E[Y((k+1)·u) | …] - E[Y(k·u) | …] with u = ``time_units_per_month``,
    the length of a month in the time unit the model was fitted in (weeks by default).
    """
    if months < 1:
        raise ValueError("months must be at least 1")
    x, t_x, t_cal = (np.atleast_1d(np.asarray(v, dtype=float)) for v in (x, t_x, T))
    ends = np.arange(1, months + 1) * time_units_per_month
    cumulative = conditional_expected_purchases(params, ends[None, :], x[:, None],
                                                t_x[:, None], t_cal[:, None])
    return np.diff(cumulative, axis=1, prepend=0.0)


def discounted_clv(params: BGNBDParams, x: ArrayLike, t_x: ArrayLike, T: ArrayLike,  # noqa: N803
                   expected_spend: ArrayLike, months: int = 12,
                   monthly_discount_rate: float = DEFAULT_MONTHLY_DISCOUNT_RATE,
                   margin: float = 1.0,
                   time_units_per_month: float = WEEKS_PER_MONTH) -> np.ndarray:
    """Discounted expected margin of each customer over the next ``months`` months.

    CLV = margin · spend · Σ_{k=1..months} E[purchases in month k] / (1 + d)^k, with d
    the monthly discount rate; purchases of a month are discounted from its end.
    ``expected_spend`` is the expected value per purchase, usually
    :func:`cx_value.clv.gamma_gamma.conditional_expected_spend`; ``margin`` turns
    revenue into contribution (1.0 reports revenue).
    """
    if monthly_discount_rate <= -1.0:
        raise ValueError("monthly_discount_rate must be greater than -1")
    purchases = expected_purchases_by_month(params, x, t_x, T, months, time_units_per_month)
    discount = (1.0 + monthly_discount_rate) ** -np.arange(1, months + 1)
    spend = np.atleast_1d(np.asarray(expected_spend, dtype=float))
    # each row summed on its own: a BLAS matrix-vector product adds a row's terms in an
    # order that depends on where the row falls in the matrix, so one customer's CLV
    # could differ in the last bit between two runs that read the rows in another order
    return margin * spend * (purchases * discount).sum(axis=1)
