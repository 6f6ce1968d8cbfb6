"""Kaplan-Meier and fitted sBG survival of the subscribers, one row per retention group
and contract period.

Both curves use the same convention (S(t) = P(T > t), the share still active after t
renewals), so BI can draw them on one axis: Kaplan-Meier, with its 95 % interval, is the
model-free check of the group's sBG fit over the observed periods; `months` puts groups
of different term lengths on one month axis. No subscribers: no rows; sBG not fitted for
a group: its Kaplan-Meier columns with a NULL sbg_survival.
"""

from cx_value.clv.dag import (
    SURVIVAL_CURVE_COLUMN_TYPES,
    retention_group_columns,
    survival_curve_table,
    with_group_columns,
)
from cx_value.fit_status import cast_projection, in_key_order


def model(dbt, session):
    dbt.config(materialized="table")
    relation = dbt.ref("int_customer_contract_durations")
    durations = in_key_order(relation.df(), "customer_id")
    parameters = dbt.ref("retention_sbg_parameters").df()

    types = dict(zip(relation.columns, (str(t) for t in relation.types), strict=True))
    group_types = {c: types[c] for c in retention_group_columns(durations)}
    curve = survival_curve_table(durations, parameters)
    return session.from_df(curve).project(
        cast_projection(with_group_columns(SURVIVAL_CURVE_COLUMN_TYPES, group_types)))
