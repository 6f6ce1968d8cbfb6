"""Kaplan-Meier and fitted sBG survival of the subscribers, one row per contract period.

Both curves use the same convention (S(t) = P(T > t), the share still active after t
renewals), so BI can draw them on one axis: Kaplan-Meier is the model-free check of
the sBG fit over the observed periods. No subscribers: no rows; sBG not fitted: the
Kaplan-Meier columns with a NULL sbg_survival.
"""

from cx_value.clv.dag import SURVIVAL_CURVE_COLUMN_TYPES, survival_curve_table
from cx_value.fit_status import cast_projection


def model(dbt, session):
    dbt.config(materialized="table")
    durations = dbt.ref("int_customer_contract_durations").df()
    parameters = dbt.ref("retention_sbg_parameters").df()

    curve = survival_curve_table(durations, parameters)
    return session.from_df(curve).project(cast_projection(SURVIVAL_CURVE_COLUMN_TYPES))
