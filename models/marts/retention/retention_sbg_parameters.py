"""Shifted-beta-geometric (sBG) parameters fitted on the subscribers' contract durations.

Two rows, alpha and beta. Fitting needs maximum likelihood (scipy), which SQL cannot
do; the next-renewal probability is a closed form of the two numbers and is scored
in SQL (fct_customer_retention).
"""

import pandas as pd

from cx_value.clv.retention import fit_sbg_durations


def model(dbt, session):
    dbt.config(materialized="table")
    durations = dbt.ref("int_customer_contract_durations").df()

    fitted = fit_sbg_durations(
        durations["duration_terms"].to_numpy(dtype=float),
        durations["is_churned"].to_numpy(dtype=bool),
    )
    parameters = pd.DataFrame(
        [(name, getattr(fitted, name), getattr(fitted, f"{name}_se"),
          fitted.log_likelihood, fitted.n_customers) for name in ("alpha", "beta")],
        columns=["parameter", "estimate", "standard_error", "log_likelihood", "n_customers"],
    )
    parameters["n_customers"] = parameters["n_customers"].astype("int64")
    parameters["fitted_at_as_of"] = pd.Timestamp(durations["as_of_date"].max()).date()
    return parameters
