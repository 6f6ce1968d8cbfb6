"""Shifted-beta-geometric (sBG) parameters per retention group, fitted on the subscribers'
contract durations.

Two rows, alpha and beta, per retention group (the term length plus the columns of var
cx_retention_group_by), with the fit's scope, status and diagnostics. Fitting needs
maximum likelihood (scipy), which SQL cannot do; the next-renewal probability is a closed
form of the two numbers and is scored in SQL (fct_customer_retention). Too few
subscribers or a failed fit never stop the build: the rows then say why and carry NULL
estimates.
"""

import pandas as pd

from cx_value.clv.dag import (
    SBG_PARAMETER_COLUMN_TYPES,
    retention_group_columns,
    sbg_parameter_table,
    with_group_columns,
)
from cx_value.fit_status import cast_projection, in_key_order


def model(dbt, session):
    dbt.config(materialized="table")
    relation = dbt.ref("int_customer_contract_durations")
    durations = in_key_order(relation.df(), "customer_id")
    as_of = dbt.ref("int_observation_date").df()["as_of_date"]
    as_of_date = pd.Timestamp(as_of.iloc[0]).date() if len(as_of) else None

    # the group columns keep the types they have in the durations table
    types = dict(zip(relation.columns, (str(t) for t in relation.types), strict=True))
    group_types = {c: types[c] for c in retention_group_columns(durations)}
    parameters = sbg_parameter_table(durations, as_of_date)
    return session.from_df(parameters).project(
        cast_projection(with_group_columns(SBG_PARAMETER_COLUMN_TYPES, group_types)))
