"""Churn model of contract terms fitted on the labelled terms, as standardised coefficients.

One row per fitted feature. Fitting (logistic regression) needs an optimiser, so it runs
here with cx_value.churn; scoring is a closed form of these numbers and lives in SQL
(fct_contract_churn_risk). Too few churned or renewed terms: an empty table, and the
scores stay empty.
"""

from datetime import date, timedelta

import pandas as pd

from cx_value.churn.dag import fit_coefficients
from cx_value.churn.features import Timing

COLUMN_TYPES = {
    "feature": "varchar",
    "feature_order": "integer",
    "coefficient": "double",
    "mean": "double",
    "sd": "double",
    "intercept": "double",
    "n_train": "bigint",
    "train_end": "date",
    "auc_backtest": "double",
    "brier_backtest": "double",
}


def model(dbt, session):
    dbt.config(materialized="table")
    timing = Timing(lead_days=int(dbt.config.get("lead_days")),
                    grace_days=int(dbt.config.get("grace_days")))
    features = dbt.ref("int_contract_term_features").df()

    configured = dbt.config.get("train_end")
    configured = str(configured or "").strip()
    if configured:
        train_end = date.fromisoformat(configured)
    elif features.empty:
        train_end = None
    else:
        # Every label is known by then: a term ending before as_of - grace has had its chance.
        as_of = pd.Timestamp(features["as_of_date"].max()).date()
        train_end = as_of - timedelta(days=timing.grace_days)

    if train_end is None:
        table = pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMN_TYPES})
    else:
        table = fit_coefficients(features, train_end, timing).coefficients
    # Typed in SQL, so an empty fit still gives the table its column types.
    typed = ", ".join(f"cast({c} as {t}) as {c}" for c, t in COLUMN_TYPES.items())
    return session.from_df(table).project(typed)
