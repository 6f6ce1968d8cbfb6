"""The churn models in the dbt DAG on the built demo warehouse.

`make test` runs these after `dbt build` into CX_DUCKDB_PATH. The warehouse's feature
model is the only definition of the features (its values are held to hand-worked cases
by the dbt unit tests); here the fitted coefficients are refitted from the same table,
the SQL scores of fct_contract_churn_risk must equal the fitted pipeline's
predict_proba, bands and drivers, one row per current term, and the backtest is never
NaN.
"""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest

from cx_value.churn import contributions, score, top_drivers
from cx_value.churn.dag import COEFFICIENT_COLUMNS, fit_coefficients

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def dbt_features(demo_db: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return demo_db.execute(
        "select * from intermediate.int_contract_term_features order by subscription_id").df()


@pytest.fixture(scope="module")
def catalog(demo_db: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return demo_db.execute("select * from marts.churn_feature_catalog").df()


def test_one_risk_row_per_current_term(demo_db: duckdb.DuckDBPyConnection) -> None:
    current = {s for (s,) in demo_db.execute(
        "select subscription_id from intermediate.int_subscription_terms_renewed"
        " where is_current").fetchall()}
    scored = demo_db.execute(
        "select subscription_id, customer_id, scored_at, as_of_date"
        " from marts.fct_contract_churn_risk"
        " cross join intermediate.int_observation_date").df()
    assert len(current) > 0
    assert set(scored["subscription_id"]) == current
    assert scored["subscription_id"].is_unique and scored["customer_id"].is_unique
    assert (pd.to_datetime(scored["scored_at"]) == pd.to_datetime(scored["as_of_date"])).all()


def test_sql_scores_equal_the_python_pipeline(
        demo_db: duckdb.DuckDBPyConnection, dbt_features: pd.DataFrame,
        catalog: pd.DataFrame) -> None:
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
    refit = fit_coefficients(dbt_features, catalog, train_end)
    assert refit.model is not None
    pd.testing.assert_frame_equal(
        coefficients.loc[:, list(COEFFICIENT_COLUMNS)].drop(columns="train_end"),
        refit.coefficients.drop(columns="train_end").reset_index(drop=True),
        check_dtype=False, rtol=1e-12, atol=1e-12)

    current = dbt_features[dbt_features["is_current"]].sort_values("subscription_id")
    assert len(scored) == len(current) > 0
    python = score(refit.model, current)
    np.testing.assert_allclose(scored["churn_probability"].to_numpy(dtype=float),
                               python["churn_probability"].to_numpy(dtype=float),
                               rtol=0, atol=1e-9)
    assert (scored["risk_band"].to_numpy() == python["risk_band"].to_numpy()).all()
    # A missing value contributes exactly 0 in SQL; in the pipeline the imputer's and the
    # scaler's means differ by rounding (~1e-16), which must not make it a driver.
    contrib = contributions(refit.model, current)
    drivers = top_drivers(np.where(np.abs(contrib) < 1e-12, 0.0, contrib),
                          refit.model.features)
    for k in (1, 2, 3):
        sql_drivers = scored[f"top_driver_{k}"].astype(object).where(
            scored[f"top_driver_{k}"].notna(), None).tolist()
        assert sql_drivers == [row[k - 1] for row in drivers]


def test_backtest_is_never_a_silent_nan(demo_db: duckdb.DuckDBPyConnection) -> None:
    backtest = demo_db.execute("select * from marts.churn_model_backtest").df()
    assert len(backtest) >= 1
    run = backtest["status"] == "run"
    assert backtest.loc[~run, "status_reason"].notna().all()
    for column in ("auc", "brier", "base_rate", "mean_predicted"):
        values = backtest.loc[run, column].to_numpy(dtype=float)
        assert np.isfinite(values).all(), column
    if run.any():
        assert len(backtest) == 10
        assert backtest["decile_terms"].sum() == backtest["n_test"].iloc[0]


def test_too_few_labels_fit_nothing(dbt_features: pd.DataFrame, catalog: pd.DataFrame) -> None:
    few = dbt_features[dbt_features["is_churned"].notna()].sort_values("end_date").head(12)
    result = fit_coefficients(few, catalog, date(2100, 1, 1))
    assert result.model is None
    assert list(result.coefficients.columns) == list(COEFFICIENT_COLUMNS)
    assert (result.coefficients["status"] == "not_enough_data").all()
    assert result.coefficients["coefficient"].isna().all()
    assert (result.coefficients["n_train"] == len(few)).all()
