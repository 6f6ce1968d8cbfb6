"""Per-customer BG/NBD predictions that need the Gauss hypergeometric function.

E[Y(t) | x, t_x, T] contains 2F1, which SQL engines do not have; it is computed
here with scipy from the fitted parameters and joined by fct_customer_clv. P(alive)
is computed here too, as the reference the SQL closed form is tested against. When
BG/NBD is not fitted every customer is listed with NULL predictions.
"""

from cx_value.clv.dag import CLV_PREDICTION_COLUMN_TYPES, clv_prediction_table
from cx_value.fit_status import cast_projection, in_key_order


def model(dbt, session):
    dbt.config(materialized="table")
    rate = float(dbt.config.get("monthly_discount_rate"))
    histories = in_key_order(dbt.ref("int_customer_purchase_histories").df(), "customer_id")
    parameters = dbt.ref("clv_bgnbd_parameters").df()

    predictions = clv_prediction_table(histories, parameters, rate)
    return session.from_df(predictions).project(cast_projection(CLV_PREDICTION_COLUMN_TYPES))
