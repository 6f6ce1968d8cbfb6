"""Per active subscriber, the sBG scores computed with cx_value.clv.retention.

DERL contains the Gauss hypergeometric function 2F1, which SQL engines do not have;
it is computed here and joined by fct_customer_retention. The next-renewal
probability is computed here too, as the reference the SQL closed form is tested
against.
"""

import pandas as pd

from cx_value.clv.retention import (
    SBGParams,
    sbg_discounted_expected_residual_lifetime,
    sbg_renewal_probability,
)


def model(dbt, session):
    dbt.config(materialized="table")
    rate = float(dbt.config.get("period_discount_rate"))
    durations = dbt.ref("int_customer_contract_durations").df()
    parameters = dbt.ref("retention_sbg_parameters").df()

    fitted = parameters.set_index("parameter")["estimate"]
    params = SBGParams(alpha=float(fitted["alpha"]), beta=float(fitted["beta"]))

    active = durations[~durations["is_churned"].astype(bool)]
    renewals = active["renewals"].to_numpy(dtype=float)
    return pd.DataFrame({
        "customer_id": active["customer_id"].astype(str).to_numpy(),
        "renewal_probability": sbg_renewal_probability(params, renewals),
        "discounted_expected_residual_lifetime": sbg_discounted_expected_residual_lifetime(
            params, renewals, rate),
    })
