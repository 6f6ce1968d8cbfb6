"""The CLV and retention models as the warehouse fits and scores them, as tables.

The dbt Python models (``clv_bgnbd_parameters``, ``clv_customer_predictions``,
``retention_sbg_parameters``, ``retention_customer_predictions``,
``retention_survival_curve``) are thin wrappers around these functions, so their logic is
tested without dbt. None of them raises on empty or small input:

- a parameter table always holds one row per (model, parameter); below a model's minimum
  sample (``sample_shortfall`` of its module) the row has ``status`` ``not_enough_data``,
  the sample size and NULL estimates; a fit that raises gives ``failed``;
- a prediction table holds one row per customer it scores, with NULL predictions when
  the model is not fitted; the survival curve keeps its Kaplan-Meier columns and has a
  NULL sBG column.

Every parameter row carries the model's diagnostics (``converged``, ``is_identified``,
``warning``), repeated on each of its rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from cx_value.clv import bgnbd, gamma_gamma, retention
from cx_value.clv.bgnbd import BGNBDParams
from cx_value.clv.clv import WEEKS_PER_MONTH, discounted_clv, expected_purchases_by_month
from cx_value.clv.retention import SBGParams
from cx_value.fit_status import (
    FAILED,
    FITTED,
    NOT_ENOUGH_DATA,
    failure_reason,
    finite_or_none,
    not_fitted_warning,
)

PARAMETER_COLUMN_TYPES: dict[str, str] = {
    "model": "varchar",
    "parameter": "varchar",
    "estimate": "double",
    "standard_error": "double",
    "log_likelihood": "double",
    "n_customers": "bigint",
    "status": "varchar",
    "status_reason": "varchar",
    "converged": "boolean",
    "is_identified": "boolean",
    "warning": "varchar",
    "fitted_at_as_of": "date",
}
"""Columns of the CLV and sBG parameter tables and their SQL types."""

CLV_PREDICTION_COLUMN_TYPES: dict[str, str] = {
    "customer_id": "varchar",
    "p_alive": "double",
    "expected_purchases_52w": "double",
    "expected_purchases_12m": "double",
    "discounted_purchases_12m": "double",
}

RETENTION_PREDICTION_COLUMN_TYPES: dict[str, str] = {
    "customer_id": "varchar",
    "renewal_probability": "double",
    "discounted_expected_residual_lifetime": "double",
}

SURVIVAL_CURVE_COLUMN_TYPES: dict[str, str] = {
    "period": "bigint",
    "at_risk": "bigint",
    "churned": "bigint",
    "censored": "bigint",
    "km_survival": "double",
    "km_se": "double",
    "sbg_survival": "double",
}

HORIZON_WEEKS = 52.0
HORIZON_MONTHS = 12

BGNBD_NOT_FITTED = "P(alive), expected purchases and CLV are NULL"
GAMMA_GAMMA_NOT_FITTED = "expected spend per purchase and CLV are NULL"
SBG_NOT_FITTED = "renewal probabilities, DERL and the sBG survival curve are NULL"


def _parameter_rows(model: str, names: Sequence[str], label: str, consequence: str,
                    sample_size: float, shortfall: str | None, fitter: Callable[[], Any],
                    as_of: date | None) -> pd.DataFrame:
    """The rows of one model: fitted with diagnostics, or not fitted with the reason."""
    status, reason, fitted = FITTED, None, None
    if shortfall is not None:
        status, reason = NOT_ENOUGH_DATA, shortfall
    else:
        try:
            fitted = fitter()
        except Exception as error:  # a failed fit is reported, not raised
            status, reason = FAILED, failure_reason(error)
    rows = len(names)
    if fitted is None:
        assert reason is not None
        columns: dict[str, list[Any]] = {
            "estimate": [None] * rows,
            "standard_error": [None] * rows,
            "log_likelihood": [None] * rows,
            "n_customers": [round(sample_size)] * rows,
            "converged": [None] * rows,
            "is_identified": [False] * rows,
            "warning": [not_fitted_warning(label, status, reason, consequence)] * rows,
        }
    else:
        columns = {
            "estimate": finite_or_none([getattr(fitted, n) for n in names]),
            "standard_error": finite_or_none([getattr(fitted, f"{n}_se") for n in names]),
            "log_likelihood": finite_or_none([fitted.log_likelihood] * rows),
            "n_customers": [round(fitted.n_customers)] * rows,
            "converged": [bool(fitted.converged)] * rows,
            "is_identified": [bool(fitted.is_identified)] * rows,
            "warning": [fitted.warning] * rows,
        }
    table = pd.DataFrame({"model": [model] * rows, "parameter": list(names), **columns,
                          "status": [status] * rows, "status_reason": [reason] * rows,
                          "fitted_at_as_of": [as_of] * rows})
    return table.loc[:, list(PARAMETER_COLUMN_TYPES)]


def _history_arrays(histories: pd.DataFrame) -> tuple[np.ndarray, ...]:
    x = histories["frequency"].to_numpy(dtype=float, na_value=np.nan)
    t_x = histories["recency_weeks"].to_numpy(dtype=float, na_value=np.nan)
    t_cal = histories["t_weeks"].to_numpy(dtype=float, na_value=np.nan)
    m_x = histories["monetary_value"].to_numpy(dtype=float, na_value=np.nan)
    return x, t_x, t_cal, m_x


def clv_parameter_table(histories: pd.DataFrame, as_of: date | None) -> pd.DataFrame:
    """BG/NBD (r, alpha, a, b) and Gamma-Gamma (p, q, gamma) rows from purchase histories.

    ``histories`` has ``frequency`` (x), ``recency_weeks`` (t_x), ``t_weeks`` (T) and
    ``monetary_value`` (m_x, NULL when x = 0). Gamma-Gamma is fitted on repeat buyers
    with a positive mean spend: a repeat day without revenue carries no spend scale.
    Columns: :data:`PARAMETER_COLUMN_TYPES`.
    """
    x, t_x, t_cal, m_x = _history_arrays(histories)
    with np.errstate(invalid="ignore"):
        spenders = (x > 0) & (m_x > 0)
    purchases = _parameter_rows(
        "bgnbd", bgnbd.PARAMETER_NAMES, "BG/NBD", BGNBD_NOT_FITTED, float(x.size),
        bgnbd.sample_shortfall(x), lambda: bgnbd.fit(x, t_x, t_cal), as_of)
    spend = _parameter_rows(
        "gamma_gamma", gamma_gamma.PARAMETER_NAMES, "Gamma-Gamma", GAMMA_GAMMA_NOT_FITTED,
        float(spenders.sum()), gamma_gamma.sample_shortfall(x, m_x),
        lambda: gamma_gamma.fit(x[spenders], m_x[spenders]), as_of)
    return pd.concat([purchases, spend], ignore_index=True)


def sbg_parameter_table(durations: pd.DataFrame, as_of: date | None) -> pd.DataFrame:
    """sBG rows (alpha, beta) from contract durations (``duration_terms``, ``is_churned``).

    ``n_customers`` counts the customers with a decided first term (duration >= 1), the
    ones the likelihood uses. Columns: :data:`PARAMETER_COLUMN_TYPES`.
    """
    d = durations["duration_terms"].to_numpy(dtype=float, na_value=np.nan)
    churned = durations["is_churned"].to_numpy(dtype=bool, na_value=False)
    return _parameter_rows(
        "sbg", retention.SBG_PARAMETER_NAMES, "sBG", SBG_NOT_FITTED, float((d >= 1).sum()),
        retention.sbg_sample_shortfall(d, churned),
        lambda: retention.fit_sbg_durations(d, churned), as_of)


def fitted_estimates(parameters: pd.DataFrame, model: str,
                     names: Sequence[str]) -> dict[str, float] | None:
    """The estimates of ``model`` when it is fitted with a finite value for every one of
    ``names``; None otherwise (not fitted, failed, or a row missing)."""
    rows = parameters[parameters["model"] == model] if "model" in parameters else parameters
    if rows.empty or not (rows["status"] == FITTED).all():
        return None
    values = rows.set_index("parameter")["estimate"]
    if not all(name in values.index for name in names):
        return None
    estimates = {name: float(values[name]) for name in names}
    if not all(np.isfinite(v) for v in estimates.values()):
        return None
    return estimates


def _column(values: np.ndarray | None, rows: int) -> list[float | None]:
    return [None] * rows if values is None else finite_or_none(values)


def clv_prediction_table(histories: pd.DataFrame, parameters: pd.DataFrame,
                         monthly_discount_rate: float) -> pd.DataFrame:
    """Per customer, the BG/NBD predictions that need 2F1, and P(alive) as a reference.

    ``expected_purchases_52w``: E[Y(52 weeks) | x, t_x, T]; ``expected_purchases_12m`` and
    ``discounted_purchases_12m``: expected purchases in the next 12 months (of 365.25/12
    days), plain and discounted monthly (the discounted CLV of a customer whose every
    purchase is worth 1). NULL for every customer when BG/NBD is not fitted.
    """
    x, t_x, t_cal, _ = _history_arrays(histories)
    estimates = fitted_estimates(parameters, "bgnbd", bgnbd.PARAMETER_NAMES)
    alive = purchases_52w = purchases_12m = discounted = None
    if estimates is not None and x.size:
        params = BGNBDParams(**estimates)
        with np.errstate(all="ignore"):
            alive = bgnbd.p_alive(params, x, t_x, t_cal)
            purchases_52w = bgnbd.conditional_expected_purchases(
                params, HORIZON_WEEKS, x, t_x, t_cal)
            purchases_12m = expected_purchases_by_month(
                params, x, t_x, t_cal, HORIZON_MONTHS, WEEKS_PER_MONTH).sum(axis=1)
            discounted = discounted_clv(params, x, t_x, t_cal, 1.0, HORIZON_MONTHS,
                                        monthly_discount_rate=monthly_discount_rate)
    rows = x.size
    return pd.DataFrame({
        "customer_id": histories["customer_id"].astype(str).tolist(),
        "p_alive": _column(alive, rows),
        "expected_purchases_52w": _column(purchases_52w, rows),
        "expected_purchases_12m": _column(purchases_12m, rows),
        "discounted_purchases_12m": _column(discounted, rows),
    }, columns=list(CLV_PREDICTION_COLUMN_TYPES))


def retention_prediction_table(durations: pd.DataFrame, parameters: pd.DataFrame,
                               period_discount_rate: float) -> pd.DataFrame:
    """Per active (not churned) subscriber, the next-renewal probability and DERL (sBG).

    NULL for every customer when sBG is not fitted.
    """
    active = durations[~durations["is_churned"].astype(bool)]
    renewals = active["renewals"].to_numpy(dtype=float, na_value=np.nan)
    estimates = fitted_estimates(parameters, "sbg", retention.SBG_PARAMETER_NAMES)
    renewal = derl = None
    if estimates is not None and renewals.size:
        params = SBGParams(**estimates)
        with np.errstate(all="ignore"):
            renewal = retention.sbg_renewal_probability(params, renewals)
            derl = retention.sbg_discounted_expected_residual_lifetime(
                params, renewals, period_discount_rate)
    rows = renewals.size
    return pd.DataFrame({
        "customer_id": active["customer_id"].astype(str).tolist(),
        "renewal_probability": _column(renewal, rows),
        "discounted_expected_residual_lifetime": _column(derl, rows),
    }, columns=list(RETENTION_PREDICTION_COLUMN_TYPES))


def survival_curve_table(durations: pd.DataFrame, parameters: pd.DataFrame) -> pd.DataFrame:
    """Kaplan-Meier and fitted sBG survival per contract period 0 … longest duration.

    No rows without durations; ``sbg_survival`` is NULL when sBG is not fitted.
    """
    d = durations["duration_terms"].to_numpy(dtype=float, na_value=np.nan)
    churned = durations["is_churned"].to_numpy(dtype=bool, na_value=False)
    if d.size == 0:
        return pd.DataFrame({name: pd.Series(dtype=object)
                             for name in SURVIVAL_CURVE_COLUMN_TYPES})
    km = retention.kaplan_meier(d, churned)
    periods = np.arange(0, int(km.times.max()) + 1)
    # Step functions of t: the estimate just after the last duration <= t.
    step = np.searchsorted(km.times, periods, side="right")
    leaving = km.n_churned + km.n_censored
    exact = np.isin(periods, km.times)
    position = np.maximum(step - 1, 0)
    estimates = fitted_estimates(parameters, "sbg", retention.SBG_PARAMETER_NAMES)
    sbg = None
    if estimates is not None:
        with np.errstate(all="ignore"):
            sbg = retention.sbg_survival(SBGParams(**estimates), periods)
    return pd.DataFrame({
        "period": periods.astype("int64"),
        # Durations >= t: censored at t counts as at risk at t.
        "at_risk": np.array([leaving[km.times >= t].sum() for t in periods]).astype("int64"),
        "churned": np.where(exact, km.n_churned[position], 0.0).astype("int64"),
        "censored": np.where(exact, km.n_censored[position], 0.0).astype("int64"),
        "km_survival": finite_or_none(km.at(periods)),
        "km_se": finite_or_none(np.concatenate(([0.0], km.se))[step]),
        "sbg_survival": _column(sbg, periods.size),
    }, columns=list(SURVIVAL_CURVE_COLUMN_TYPES))
