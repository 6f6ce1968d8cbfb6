"""Per active subscriber, the sBG scores of the customer's retention group, computed with
cx_value.clv.retention.

DERL contains the Gauss hypergeometric function 2F1, which SQL engines do not have;
it is computed here and joined by fct_customer_retention. The next-renewal
probability is computed here too, as the reference the SQL closed form is tested
against. A customer whose group is not fitted is listed with NULL scores.
"""

from cx_value.clv.dag import RETENTION_PREDICTION_COLUMN_TYPES, retention_prediction_table
from cx_value.fit_status import cast_projection, in_key_order


def model(dbt, session):
    dbt.config(materialized="table")
    rate = float(dbt.config.get("annual_discount_rate"))
    durations = in_key_order(dbt.ref("int_customer_contract_durations").df(), "customer_id")
    parameters = dbt.ref("retention_sbg_parameters").df()

    predictions = retention_prediction_table(durations, parameters, rate)
    return session.from_df(predictions).project(
        cast_projection(RETENTION_PREDICTION_COLUMN_TYPES))
