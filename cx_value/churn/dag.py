"""The churn model as the warehouse fits it: one fit on every labelled term, as a table.

``int_contract_term_features`` holds every term whose cut-off has passed, with the label
left empty while a renewal may still start. :func:`fit_coefficients` fits
:func:`cx_value.churn.model.fit` on the labelled terms that end before ``train_end`` and
returns one row per fitted feature: the standardised coefficient with the mean and
standard deviation that standardise it, so SQL can score
``1 / (1 + exp(-(intercept + sum(coefficient * (x - mean) / sd))))`` with a missing ``x``
contributing nothing, exactly as the pipeline's mean imputation does.

Small data: with fewer than ``min_class_terms`` churned or renewed training terms, or no
feature that varies, nothing is fitted: the table holds one row per candidate feature with
``status`` ``not_enough_data``, the counts, and NULL coefficients, so the scores are NULL
with that status. A fit that raises gives ``status`` ``failed``. Every row carries the
model's diagnostics (``converged``, ``is_identified``, ``warning``; see
:mod:`cx_value.churn.model`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score

from cx_value.churn.features import DEFAULT_TIMING, FEATURES, Timing
from cx_value.churn.model import (
    LABEL,
    ChurnModel,
    fit,
    latest_training_end,
    varied_features,
)
from cx_value.fit_status import (
    FAILED,
    FITTED,
    NOT_ENOUGH_DATA,
    failure_reason,
    not_fitted_warning,
)

MIN_CLASS_TERMS = 10
"""Fewest churned and fewest renewed training terms a fit needs: the events-per-class
floor below which a logistic regression's intercept alone is barely determined."""

BACKTEST_DAYS = 365
"""The held-out window of the backtest: labelled terms ending in the last year before
``train_end``; the backtest model trains on terms ending before
:func:`~cx_value.churn.model.latest_training_end` of that window."""

COEFFICIENT_COLUMN_TYPES: dict[str, str] = {
    "feature": "varchar",
    "feature_order": "integer",
    "coefficient": "double",
    "standard_error": "double",
    "mean": "double",
    "sd": "double",
    "intercept": "double",
    "intercept_standard_error": "double",
    "n_train": "bigint",
    "n_churned": "bigint",
    "n_renewed": "bigint",
    "log_likelihood": "double",
    "train_end": "date",
    "auc_backtest": "double",
    "brier_backtest": "double",
    "status": "varchar",
    "status_reason": "varchar",
    "converged": "boolean",
    "is_identified": "boolean",
    "warning": "varchar",
}
"""Columns of the coefficient table and their SQL types (the dbt model casts to them)."""

COEFFICIENT_COLUMNS: tuple[str, ...] = tuple(COEFFICIENT_COLUMN_TYPES)


@dataclass(frozen=True)
class DagFit:
    """The fitted model (None when the data are too small) and its coefficient table."""

    model: ChurnModel | None
    coefficients: pd.DataFrame


def labelled_before(features: pd.DataFrame, end: date, start: date | None = None) -> pd.DataFrame:
    """Terms with a known label ending in ``[start, end)`` (from the first term if no start)."""
    end_date = pd.to_datetime(features["end_date"])
    keep = features[LABEL].notna() & (end_date < pd.Timestamp(end))
    if start is not None:
        keep &= end_date >= pd.Timestamp(start)
    out = features[keep].copy()
    out[LABEL] = out[LABEL].astype("int64")
    return out


def sample_shortfall(train: pd.DataFrame, features: Sequence[str] = FEATURES,
                     min_class_terms: int = MIN_CLASS_TERMS) -> str | None:
    """Why the labelled terms are too few to fit, or None when they suffice.

    Both classes need at least ``min_class_terms`` terms, and some feature must vary.
    """
    counts = train[LABEL].value_counts() if len(train) else pd.Series(dtype="int64")
    churned, renewed = int(counts.get(1, 0)), int(counts.get(0, 0))
    if churned < min_class_terms or renewed < min_class_terms:
        return (f"needs at least {min_class_terms} churned and {min_class_terms} renewed "
                f"training terms, found {churned} churned and {renewed} renewed")
    if not varied_features(train, features):
        return "no feature varies across the training terms"
    return None


def can_fit(train: pd.DataFrame, features: Sequence[str] = FEATURES,
            min_class_terms: int = MIN_CLASS_TERMS) -> bool:
    """Both classes hold at least ``min_class_terms`` terms and some feature varies."""
    return sample_shortfall(train, features, min_class_terms) is None


def _backtest(features: pd.DataFrame, train_end: date, timing: Timing,
              names: Sequence[str], min_class_terms: int) -> tuple[float, float]:
    test_start = train_end - timedelta(days=BACKTEST_DAYS)
    test = labelled_before(features, train_end, test_start)
    train = labelled_before(features, latest_training_end(test_start, timing))
    if not can_fit(train, names, min_class_terms) or test[LABEL].nunique() < 2:
        return float("nan"), float("nan")
    model = fit(train, names)
    p = model.pipeline.predict_proba(
        test.loc[:, list(model.features)].to_numpy(dtype=np.float64, na_value=np.nan))[:, 1]
    y = test[LABEL].to_numpy(dtype=np.int64)
    return float(roc_auc_score(y, p)), float(brier_score_loss(y, p))


