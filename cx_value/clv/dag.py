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
from cx_value.clv.retention import ArrayLike, SBGParams
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


# ------------------------------------------------------------------ retention per group

RETENTION_GROUP_KEY = "retention_group"
"""Text key of a retention group: ``term_months=12`` plus ``column=value`` for every
column of var ``cx_retention_group_by``, written by int_customer_contract_durations."""

DURATION_COLUMNS: tuple[str, ...] = (
    "customer_id", "retention_group", "period_months", "first_start_date", "as_of_date",
    "terms_known", "terms_renewed", "lifetime_months", "renewals", "duration_periods",
    "is_churned", "is_censored", "latest_monthly_fee",
)
"""The fixed columns of int_customer_contract_durations; every other column of it is a
group column named by var ``cx_retention_group_by`` (see :func:`retention_group_columns`)."""

FIT_SCOPE_GROUP = "group"
FIT_SCOPE_POOLED = "pooled_term_length"

SBG_PARAMETER_COLUMN_TYPES: dict[str, str] = {
    "retention_group": "varchar",
    "term_months": "bigint",
    **PARAMETER_COLUMN_TYPES,
    "group_customers": "bigint",
    "fit_scope": "varchar",
    "is_pooled_fallback": "boolean",
    "fallback_reason": "varchar",
}
"""Columns of the sBG parameter table without the group columns (which follow
``term_months``, see :func:`with_group_columns`) and their SQL types."""

RETENTION_PREDICTION_COLUMN_TYPES: dict[str, str] = {
    "customer_id": "varchar",
    "retention_group": "varchar",
    "period_months": "bigint",
    "renewals": "bigint",
    "period_discount_rate": "double",
    "renewal_probability": "double",
    "discounted_expected_residual_lifetime": "double",
}

SURVIVAL_CURVE_COLUMN_TYPES: dict[str, str] = {
    "retention_group": "varchar",
    "term_months": "bigint",
    "period": "bigint",
    "months": "bigint",
    "at_risk": "bigint",
    "churned": "bigint",
    "censored": "bigint",
    "km_survival": "double",
    "km_se": "double",
    "km_lower_95": "double",
    "km_upper_95": "double",
    "sbg_survival": "double",
    "is_pooled_fallback": "boolean",
}
"""Columns of the survival curve without the group columns (which follow ``term_months``)."""

NO_SUBSCRIBERS = "no subscribers"
"""The group key of the placeholder rows of an sBG parameter table without subscribers,
so that the table still says why nothing is scored."""


def retention_group_columns(durations: pd.DataFrame) -> list[str]:
    """The group columns of a durations table: its columns beyond :data:`DURATION_COLUMNS`.

    The SQL model writes one column per entry of var ``cx_retention_group_by`` and refuses
    names that clash with its own, so reading them back needs no second copy of the var.
    """
    return [c for c in durations.columns if c not in DURATION_COLUMNS]


def with_group_columns(column_types: dict[str, str],
                       group_types: dict[str, str]) -> dict[str, str]:
    """``column_types`` with the group columns inserted after ``term_months``."""
    names = list(column_types)
    cut = names.index("term_months") + 1
    return {**{n: column_types[n] for n in names[:cut]}, **group_types,
            **{n: column_types[n] for n in names[cut:]}}


