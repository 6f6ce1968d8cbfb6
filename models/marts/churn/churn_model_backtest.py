"""Out-of-sample check of the churn model: AUC, Brier score, base rate and calibration.

A time split when churn spreads over time, else grouped cross-validation by customer,
else one row saying why no backtest was possible (cx_value.churn.model.honest_backtest).
One row per decile of predicted risk, the summary repeated on each.
"""

from cx_value.churn.dag import BACKTEST_COLUMN_TYPES, backtest_table
from cx_value.fit_status import cast_projection


def model(dbt, session):
    dbt.config(materialized="table")
    features = dbt.ref("int_contract_term_features").df()
    catalog = dbt.ref("churn_feature_catalog").df()
    table = backtest_table(features, catalog)
    return session.from_df(table).project(cast_projection(BACKTEST_COLUMN_TYPES))