def not_fitted_table(names: Sequence[str], status: str, reason: str, n_train: int = 0,
                     n_churned: int = 0, n_renewed: int = 0,
                     train_end: date | None = None) -> pd.DataFrame:
    """One row per candidate feature with NULL coefficients: the table of a model that was
    not fitted (``status`` ``not_enough_data`` or ``failed``), with the counts and why."""
    rows = len(names)
    return pd.DataFrame({
        "feature": list(names),
        "feature_order": list(range(1, rows + 1)),
        **{c: [None] * rows for c in ("coefficient", "standard_error", "mean", "sd",
                                      "intercept", "intercept_standard_error")},
        "n_train": [n_train] * rows,
        "n_churned": [n_churned] * rows,
        "n_renewed": [n_renewed] * rows,
        "log_likelihood": [None] * rows,
        "train_end": [train_end] * rows,
        "auc_backtest": [None] * rows,
        "brier_backtest": [None] * rows,
        "status": [status] * rows,
        "status_reason": [reason] * rows,
        "converged": [None] * rows,
        "is_identified": [False] * rows,
        "warning": [not_fitted_warning("Churn model", status, reason,
                                       "churn probabilities, risk bands and drivers are "
                                       "NULL")] * rows,
    }).loc[:, list(COEFFICIENT_COLUMNS)]


def fit_coefficients(features: pd.DataFrame, train_end: date | None,
                     timing: Timing = DEFAULT_TIMING, names: Sequence[str] = FEATURES,
                     min_class_terms: int = MIN_CLASS_TERMS) -> DagFit:
    """Fit on labelled terms ending before ``train_end``; one row per fitted feature.

    Columns (:data:`COEFFICIENT_COLUMN_TYPES`): ``feature``, ``feature_order`` (its place
    in ``names``, which breaks ties between drivers as
    :func:`~cx_value.churn.model.top_drivers` does), ``coefficient`` (log-odds per sd) and
    its ``standard_error``, ``mean`` and ``sd`` (the pipeline's imputer mean and scaler
    scale), ``intercept`` and ``intercept_standard_error``, the training counts
    ``n_train``, ``n_churned``, ``n_renewed``, the unpenalised ``log_likelihood``,
    ``train_end``, the backtest's ``auc_backtest`` and ``brier_backtest`` (NaN when the
    backtest window is too small), and the status and diagnostics ``status``,
    ``status_reason`` (NULL when fitted), ``converged``, ``is_identified``, ``warning``.

    Below the minimum sample (:func:`sample_shortfall`), or without a ``train_end`` (no
    terms at all), the table is :func:`not_fitted_table` with ``not_enough_data``; a fit
    that raises gives ``failed``. Never raises for small or empty input.
    """
    if train_end is None or features.empty:
        return DagFit(model=None, coefficients=not_fitted_table(
            names, NOT_ENOUGH_DATA, "no contract terms with a feature cut-off",
            train_end=train_end))
    train = labelled_before(features, train_end)
    counts = train[LABEL].value_counts()
    n_churned, n_renewed = int(counts.get(1, 0)), int(counts.get(0, 0))
    shortfall = sample_shortfall(train, names, min_class_terms)
    if shortfall is not None:
        return DagFit(model=None, coefficients=not_fitted_table(
            names, NOT_ENOUGH_DATA, shortfall, len(train), n_churned, n_renewed, train_end))
    try:
        model = fit(train, names)
    except Exception as error:  # a failed fit is reported, not raised
        return DagFit(model=None, coefficients=not_fitted_table(
            names, FAILED, failure_reason(error), len(train), n_churned, n_renewed,
            train_end))
    try:
        auc, brier = _backtest(features, train_end, timing, names, min_class_terms)
    except Exception:  # a check: the fit stands without it
        auc, brier = float("nan"), float("nan")
    diagnostics = model.diagnostics
    assert diagnostics is not None  # fit always diagnoses
    scaler = model.pipeline.named_steps["scale"]
    order = {name: i + 1 for i, name in enumerate(names)}
    table = pd.DataFrame({
        "feature": list(model.features),
        "feature_order": [order[f] for f in model.features],
        "coefficient": model.coefficients,
        "standard_error": np.asarray(diagnostics.coefficient_se, dtype=np.float64),
        "mean": np.asarray(scaler.mean_, dtype=np.float64),
        "sd": np.asarray(scaler.scale_, dtype=np.float64),
    })
    table["intercept"] = model.intercept
    table["intercept_standard_error"] = diagnostics.intercept_se
    table["n_train"] = len(train)
    table["n_churned"] = diagnostics.n_churned
    table["n_renewed"] = diagnostics.n_renewed
    table["log_likelihood"] = diagnostics.log_likelihood
    table["train_end"] = train_end
    table["auc_backtest"] = auc
    table["brier_backtest"] = brier
    table["status"] = FITTED
    table["status_reason"] = None
    table["converged"] = diagnostics.converged
    table["is_identified"] = diagnostics.is_identified
    table["warning"] = diagnostics.warning
    return DagFit(model=model, coefficients=table.loc[:, list(COEFFICIENT_COLUMNS)])
