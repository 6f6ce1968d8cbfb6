"""Kaplan-Meier and fitted sBG survival of the subscribers, one row per contract period.

Both curves use the same convention (S(t) = P(T > t), the share still active after t
renewals), so BI can draw them on one axis: Kaplan-Meier is the model-free check of
the sBG fit over the observed periods.
"""

import numpy as np
import pandas as pd

from cx_value.clv.retention import SBGParams, kaplan_meier, sbg_survival


def model(dbt, session):
    dbt.config(materialized="table")
    durations = dbt.ref("int_customer_contract_durations").df()
    parameters = dbt.ref("retention_sbg_parameters").df()

    fitted = parameters.set_index("parameter")["estimate"]
    params = SBGParams(alpha=float(fitted["alpha"]), beta=float(fitted["beta"]))

    km = kaplan_meier(durations["duration_terms"].to_numpy(dtype=float),
                      durations["is_churned"].to_numpy(dtype=bool))
    periods = np.arange(0, int(km.times.max()) + 1)
    # Step functions of t: the estimate just after the last duration <= t.
    step = np.searchsorted(km.times, periods, side="right")
    leaving = km.n_churned + km.n_censored
    exact = np.isin(periods, km.times)
    position = np.maximum(step - 1, 0)
    return pd.DataFrame({
        "period": periods.astype("int64"),
        # Durations >= t: censored at t counts as at risk at t.
        "at_risk": np.array([leaving[km.times >= t].sum() for t in periods]).astype("int64"),
        "churned": np.where(exact, km.n_churned[position], 0.0).astype("int64"),
        "censored": np.where(exact, km.n_censored[position], 0.0).astype("int64"),
        "km_survival": km.at(periods),
        "km_se": np.concatenate(([0.0], km.se))[step],
        "sbg_survival": sbg_survival(params, periods),
    })
