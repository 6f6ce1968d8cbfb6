"""The churn models in the dbt DAG against cx_value.churn on the built demo warehouse.

`make test` runs these after `dbt build` into CX_DUCKDB_PATH. The dbt feature model is a
rewrite of cx_value.churn.features.FEATURE_SQL over the staging models: both are run on
the same staged rows and must agree. The SQL scores of fct_contract_churn_risk must equal
the fitted pipeline's predict_proba, bands and drivers.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from cx_value.churn import FEATURES, Timing, contributions, score, term_features, top_drivers
from cx_value.churn.dag import COEFFICIENT_COLUMNS, fit_coefficients

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]

# Staged relations under the raw contract's column names, as FEATURE_SQL reads them.
STAGED_AS_RAW = {
    "subscriptions": """select subscription_id, customer_id, start_date, end_date,
        monthly_fee as monthly_fee, previous_subscription_id
        from staging.stg_crm__subscriptions""",
    "tickets": """select ticket_id, customer_id, is_complaint, opened_at, resolved_at,
        reopen_count, agent_contact_count as agent_contacts from staging.stg_crm__tickets""",
    "survey_responses": """select response_id, customer_id, question_type, score, answered_at
        from staging.stg_surveys__survey_responses""",
    "events": "select event_id, anonymous_id, user_id, event_at from staging.stg_web__events",
    "orders": """select order_id, customer_id, ordered_at, order_status as status
        from staging.stg_crm__orders""",
    "order_lines": """select order_line_id, order_id, quantity, list_price as list_price,
        realised_price as realised_price from staging.stg_crm__order_lines""",
}


@pytest.fixture(scope="module")
def dbt_features(demo_db: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return demo_db.execute(
        "select * from intermediate.int_contract_term_features order by subscription_id").df()


def test_dbt_features_equal_the_python_feature_sql(
        demo_db: duckdb.DuckDBPyConnection, dbt_features: pd.DataFrame) -> None:
    assert len(dbt_features) > 0
    con = demo_db.cursor()
    for table, sql in STAGED_AS_RAW.items():
        con.execute(f"create or replace temp view churn_dag_{table} as {sql}")
    tables = {t: f"churn_dag_{t}" for t in STAGED_AS_RAW}
    start = pd.Timestamp(dbt_features["end_date"].min()).date()
    end = pd.Timestamp(dbt_features["end_date"].max()).date() + timedelta(days=1)
    python = term_features(con, tables, start, end).set_index("subscription_id")
    dbt = dbt_features.set_index("subscription_id")
    # Python has no observation date: it keeps every term ending in the window.
    python = python.loc[dbt.index]
    columns = [*FEATURES, "customer_id", "cutoff_at", "web_sessions_recent",
               "web_sessions_baseline"]
    pd.testing.assert_frame_equal(
        dbt.loc[:, columns].astype({"monthly_fee": float}),
        python.loc[:, columns].astype({"monthly_fee": float}),
        check_dtype=False, check_exact=False, rtol=1e-12, atol=1e-12)
    known = dbt["is_churned"].notna()
    assert known.sum() > 0
    assert (dbt.loc[known, "is_churned"] == python.loc[known, "is_churned"]).all()
    # Unknown labels are exactly the terms whose grace period has not passed.
    grace_end = pd.to_datetime(dbt["end_date"]) + pd.Timedelta(days=Timing().grace_days)
    assert (known == (grace_end <= pd.to_datetime(dbt["as_of_date"]))).all()


def test_sql_scores_equal_the_python_pipeline(
        demo_db: duckdb.DuckDBPyConnection, dbt_features: pd.DataFrame) -> None:
    coefficients = demo_db.execute(
        "select * from marts.churn_model_coefficients order by feature_order").df()
    scored = demo_db.execute(
        "select * from marts.fct_contract_churn_risk order by subscription_id").df()
    if (coefficients["status"] != "fitted").all():
        # Too few labelled terms to fit (e.g. an early cx_churn_train_end): nothing scored.
        assert scored["churn_probability"].isna().all()
        assert (scored["churn_model_status"] == coefficients["status"].iloc[0]).all()
        return
    train_end = pd.Timestamp(coefficients["train_end"].iloc[0]).date()
    refit = fit_coefficients(dbt_features, train_end)
    assert refit.model is not None
    pd.testing.assert_frame_equal(
        coefficients.loc[:, list(COEFFICIENT_COLUMNS)].drop(columns="train_end"),
        refit.coefficients.drop(columns="train_end").reset_index(drop=True),
        check_dtype=False, rtol=1e-12, atol=1e-12)

    open_terms = dbt_features[dbt_features["is_churned"].isna()].sort_values("subscription_id")
    assert len(scored) == len(open_terms) > 0
    python = score(refit.model, open_terms)
    np.testing.assert_allclose(scored["churn_probability"].to_numpy(dtype=float),
                               python["churn_probability"].to_numpy(dtype=float),
                               rtol=0, atol=1e-9)
    assert (scored["risk_band"].to_numpy() == python["risk_band"].to_numpy()).all()
    # A missing value contributes exactly 0 in SQL; in the pipeline the imputer's and the
    # scaler's means differ by rounding (~1e-16), which must not make it a driver.
    contrib = contributions(refit.model, open_terms)
    drivers = top_drivers(np.where(np.abs(contrib) < 1e-12, 0.0, contrib),
                          refit.model.features)
    for k in (1, 2, 3):
        sql_drivers = scored[f"top_driver_{k}"].astype(object).where(
            scored[f"top_driver_{k}"].notna(), None).tolist()
        assert sql_drivers == [row[k - 1] for row in drivers]


def test_too_few_labels_fit_nothing(dbt_features: pd.DataFrame) -> None:
    few = dbt_features.sort_values("end_date").head(12)
    result = fit_coefficients(few, date(2100, 1, 1))
    assert result.model is None
    assert list(result.coefficients.columns) == list(COEFFICIENT_COLUMNS)
    assert (result.coefficients["status"] == "not_enough_data").all()
    assert result.coefficients["coefficient"].isna().all()
    assert (result.coefficients["n_train"] == few["is_churned"].notna().sum()).all()
