"""The churn model as the warehouse fits it: one fit on every labelled term, as a table.

``int_contract_term_features`` holds every term whose cut-off has passed, with the label
left empty while a renewal may still start. :func:`fit_coefficients` fits
:func:`cx_value.churn.model.fit` on the labelled terms that end before ``train_end`` and
returns one row per fitted feature: the standardised coefficient with the mean and
standard deviation that standardise it, so SQL can score
``1 / (1 + exp(-(intercept + sum(coefficient * (x - mean) / sd))))`` with a missing ``x``
contributing nothing, exactly as the pipeline's mean imputation does.

Small data: with fewer than ``min_class_terms`` churned or renewed training terms, or no
feature that varies, nothing is fitted and the table is empty (scores stay empty).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score

from cx_value.churn.features import DEFAULT_TIMING, FEATURES, Timing
from cx_value.churn.model import LABEL, ChurnModel, fit, latest_training_end, varied_features

MIN_CLASS_TERMS = 10
"""Fewest churned and fewest renewed training terms a fit needs."""

BACKTEST_DAYS = 365
"""The held-out window of the backtest: labelled terms ending in the last year before
``train_end``; the backtest model trains on terms ending before
:func:`~cx_value.churn.model.latest_training_end` of that window."""

COEFFICIENT_COLUMNS: tuple[str, ...] = (
    "feature", "feature_order", "coefficient", "mean", "sd", "intercept", "n_train",
    "train_end", "auc_backtest", "brier_backtest",
)


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


def can_fit(train: pd.DataFrame, features: Sequence[str] = FEATURES,
            min_class_terms: int = MIN_CLASS_TERMS) -> bool:
    """Both classes hold at least ``min_class_terms`` terms and some feature varies."""
    counts = train[LABEL].value_counts()
    if counts.get(0, 0) < min_class_terms or counts.get(1, 0) < min_class_terms:
        return False
    return bool(varied_features(train, features))


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


def fit_coefficients(features: pd.DataFrame, train_end: date,
                     timing: Timing = DEFAULT_TIMING, names: Sequence[str] = FEATURES,
                     min_class_terms: int = MIN_CLASS_TERMS) -> DagFit:
    """Fit on labelled terms ending before ``train_end``; one row per fitted feature.

    Columns (:data:`COEFFICIENT_COLUMNS`): ``feature``, ``feature_order`` (its place in
    ``names``, which breaks ties between drivers as :func:`~cx_value.churn.model.top_drivers`
    does), ``coefficient`` (log-odds per sd), ``mean`` and ``sd`` (the pipeline's imputer
    mean and scaler scale), ``intercept``, ``n_train``, ``train_end`` and the backtest's
    ``auc_backtest`` and ``brier_backtest`` (NaN when the backtest window is too small).
    """
    train = labelled_before(features, train_end)
    if not can_fit(train, names, min_class_terms):
        return DagFit(model=None, coefficients=pd.DataFrame(
            {c: pd.Series(dtype=object) for c in COEFFICIENT_COLUMNS}))
    model = fit(train, names)
    scaler = model.pipeline.named_steps["scale"]
    auc, brier = _backtest(features, train_end, timing, names, min_class_terms)
    order = {name: i + 1 for i, name in enumerate(names)}
    table = pd.DataFrame({
        "feature": list(model.features),
        "feature_order": [order[f] for f in model.features],
        "coefficient": model.coefficients,
        "mean": np.asarray(scaler.mean_, dtype=np.float64),
        "sd": np.asarray(scaler.scale_, dtype=np.float64),
    })
    table["intercept"] = model.intercept
    table["n_train"] = len(train)
    table["train_end"] = train_end
    table["auc_backtest"] = auc
    table["brier_backtest"] = brier
    return DagFit(model=model, coefficients=table.loc[:, list(COEFFICIENT_COLUMNS)])
