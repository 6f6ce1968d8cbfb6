"""Shifted-beta-geometric (sBG) parameters fitted on the subscribers' contract durations.

Two rows, alpha and beta, with the fit's status and diagnostics. Fitting needs maximum
likelihood (scipy), which SQL cannot do; the next-renewal probability is a closed form of
the two numbers and is scored in SQL (fct_customer_retention). Too few subscribers or a
failed fit never stop the build: the rows then say why and carry NULL estimates.
"""

import pandas as pd

from cx_value.clv.dag import PARAMETER_COLUMN_TYPES, sbg_parameter_table
from cx_value.fit_status import cast_projection


def model(dbt, session):
    dbt.config(materialized="table")
    durations = dbt.ref("int_customer_contract_durations").df()
    as_of = dbt.ref("int_observation_date").df()["as_of_date"]
    as_of_date = pd.Timestamp(as_of.iloc[0]).date() if len(as_of) else None

    parameters = sbg_parameter_table(durations, as_of_date)
    return session.from_df(parameters).project(cast_projection(PARAMETER_COLUMN_TYPES))
