"""Per-customer BG/NBD predictions that need the Gauss hypergeometric function.

E[Y(t) | x, t_x, T] contains 2F1, which SQL engines do not have; it is computed
here with scipy from the fitted parameters and joined by fct_customer_clv. P(alive)
is computed here too, as the reference the SQL closed form is tested against.
"""

import pandas as pd

from cx_value.clv import (
    WEEKS_PER_MONTH,
    BGNBDParams,
    bgnbd,
    discounted_clv,
    expected_purchases_by_month,
)

HORIZON_WEEKS = 52.0
HORIZON_MONTHS = 12


def model(dbt, session):
    dbt.config(materialized="table")
    rate = float(dbt.config.get("monthly_discount_rate"))
    histories = dbt.ref("int_customer_purchase_histories").df()
    parameters = dbt.ref("clv_bgnbd_parameters").df()

    fitted = parameters[parameters["model"] == "bgnbd"].set_index("parameter")["estimate"]
    params = BGNBDParams(r=float(fitted["r"]), alpha=float(fitted["alpha"]),
                         a=float(fitted["a"]), b=float(fitted["b"]))

    x = histories["frequency"].to_numpy(dtype=float)
    t_x = histories["recency_weeks"].to_numpy(dtype=float)
    t_cal = histories["t_weeks"].to_numpy(dtype=float)

    by_month = expected_purchases_by_month(params, x, t_x, t_cal, HORIZON_MONTHS,
                                           WEEKS_PER_MONTH)

    return pd.DataFrame({
        "customer_id": histories["customer_id"].astype(str),
        "p_alive": bgnbd.p_alive(params, x, t_x, t_cal),
        "expected_purchases_52w": bgnbd.conditional_expected_purchases(
            params, HORIZON_WEEKS, x, t_x, t_cal),
        "expected_purchases_12m": by_month.sum(axis=1),
        # The discounted CLV of a customer whose every purchase is worth 1.
        "discounted_purchases_12m": discounted_clv(params, x, t_x, t_cal, 1.0, HORIZON_MONTHS,
                                                   monthly_discount_rate=rate),
    })
