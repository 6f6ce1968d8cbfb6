"""BG/NBD and Gamma-Gamma parameters fitted on the one-off customers' histories.

One row per (model, parameter). Fitting needs maximum likelihood (scipy), which
SQL cannot do; scoring from these parameters is closed-form and lives in SQL
(fct_customer_clv), apart from the hypergeometric term of the expected purchases.
"""

import numpy as np
import pandas as pd

from cx_value.clv import bgnbd, gamma_gamma


def model(dbt, session):
    dbt.config(materialized="table")
    histories = dbt.ref("int_customer_purchase_histories").df()

    x = histories["frequency"].to_numpy(dtype=float)
    t_x = histories["recency_weeks"].to_numpy(dtype=float)
    t_cal = histories["t_weeks"].to_numpy(dtype=float)
    m_x = histories["monetary_value"].to_numpy(dtype=float, na_value=np.nan)
    as_of = histories["as_of_date"].max()

    purchases = bgnbd.fit(x, t_x, t_cal)
    # Repeat days without revenue (fully discounted orders) carry no spend scale.
    spenders = (x > 0) & (m_x > 0)
    spend = gamma_gamma.fit(x[spenders], m_x[spenders])

    rows = [
        ("bgnbd", name, getattr(purchases, name), getattr(purchases, f"{name}_se"),
         purchases.log_likelihood, purchases.n_customers)
        for name in ("r", "alpha", "a", "b")
    ] + [
        ("gamma_gamma", name, getattr(spend, name), getattr(spend, f"{name}_se"),
         spend.log_likelihood, spend.n_customers)
        for name in ("p", "q", "gamma")
    ]
    parameters = pd.DataFrame(
        rows,
        columns=["model", "parameter", "estimate", "standard_error",
                 "log_likelihood", "n_customers"],
    )
    parameters["n_customers"] = parameters["n_customers"].astype("int64")
    parameters["fitted_at_as_of"] = pd.Timestamp(as_of).date()
    return parameters
