"""BG/NBD and Gamma-Gamma parameters fitted on the one-off customers' histories.

One row per (model, parameter), with the fit's status and diagnostics. Fitting needs
maximum likelihood (scipy), which SQL cannot do; scoring from these parameters is
closed-form and lives in SQL (fct_customer_clv), apart from the hypergeometric term of
the expected purchases. Too few customers or a failed fit never stop the build: the rows
then say why (status not_enough_data or failed) and carry NULL estimates.
"""

import pandas as pd

from cx_value.clv.dag import PARAMETER_COLUMN_TYPES, clv_parameter_table
from cx_value.fit_status import cast_projection, in_key_order


def model(dbt, session):
    dbt.config(materialized="table")
    histories = in_key_order(dbt.ref("int_customer_purchase_histories").df(), "customer_id")
    as_of = dbt.ref("int_observation_date").df()["as_of_date"]
    as_of_date = pd.Timestamp(as_of.iloc[0]).date() if len(as_of) else None

    parameters = clv_parameter_table(histories, as_of_date)
    return session.from_df(parameters).project(cast_projection(PARAMETER_COLUMN_TYPES))
