"""Churn model of contract terms fitted on the labelled terms, as standardised coefficients.

One row per fitted feature, with the fit's status and diagnostics. Fitting (logistic
regression) needs an optimiser, so it runs here with cx_value.churn; scoring is a closed
form of these numbers and lives in SQL (fct_contract_churn_risk). Too few churned or
renewed terms: one row per candidate feature with status not_enough_data and NULL
coefficients, and the scores are NULL with that status.
"""

from datetime import date, timedelta

import pandas as pd

from cx_value.churn.dag import COEFFICIENT_COLUMN_TYPES, fit_coefficients
from cx_value.churn.features import Timing
from cx_value.fit_status import cast_projection


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

    table = fit_coefficients(features, train_end, timing).coefficients
    # Typed in SQL, so a table without a fit still gives its columns their types.
    return session.from_df(table).project(cast_projection(COEFFICIENT_COLUMN_TYPES))