def _duration_arrays(durations: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    d = durations["duration_periods"].to_numpy(dtype=float, na_value=np.nan)
    churned = durations["is_churned"].to_numpy(dtype=bool, na_value=False)
    return d, churned


def _groups(durations: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(key, rows) per retention group, ordered by term length, then key."""
    order = (durations[[RETENTION_GROUP_KEY, "period_months"]].drop_duplicates()
             .sort_values(["period_months", RETENTION_GROUP_KEY]))
    return [(str(key), durations[durations[RETENTION_GROUP_KEY] == key])
            for key in order[RETENTION_GROUP_KEY]]


def _labelled(table: pd.DataFrame, label: str) -> pd.DataFrame:
    """The fit's identification warnings name the group (the engine writes plain "sBG")."""
    warnings = [w if w is None or w.startswith(label) or not w.startswith("sBG ")
                else f"{label} {w[4:]}" for w in table["warning"]]
    return table.assign(warning=warnings)


def _pooled_note(key: str, term_months: int, reason: str) -> str:
    return (f"sBG of group {key} fitted on every {term_months}-month customer "
            f"(pooled over the term length) because the group alone is too small: {reason}")


def sbg_parameter_table(durations: pd.DataFrame, as_of: date | None) -> pd.DataFrame:
    """sBG rows (alpha, beta) per retention group from customers' contract durations.

    ``durations`` is int_customer_contract_durations: ``retention_group``,
    ``period_months`` (the group's term length, one period), ``duration_periods``,
    ``is_churned`` and the group columns. A group with enough data
    (:func:`cx_value.clv.retention.sbg_sample_shortfall`) is fitted on its own
    (``fit_scope`` ``group``). A smaller one takes the fit pooled over every customer with
    the same term length (``pooled_term_length``, ``is_pooled_fallback``, the reason in
    ``fallback_reason`` and the warning) when that pool is larger than the group and
    enough; otherwise its rows are ``not_enough_data``. ``n_customers`` is the sample of
    the fit used, ``group_customers`` the group's own customers with a decided first
    period. Without subscribers the table has the two ``not_enough_data`` rows of a
    placeholder group, so it always says why nothing is scored. Columns:
    :data:`SBG_PARAMETER_COLUMN_TYPES` with the group columns after ``term_months``.
    """
    group_columns = retention_group_columns(durations)
    names = retention.SBG_PARAMETER_NAMES
    if durations.empty:
        d, churned = _duration_arrays(durations)
        rows = _parameter_rows("sbg", names, "sBG", SBG_NOT_FITTED, 0.0,
                               retention.sbg_sample_shortfall(d, churned),
                               lambda: None, as_of)
        rows = rows.assign(retention_group=NO_SUBSCRIBERS, term_months=None,
                           group_customers=0, fit_scope=None, is_pooled_fallback=False,
                           fallback_reason=None, **{c: None for c in group_columns})
        return rows.loc[:, _sbg_columns(group_columns)]

    pooled_fits: dict[int, pd.DataFrame] = {}
    tables = []
    for key, rows in _groups(durations):
        term_months = int(rows["period_months"].iloc[0])
        d, churned = _duration_arrays(rows)
        label = f"sBG ({key})"
        shortfall = retention.sbg_sample_shortfall(d, churned)
        scope, fallback_reason = FIT_SCOPE_GROUP, None
        table = _labelled(_parameter_rows(
            "sbg", names, label, SBG_NOT_FITTED, float((d >= 1).sum()), shortfall,
            lambda d=d, c=churned: retention.fit_sbg_durations(d, c), as_of), label)
        pool = durations[durations["period_months"] == term_months]
        if shortfall is not None and len(pool) > len(rows):
            if term_months not in pooled_fits:
                pool_d, pool_c = _duration_arrays(pool)
                pool_label = f"sBG (every {term_months}-month customer)"
                pooled_fits[term_months] = _labelled(_parameter_rows(
                    "sbg", names, pool_label, SBG_NOT_FITTED, float((pool_d >= 1).sum()),
                    retention.sbg_sample_shortfall(pool_d, pool_c),
                    lambda d=pool_d, c=pool_c: retention.fit_sbg_durations(d, c), as_of),
                    pool_label)
            pooled = pooled_fits[term_months]
            if (pooled["status"] == FITTED).all():
                scope, fallback_reason = FIT_SCOPE_POOLED, shortfall
                note = _pooled_note(key, term_months, shortfall)
                warnings = [note if w is None else f"{note}. {w}" for w in pooled["warning"]]
                table = pooled.assign(warning=warnings)
            else:
                reason = (f"{shortfall}; pooled over the {term_months}-month term length: "
                          f"{pooled['status_reason'].iloc[0]}")
                table = table.assign(status_reason=reason, warning=not_fitted_warning(
                    label, NOT_ENOUGH_DATA, reason, SBG_NOT_FITTED))
        values = rows.iloc[0]
        table = table.assign(
            retention_group=key, term_months=term_months,
            group_customers=int((d >= 1).sum()),
            fit_scope=scope if (table["status"] == FITTED).all() else None,
            is_pooled_fallback=scope == FIT_SCOPE_POOLED, fallback_reason=fallback_reason,
            **{c: values[c] for c in group_columns})
        tables.append(table.loc[:, _sbg_columns(group_columns)])
    return pd.concat(tables, ignore_index=True)


def _sbg_columns(group_columns: Sequence[str]) -> list[str]:
    return list(with_group_columns(SBG_PARAMETER_COLUMN_TYPES,
                                   {c: "" for c in group_columns}))


def _group_params(parameters: pd.DataFrame) -> dict[str, tuple[SBGParams, bool]]:
    """Per fitted group key, its sBG parameters and whether they are a pooled fallback."""
    fitted: dict[str, tuple[SBGParams, bool]] = {}
    for key, rows in parameters.groupby(RETENTION_GROUP_KEY, sort=False):
        estimates = fitted_estimates(rows, "sbg", retention.SBG_PARAMETER_NAMES)
        if estimates is not None:
            fitted[str(key)] = (SBGParams(**estimates), bool(rows["is_pooled_fallback"].all()))
    return fitted


def period_discount_rate(annual_rate: float, period_months: ArrayLike) -> np.ndarray:
    """The discount rate of one period of ``period_months`` months equivalent to
    ``annual_rate`` a year: (1 + annual)^(months / 12) - 1."""
    months = np.asarray(period_months, dtype=float)
    return (1.0 + annual_rate) ** (months / 12.0) - 1.0


def retention_prediction_table(durations: pd.DataFrame, parameters: pd.DataFrame,
                               annual_discount_rate: float) -> pd.DataFrame:
    """Per active (not churned) subscriber, the next-renewal probability and DERL (sBG)
    with the parameters of the customer's retention group.

    ``renewals`` n are the renewal decisions passed, in periods of the group's term
    length; DERL discounts per period at the rate equivalent to ``annual_discount_rate``
    (:func:`period_discount_rate`). NULL scores for the customers of a group that is not
    fitted.
    """
    active = durations[~durations["is_churned"].astype(bool)]
    renewals = active["renewals"].to_numpy(dtype=float, na_value=np.nan)
    months = active["period_months"].to_numpy(dtype=float, na_value=np.nan)
    rates = period_discount_rate(annual_discount_rate, months)
    renewal = np.full(renewals.size, np.nan)
    derl = np.full(renewals.size, np.nan)
    keys = active[RETENTION_GROUP_KEY].astype(str).to_numpy()
    for key, (params, _) in _group_params(parameters).items():
        mine = keys == key
        if mine.any():
            with np.errstate(all="ignore"):
                renewal[mine] = retention.sbg_renewal_probability(params, renewals[mine])
                derl[mine] = retention.sbg_discounted_expected_residual_lifetime(
                    params, renewals[mine], rates[mine])
    return pd.DataFrame({
        "customer_id": active["customer_id"].astype(str).tolist(),
        "retention_group": keys.tolist(),
        "period_months": months.astype("int64") if months.size else months,
        "renewals": renewals.astype("int64") if renewals.size else renewals,
        "period_discount_rate": finite_or_none(rates),
        "renewal_probability": finite_or_none(renewal),
        "discounted_expected_residual_lifetime": finite_or_none(derl),
    }, columns=list(RETENTION_PREDICTION_COLUMN_TYPES))


def _group_curve(rows: pd.DataFrame, params: SBGParams | None) -> pd.DataFrame:
    d, churned = _duration_arrays(rows)
    km = retention.kaplan_meier(d, churned)
    periods = np.arange(0, int(km.times.max()) + 1)
    # Step functions of t: the estimate just after the last duration <= t.
    step = np.searchsorted(km.times, periods, side="right")
    leaving = km.n_churned + km.n_censored
    exact = np.isin(periods, km.times)
    position = np.maximum(step - 1, 0)
    lower, upper = km.interval_at(periods)
    sbg = None
    if params is not None:
        with np.errstate(all="ignore"):
            sbg = retention.sbg_survival(params, periods)
    return pd.DataFrame({
        "period": periods.astype("int64"),
        # Durations >= t: censored at t counts as at risk at t.
        "at_risk": np.array([leaving[km.times >= t].sum() for t in periods]).astype("int64"),
        "churned": np.where(exact, km.n_churned[position], 0.0).astype("int64"),
        "censored": np.where(exact, km.n_censored[position], 0.0).astype("int64"),
        "km_survival": finite_or_none(km.at(periods)),
        "km_se": finite_or_none(np.concatenate(([0.0], km.se))[step]),
        "km_lower_95": finite_or_none(lower),
        "km_upper_95": finite_or_none(upper),
        "sbg_survival": _column(sbg, periods.size),
    })


def survival_curve_table(durations: pd.DataFrame, parameters: pd.DataFrame) -> pd.DataFrame:
    """Per retention group and period 0 … the group's longest duration: Kaplan-Meier with
    its 95 % log-log interval, and the group's sBG survival (its own fit or the pooled
    fallback; NULL when not fitted). ``months`` = period * term_months puts groups of
    different term lengths on one axis. No rows without durations.
    """
    group_columns = retention_group_columns(durations)
    columns = list(with_group_columns(SURVIVAL_CURVE_COLUMN_TYPES,
                                      {c: "" for c in group_columns}))
    fitted = _group_params(parameters)
    curves = []
    for key, rows in _groups(durations):
        params, pooled = fitted.get(key, (None, False))
        term_months = int(rows["period_months"].iloc[0])
        curve = _group_curve(rows, params)
        values = rows.iloc[0]
        curves.append(curve.assign(
            retention_group=key, term_months=term_months,
            months=(curve["period"] * term_months).astype("int64"),
            is_pooled_fallback=pooled if params is not None else None,
            **{c: values[c] for c in group_columns}).loc[:, columns])
    if not curves:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in columns})
    return pd.concat(curves, ignore_index=True)
