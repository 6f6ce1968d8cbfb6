"""Churn model of contract terms fitted on the labelled terms, as standardised coefficients.

One row per model column (a numeric feature or one category of a categorical one) and
per candidate the fit left out, with the fit's status and diagnostics. Fitting (logistic
regression) needs an optimiser, so it runs here with cx_value.churn; scoring is a closed
form of these numbers and lives in SQL (fct_contract_churn_risk). Too few churned or
renewed terms: one row per candidate feature with status not_enough_data and NULL
coefficients, and the scores are NULL with that status.
"""

from datetime import date, timedelta

import pandas as pd

from cx_value.churn.dag import COEFFICIENT_COLUMN_TYPES, fit_coefficients
from cx_value.fit_status import cast_projection


def model(dbt, session):
    dbt.config(materialized="table")
    features = dbt.ref("int_contract_term_features").df()
    catalog = dbt.ref("churn_feature_catalog").df()

    configured = str(dbt.config.get("train_end") or "").strip()
    if configured:
        train_end = date.fromisoformat(configured)
    elif features.empty:
        train_end = None
    else:
        # every labelled term: its outcome is known on the observation date
        train_end = pd.Timestamp(features["as_of_date"].max()).date() + timedelta(days=1)

    table = fit_coefficients(features, catalog, train_end).coefficients
    # Typed in SQL, so a table without a fit still gives its columns their types.
    return session.from_df(table).project(cast_projection(COEFFICIENT_COLUMN_TYPES))
