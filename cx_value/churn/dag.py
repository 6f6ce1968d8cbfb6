"""The churn model as the warehouse fits it: coefficient and backtest tables.

``int_contract_term_features`` holds every known contract term with its features and
its label (NULL while neither churned nor renewed); ``churn_feature_catalog`` lists the
candidate features, their kind and whether their source was observed.
:func:`fit_coefficients` fits :func:`cx_value.churn.model.fit` on the labelled terms
decided before ``train_end`` and returns one row per model column: the standardised
coefficient with the mean and standard deviation that standardise it, so SQL can score
``1 / (1 + exp(-(intercept + sum(coefficient * (x - mean) / sd))))`` with a missing ``x``
contributing nothing, exactly as the pipeline's mean imputation does. A categorical
feature has one row per category (``source_feature``, ``category``; ``x`` is 1 for the
term's category, 0 for another, NULL when unknown). Candidate features and columns the
fit does not use (source not observed, no value, hardly varying, reference category)
have a row too, with ``is_used`` false and the ``drop_reason``.

Small data: with fewer than ``min_class_terms`` churned or renewed training terms, or no
column that varies, nothing is fitted: the table holds one row per candidate feature
with ``status`` ``not_enough_data``, the counts, and NULL coefficients, so the scores are
NULL with that status. A fit that raises gives ``status`` ``failed``. Every row carries
the model's diagnostics (``converged``, ``is_identified``, ``warning``; see
:mod:`cx_value.churn.model`).

:func:`backtest_table` runs :func:`cx_value.churn.model.honest_backtest` and returns one
row per calibration decile with the summary repeated on each, or one row saying why no
backtest was run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from cx_value.churn.model import (
    LABEL,
    MIN_CLASS_TERMS,
    MIN_VARIED_SHARE,
    NUMERIC,
    ChurnModel,
    Feature,
    categories,
    class_counts,
    fit,
    honest_backtest,
    labelled,
)
from cx_value.fit_status import (
    FAILED,
    FITTED,
    NOT_ENOUGH_DATA,
    failure_reason,
    in_key_order,
    not_fitted_warning,
)

COEFFICIENT_COLUMN_TYPES: dict[str, str] = {
    "feature": "varchar",
    "source_feature": "varchar",
    "category": "varchar",
    "feature_kind": "varchar",
    "feature_order": "integer",
    "is_used": "boolean",
    "drop_reason": "varchar",
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
    "status": "varchar",
    "status_reason": "varchar",
    "converged": "boolean",
    "is_identified": "boolean",
    "warning": "varchar",
}
"""Columns of the coefficient table and their SQL types (the dbt model casts to them)."""

COEFFICIENT_COLUMNS: tuple[str, ...] = tuple(COEFFICIENT_COLUMN_TYPES)

BACKTEST_COLUMN_TYPES: dict[str, str] = {
    "decile": "integer",
    "decile_terms": "bigint",
    "decile_mean_predicted": "double",
    "decile_observed_rate": "double",
    "status": "varchar",
    "status_reason": "varchar",
    "method": "varchar",
    "split_date": "date",
    "n_folds": "integer",
    "n_train": "bigint",
    "n_test": "bigint",
    "n_test_churned": "bigint",
    "auc": "double",
    "brier": "double",
    "base_rate": "double",
    "brier_base_rate": "double",
    "mean_predicted": "double",
}
"""Columns of the backtest table and their SQL types."""

BACKTEST_COLUMNS: tuple[str, ...] = tuple(BACKTEST_COLUMN_TYPES)


@dataclass(frozen=True)
class DagFit:
    """The fitted model (None when the data are too small) and its coefficient table."""

    model: ChurnModel | None
    coefficients: pd.DataFrame


@dataclass(frozen=True)
class Candidates:
    """The features the fit may use, and those it may not with the reason."""

    features: tuple[Feature, ...]
    unavailable: dict[str, str]
    order: tuple[Feature, ...]


def candidates(catalog: pd.DataFrame) -> Candidates:
    """Candidate features of ``churn_feature_catalog``: usable ones, and the reasons of
    those whose source was not observed."""
    rows = catalog.sort_values("feature_order", kind="stable")
    order = tuple(Feature(str(r.feature), str(r.feature_kind)) for r in rows.itertuples())
    unavailable = {str(r.feature): str(r.unavailable_reason) for r in rows.itertuples()
                   if not bool(r.is_source_observed)}
    return Candidates(tuple(f for f in order if f.name not in unavailable), unavailable, order)


def training_terms(features: pd.DataFrame, train_end: date | None) -> pd.DataFrame:
    """Labelled terms decided before ``train_end`` (every labelled term without one)."""
    terms = labelled(features)
    if train_end is not None:
        terms = terms[pd.to_datetime(terms["outcome_date"]) < pd.Timestamp(train_end)]
    return terms


def sample_shortfall(train: pd.DataFrame, features: Sequence[str | Feature],
                     min_class_terms: int = MIN_CLASS_TERMS) -> str | None:
    """Why the labelled terms are too few to fit, or None when they suffice.

    Both classes need at least ``min_class_terms`` terms, and some feature must be there.
    """
    churned, renewed = class_counts(train) if len(train) else (0, 0)
    if churned < min_class_terms or renewed < min_class_terms:
        return (f"needs at least {min_class_terms} churned and {min_class_terms} renewed "
                f"training terms, found {churned} churned and {renewed} renewed")
    if not features:
        return "no candidate feature has an observed source"
    return None


def not_fitted_table(order: Sequence[Feature], unavailable: dict[str, str], status: str,
                     reason: str, n_train: int = 0, n_churned: int = 0, n_renewed: int = 0,
                     train_end: date | None = None) -> pd.DataFrame:
    """One row per candidate feature with NULL coefficients: the table of a model that was
    not fitted (``status`` ``not_enough_data`` or ``failed``), with the counts and why."""
    rows = len(order)
    return pd.DataFrame({
        "feature": [f.name for f in order],
        "source_feature": [f.name for f in order],
        "category": [None] * rows,
        "feature_kind": [f.kind for f in order],
        "feature_order": list(range(1, rows + 1)),
        "is_used": [False] * rows,
        "drop_reason": [unavailable.get(f.name) for f in order],
        **{c: [None] * rows for c in ("coefficient", "standard_error", "mean", "sd",
                                      "intercept", "intercept_standard_error")},
        "n_train": [n_train] * rows,
        "n_churned": [n_churned] * rows,
        "n_renewed": [n_renewed] * rows,
        "log_likelihood": [None] * rows,
        "train_end": [train_end] * rows,
        "status": [status] * rows,
        "status_reason": [reason] * rows,
        "converged": [None] * rows,
        "is_identified": [False] * rows,
        "warning": [not_fitted_warning("Churn model", status, reason,
                                       "churn probabilities, risk bands and drivers are "
                                       "NULL")] * rows,
    }).loc[:, list(COEFFICIENT_COLUMNS)]


def _feature_rows(model: ChurnModel, order: Sequence[Feature], unavailable: dict[str, str],
                  train: pd.DataFrame) -> list[dict[str, object]]:
    """One row per used column and per candidate the fit left out, in catalog order."""
    diagnostics = model.diagnostics
    assert diagnostics is not None  # fit always diagnoses
    scaler = model.pipeline.named_steps["scale"]
    used = {c.name: i for i, c in enumerate(model.columns)}
    rows: list[dict[str, object]] = []

    def add(feature: str, source: Feature, category: str | None,
            drop_reason: str | None = None) -> None:
        i = used.get(feature)
        rows.append({
            "feature": feature, "source_feature": source.name, "category": category,
            "feature_kind": source.kind, "is_used": i is not None,
            "drop_reason": drop_reason,
            "coefficient": None if i is None else float(model.coefficients[i]),
            "standard_error": None if i is None else float(diagnostics.coefficient_se[i]),
            "mean": None if i is None else float(scaler.mean_[i]),
            "sd": None if i is None else float(scaler.scale_[i]),
        })

    hardly = (f"fewer than {MIN_VARIED_SHARE:.0%} of the training terms differ from its "
              "most common value")
    for source in order:
        if source.name in unavailable:
            add(source.name, source, None, unavailable[source.name])
            continue
        if source.kind == NUMERIC:
            if train[source.name].notna().any():
                add(source.name, source, None,
                    None if source.name in used else hardly)
            else:
                add(source.name, source, None, "no value in the training terms")
            continue
        reference = model.references.get(source.name)
        if reference is None:
            add(source.name, source, None, "no value in the training terms")
            continue
        add(f"{source.name}={reference}", source, reference,
            "reference category: the other categories' coefficients are relative to it")
        for category in categories(train[source.name])[1:]:
            name = f"{source.name}={category}"
            add(name, source, category, None if name in used else hardly)
    return rows


def fit_coefficients(features: pd.DataFrame, catalog: pd.DataFrame,
                     train_end: date | None = None,
                     min_class_terms: int = MIN_CLASS_TERMS) -> DagFit:
    """Fit on labelled terms decided before ``train_end``; one row per model column.

    Columns (:data:`COEFFICIENT_COLUMN_TYPES`): ``feature`` (a column of
    int_contract_term_features, or ``<column>=<category>``), ``source_feature``,
    ``category`` (NULL for a numeric feature), ``feature_kind``, ``feature_order`` (its
    place in the catalog, categories in order, which breaks ties between drivers),
    ``is_used`` and ``drop_reason``, ``coefficient`` (log-odds per sd) and its
    ``standard_error``, ``mean`` and ``sd`` (the pipeline's imputer mean and scaler
    scale), ``intercept`` and ``intercept_standard_error``, the training counts
    ``n_train``, ``n_churned``, ``n_renewed``, the unpenalised ``log_likelihood``,
    ``train_end``, and the status and diagnostics ``status``, ``status_reason`` (NULL when
    fitted), ``converged``, ``is_identified``, ``warning``.

    Below the minimum sample (:func:`sample_shortfall`) the table is
    :func:`not_fitted_table` with ``not_enough_data``; a fit that raises gives
    ``failed``. Never raises for small or empty input.
    """
    features = in_key_order(features, "subscription_id")
    chosen = candidates(catalog)
    train = training_terms(features, train_end) if not features.empty else features
    n_churned, n_renewed = class_counts(train) if len(train) else (0, 0)
    shortfall = sample_shortfall(train, chosen.features, min_class_terms)
    if shortfall is not None:
        return DagFit(model=None, coefficients=not_fitted_table(
            chosen.order, chosen.unavailable, NOT_ENOUGH_DATA, shortfall, len(train),
            n_churned, n_renewed, train_end))
    try:
        model = fit(train, chosen.features)
    except ValueError as error:
        if "no feature varies" not in str(error):
            raise
        return DagFit(model=None, coefficients=not_fitted_table(
            chosen.order, chosen.unavailable, NOT_ENOUGH_DATA,
            "no feature varies across the training terms", len(train), n_churned,
            n_renewed, train_end))
    except Exception as error:  # a failed fit is reported, not raised
        return DagFit(model=None, coefficients=not_fitted_table(
            chosen.order, chosen.unavailable, FAILED, failure_reason(error), len(train),
            n_churned, n_renewed, train_end))
    diagnostics = model.diagnostics
    assert diagnostics is not None  # fit always diagnoses
    table = pd.DataFrame(_feature_rows(model, chosen.order, chosen.unavailable, train))
    table["feature_order"] = np.arange(1, len(table) + 1)
    table["intercept"] = model.intercept
    table["intercept_standard_error"] = diagnostics.intercept_se
    table["n_train"] = len(train)
    table["n_churned"] = diagnostics.n_churned
    table["n_renewed"] = diagnostics.n_renewed
    table["log_likelihood"] = diagnostics.log_likelihood
    table["train_end"] = train_end
    table["status"] = FITTED
    table["status_reason"] = None
    table["converged"] = diagnostics.converged
    table["is_identified"] = diagnostics.is_identified
    table["warning"] = diagnostics.warning
    return DagFit(model=model, coefficients=table.loc[:, list(COEFFICIENT_COLUMNS)])


def backtest_table(features: pd.DataFrame, catalog: pd.DataFrame,
                   min_class_terms: int = MIN_CLASS_TERMS) -> pd.DataFrame:
    """The backtest of the candidate features as a table (:data:`BACKTEST_COLUMN_TYPES`):
    one row per calibration decile (``decile`` 1 = lowest predicted risk) with the
    summary on every row, or a single row with ``decile`` NULL, ``status`` ``not_run``
    or ``failed`` and the reason, and NULL measures."""
    features = in_key_order(features, "subscription_id")
    chosen = candidates(catalog)
    if features.empty or LABEL not in features.columns:
        result = honest_backtest(pd.DataFrame({LABEL: []}), chosen.features, min_class_terms)
    else:
        result = honest_backtest(features, chosen.features, min_class_terms)
    summary: dict[str, object] = {
        "status": result.status,
        "status_reason": result.reason,
        "method": result.method,
        "split_date": result.split_date,
        "n_folds": result.n_folds,
        "n_train": result.n_train,
        "n_test": result.n_test,
        "n_test_churned": result.n_test_churned,
        "auc": result.auc,
        "brier": result.brier,
        "base_rate": result.base_rate,
        "brier_base_rate": (None if result.base_rate is None
                            else result.base_rate * (1.0 - result.base_rate)),
        "mean_predicted": result.mean_predicted,
    }
    if result.calibration is None:
        deciles = pd.DataFrame({"decile": [None], "decile_terms": [None],
                                "decile_mean_predicted": [None],
                                "decile_observed_rate": [None]})
    else:
        deciles = result.calibration.rename(columns={
            "bin": "decile", "terms": "decile_terms", "mean_predicted": "decile_mean_predicted",
            "observed": "decile_observed_rate"})
    for column, value in summary.items():
        deciles[column] = [value] * len(deciles)
    return deciles.loc[:, list(BACKTEST_COLUMNS)]


__all__ = [
    "BACKTEST_COLUMNS",
    "BACKTEST_COLUMN_TYPES",
    "COEFFICIENT_COLUMNS",
    "COEFFICIENT_COLUMN_TYPES",
    "Candidates",
    "DagFit",
    "backtest_table",
    "candidates",
    "fit_coefficients",
    "not_fitted_table",
    "sample_shortfall",
    "training_terms",
]
