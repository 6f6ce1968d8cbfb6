"""The fitted models' tables as the warehouse builds them: never an exception on empty
or small input, the status and diagnostics on every parameter row, NULL predictions when
a model is not fitted, and the declared SQL types, also for empty tables.

The last tests run the dbt Python models themselves (the files under models/marts) with
a stand-in for dbt's ``dbt`` object and an in-memory DuckDB session, on empty inputs.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest

from cx_value.churn.dag import BACKTEST_COLUMN_TYPES, COEFFICIENT_COLUMN_TYPES
from cx_value.clv import BGNBDParams, bgnbd, dag, simulate_bgnbd
from cx_value.fit_status import FAILED, FITTED, NOT_ENOUGH_DATA, cast_projection

ROOT = Path(__file__).resolve().parents[2]
CDNOW = ROOT / "tests" / "data" / "cdnow"
AS_OF = date(2026, 7, 1)

HISTORY_TYPES = {
    "customer_id": "varchar", "first_purchase_date": "date", "last_purchase_date": "date",
    "as_of_date": "date", "frequency": "bigint", "recency_weeks": "double",
    "t_weeks": "double", "monetary_value": "double",
}
DURATION_TYPES = {
    "customer_id": "varchar", "retention_group": "varchar", "period_months": "bigint",
    "first_start_date": "date", "as_of_date": "date", "terms_known": "bigint",
    "terms_renewed": "bigint", "lifetime_months": "bigint", "renewals": "bigint",
    "duration_periods": "bigint", "is_churned": "boolean", "is_censored": "boolean",
    "latest_monthly_fee": "decimal(18, 2)",
}
OBSERVATION_TYPES = {"as_of_date": "date", "as_of_end_at": "timestamp", "as_of_source": "varchar"}
# candidate churn features as churn_feature_catalog lists them (macros/churn)
CHURN_FEATURES = (
    "is_detractor_in_term", "latest_nps", "csat_mean", "ces_mean", "has_unresolved_complaint",
    "ticket_count", "fcr_share", "web_sessions_drop", "discount_depth",
    "tenure_months_at_start", "term_months", "monthly_fee",
)
TERM_FEATURE_TYPES = {
    "subscription_id": "varchar", "customer_id": "varchar", "end_date": "date",
    "cutoff_at": "timestamp", "as_of_date": "date", "is_current": "boolean",
    "outcome_date": "date", "is_churned": "integer",
    **{name: "double" for name in CHURN_FEATURES},
}


def _histories(x: np.ndarray, t_x: np.ndarray, t_cal: np.ndarray) -> pd.DataFrame:
    """Histories with the same mean spend for every repeat buyer (too uniform for
    Gamma-Gamma to be identified; these tests are about BG/NBD)."""
    return pd.DataFrame({
        "customer_id": [f"c{i}" for i in range(x.size)],
        "frequency": x, "recency_weeks": t_x, "t_weeks": t_cal,
        "monetary_value": np.where(x > 0, 25.0, np.nan),
    })


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    summary = pd.read_csv(CDNOW / "cdnow_customers_summary_with_transactions.csv")
    return pd.DataFrame({
        "customer_id": summary["ID"].astype(str), "frequency": summary["x"],
        "recency_weeks": summary["t_x"], "t_weeks": summary["T"],
        "monetary_value": np.where(summary["x"] > 0, summary["zbar"], np.nan),
    })


def _typed(frame: pd.DataFrame, types: dict[str, str]) -> duckdb.DuckDBPyRelation:
    """The frame as the dbt Python model returns it: through the typed projection."""
    return duckdb.connect().from_df(frame).project(cast_projection(types))


# ------------------------------------------------------------------ CLV


def test_clv_parameters_on_cdnow_are_fitted_and_identified(cdnow: pd.DataFrame) -> None:
    table = dag.clv_parameter_table(cdnow, AS_OF)
    assert list(table.columns) == list(dag.PARAMETER_COLUMN_TYPES)
    assert table["parameter"].tolist() == ["r", "alpha", "a", "b", "p", "q", "gamma"]
    assert (table["status"] == FITTED).all() and table["status_reason"].isna().all()
    assert table["converged"].all() and table["is_identified"].all()
    assert table["warning"].isna().all()
    estimates = table.set_index("parameter")["estimate"].round(3)
    assert estimates[["r", "alpha", "a", "b"]].tolist() == [0.243, 4.414, 0.793, 2.426]
    assert table.loc[table["model"] == "bgnbd", "n_customers"].eq(2357).all()
    assert table.loc[table["model"] == "gamma_gamma", "n_customers"].eq(946).all()
    predictions = dag.clv_prediction_table(cdnow, table, 0.01)
    fitted = table.set_index("parameter")["estimate"]
    params = BGNBDParams(r=fitted["r"], alpha=fitted["alpha"], a=fitted["a"], b=fitted["b"])
    np.testing.assert_allclose(
        predictions["p_alive"].to_numpy(dtype=float),
        bgnbd.p_alive(params, cdnow["frequency"], cdnow["recency_weeks"], cdnow["t_weeks"]))


def test_empty_histories_give_not_enough_data_and_typed_tables() -> None:
    empty = _histories(np.array([]), np.array([]), np.array([]))
    table = dag.clv_parameter_table(empty, AS_OF)
    assert len(table) == 7
    assert (table["status"] == NOT_ENOUGH_DATA).all()
    assert table["estimate"].isna().all() and (table["n_customers"] == 0).all()
    assert not table["is_identified"].any() and table["converged"].isna().all()
    assert table.loc[0, "warning"] == (
        "BG/NBD not fitted, not enough data: needs at least 40 customers of whom 20 repeat "
        "buyers, found 0 customers and 0 repeat buyers; P(alive), expected purchases and CLV "
        "are NULL")
    typed = _typed(table, dag.PARAMETER_COLUMN_TYPES)
    assert [str(t) for t in typed.types] == [
        "VARCHAR", "VARCHAR", "DOUBLE", "DOUBLE", "DOUBLE", "BIGINT", "VARCHAR", "VARCHAR",
        "BOOLEAN", "BOOLEAN", "VARCHAR", "DATE"]
    predictions = dag.clv_prediction_table(empty, table, 0.01)
    assert predictions.empty
    assert _typed(predictions, dag.CLV_PREDICTION_COLUMN_TYPES).fetchall() == []


def test_few_customers_score_null_with_the_counts() -> None:
    x = np.array([0.0] * 7 + [1.0, 2.0, 3.0])
    small = _histories(x, np.where(x > 0, 5.0, 0.0), np.full(10, 20.0))
    table = dag.clv_parameter_table(small, AS_OF)
    assert (table["status"] == NOT_ENOUGH_DATA).all()
    assert table.loc[table["model"] == "bgnbd", "n_customers"].eq(10).all()
    assert table.loc[table["model"] == "gamma_gamma", "n_customers"].eq(3).all()
    assert table.loc[0, "status_reason"].endswith("found 10 customers and 3 repeat buyers")
    predictions = dag.clv_prediction_table(small, table, 0.01)
    assert predictions["customer_id"].tolist() == small["customer_id"].tolist()
    assert predictions.drop(columns="customer_id").isna().all().all()


def test_purchases_fitted_without_spend(cdnow: pd.DataFrame) -> None:
    """No repeat spend recorded: BG/NBD is fitted, Gamma-Gamma is not."""
    table = dag.clv_parameter_table(cdnow.assign(monetary_value=np.nan), AS_OF)
    status = table.groupby("model")["status"].first()
    assert status["bgnbd"] == FITTED and status["gamma_gamma"] == NOT_ENOUGH_DATA
    assert dag.clv_prediction_table(cdnow, table, 0.01)["p_alive"].notna().all()


def test_planted_unidentified_dropout_is_flagged_on_every_bgnbd_row() -> None:
    rng = np.random.default_rng(1)
    t_cal = rng.uniform(26.0, 78.0, size=2000)
    x, t_x = simulate_bgnbd(BGNBDParams(r=0.243, alpha=4.414, a=0.02, b=20.0), t_cal, rng,
                            resolution=1 / 7)
    table = dag.clv_parameter_table(_histories(x, t_x, t_cal), AS_OF)
    bg = table[table["model"] == "bgnbd"]
    assert (bg["status"] == FITTED).all() and not bg["is_identified"].any()
    assert bg["warning"].str.startswith("BG/NBD dropout (a, b) not identified").all()
    # Not identified is not "not fitted": the scores are still computed.
    predictions = dag.clv_prediction_table(_histories(x, t_x, t_cal), table, 0.01)
    assert predictions["p_alive"].notna().all()


def test_a_fit_that_raises_is_reported_as_failed(monkeypatch: pytest.MonkeyPatch,
                                                 cdnow: pd.DataFrame) -> None:
    def broken(*_: object, **__: object) -> None:
        raise np.linalg.LinAlgError("Singular matrix")

    monkeypatch.setattr(bgnbd, "fit", broken)
    table = dag.clv_parameter_table(cdnow, AS_OF)
    bg = table[table["model"] == "bgnbd"]
    assert (bg["status"] == FAILED).all() and bg["estimate"].isna().all()
    assert bg["status_reason"].iloc[0] == "LinAlgError: Singular matrix"
    assert bg["warning"].iloc[0].startswith("BG/NBD not fitted, the fit failed (LinAlgError")
    assert (table.loc[table["model"] == "gamma_gamma", "status"] == FITTED).all()


# ------------------------------------------------------------------ retention


def _durations(durations: list[int], churned: list[bool]) -> pd.DataFrame:
    n = len(durations)
    return pd.DataFrame({
        "customer_id": [f"s{i}" for i in range(n)], "retention_group": "term_months=12",
        "period_months": 12, "duration_periods": durations, "is_churned": churned,
        "renewals": [d - int(c) for d, c in zip(durations, churned, strict=True)],
    })


DEMO_DURATIONS = _durations([0] * 57 + [1] * 78 + [1] * 108 + [2] * 35 + [2] * 23,
                            [False] * 57 + [False] * 78 + [True] * 108 + [False] * 35
                            + [True] * 23)


def test_sbg_on_the_demo_outcomes_is_fitted_but_not_identified() -> None:
    table = dag.sbg_parameter_table(DEMO_DURATIONS, AS_OF)
    assert table["model"].tolist() == ["sbg", "sbg"]
    assert (table["retention_group"] == "term_months=12").all()
    assert (table["status"] == FITTED).all() and (table["n_customers"] == 244).all()
    assert (table["fit_scope"] == "group").all() and not table["is_pooled_fallback"].any()
    assert not table["is_identified"].any()
    predictions = dag.retention_prediction_table(DEMO_DURATIONS, table, 0.10)
    assert len(predictions) == 57 + 78 + 35 and predictions.notna().all().all()
    curve = dag.survival_curve_table(DEMO_DURATIONS, table)
    np.testing.assert_allclose(curve["sbg_survival"].to_numpy(dtype=float),
                               curve["km_survival"].to_numpy(dtype=float), atol=1e-6)


def test_sbg_without_churn_or_data_is_not_enough_data() -> None:
    no_churn = _durations([1, 2] * 20, [False] * 40)
    for frame, n in ((no_churn, 40), (no_churn.iloc[:0], 0)):
        table = dag.sbg_parameter_table(frame, AS_OF)
        assert len(table) == 2 and (table["status"] == NOT_ENOUGH_DATA).all()
        assert table["fit_scope"].isna().all() and not table["is_pooled_fallback"].any()
        assert (table["n_customers"] == n).all() and table["estimate"].isna().all()
        predictions = dag.retention_prediction_table(frame, table, 0.10)
        assert len(predictions) == len(frame)
        assert predictions[["renewal_probability",
                            "discounted_expected_residual_lifetime"]].isna().all().all()
    curve = dag.survival_curve_table(no_churn, dag.sbg_parameter_table(no_churn, AS_OF))
    assert curve["km_survival"].notna().all() and curve["sbg_survival"].isna().all()
    empty_curve = dag.survival_curve_table(no_churn.iloc[:0], table)
    assert empty_curve.empty
    typed = _typed(empty_curve, dag.SURVIVAL_CURVE_COLUMN_TYPES)
    assert [str(t) for t in typed.types] == (["VARCHAR"] + ["BIGINT"] * 6 + ["DOUBLE"] * 5
                                             + ["BOOLEAN"])


# ------------------------------------------------------------------ the dbt Python models


class _Config:
    def __init__(self, values: dict[str, Any]) -> None:
        self._values = values

    def __call__(self, **_: Any) -> None:
        return None

    def get(self, key: str) -> Any:
        return self._values.get(key)


class _FakeDbt:
    """What a dbt Python model uses of ``dbt``: ``config(...)``, ``config.get`` and
    ``ref(name).df()``, the refs served from an in-memory DuckDB."""

    def __init__(self, con: duckdb.DuckDBPyConnection, config: dict[str, Any]) -> None:
        self._con = con
        self.config = _Config(config)

    def ref(self, name: str) -> duckdb.DuckDBPyRelation:
        return self._con.table(name)


def _load(path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(Path(path).stem, ROOT / path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _empty_table(con: duckdb.DuckDBPyConnection, name: str, types: dict[str, str]) -> None:
    columns = ", ".join(f"{c} {t}" for c, t in types.items())
    con.execute(f"create table {name} ({columns})")


@pytest.fixture()
def empty_warehouse() -> duckdb.DuckDBPyConnection:
    """Empty upstream tables, as a raw export without orders or subscriptions gives."""
    con = duckdb.connect()
    _empty_table(con, "int_customer_purchase_histories", HISTORY_TYPES)
    _empty_table(con, "int_customer_contract_durations", DURATION_TYPES)
    _empty_table(con, "int_contract_term_features", TERM_FEATURE_TYPES)
    # an export without subscriptions: no source of any churn feature was observed
    con.execute(
        "create table churn_feature_catalog as select feature, feature_order,"
        " 'numeric' as feature_kind, false as is_source_observed,"
        " 'source not observed' as unavailable_reason"
        " from (select unnest(?) as feature, generate_subscripts(?, 1) as feature_order)",
        [list(CHURN_FEATURES), list(CHURN_FEATURES)])
    _empty_table(con, "int_observation_date", OBSERVATION_TYPES)
    con.execute("insert into int_observation_date values "
                "('2026-07-01', '2026-07-02 00:00:00', 'test')")
    return con


def _run(con: duckdb.DuckDBPyConnection, path: str, name: str,
         config: dict[str, Any] | None = None) -> pd.DataFrame:
    """Run the model file and store its result under ``name`` for the models downstream."""
    model: Callable[..., duckdb.DuckDBPyRelation] = _load(path).model
    result = model(_FakeDbt(con, config or {}), con)
    con.register(f"{name}_result", result)
    con.execute(f"create table {name} as select * from {name}_result")
    return con.table(name).df()


def test_python_models_run_on_empty_inputs(empty_warehouse: duckdb.DuckDBPyConnection) -> None:
    con = empty_warehouse
    clv = _run(con, "models/marts/clv/clv_bgnbd_parameters.py", "clv_bgnbd_parameters")
    assert len(clv) == 7 and (clv["status"] == NOT_ENOUGH_DATA).all()
    assert (clv["fitted_at_as_of"] == pd.Timestamp(AS_OF)).all()
    predictions = _run(con, "models/marts/clv/clv_customer_predictions.py",
                       "clv_customer_predictions", {"monthly_discount_rate": "0.01"})
    assert predictions.empty
    sbg = _run(con, "models/marts/retention/retention_sbg_parameters.py",
               "retention_sbg_parameters")
    assert len(sbg) == 2 and (sbg["status"] == NOT_ENOUGH_DATA).all()
    assert _run(con, "models/marts/retention/retention_customer_predictions.py",
                "retention_customer_predictions", {"annual_discount_rate": "0.1"}).empty
    assert _run(con, "models/marts/retention/retention_survival_curve.py",
                "retention_survival_curve").empty
    churn = _run(con, "models/marts/churn/churn_model_coefficients.py",
                 "churn_model_coefficients", {"train_end": ""})
    assert len(churn) == len(CHURN_FEATURES) and (churn["status"] == NOT_ENOUGH_DATA).all()
    assert (churn["drop_reason"] == "source not observed").all()
    backtest = _run(con, "models/marts/churn/churn_model_backtest.py", "churn_model_backtest")
    assert backtest["status"].tolist() == ["not_run"]
    assert backtest["status_reason"].tolist() == ["no labelled terms"]
    for name, types in (("clv_bgnbd_parameters", dag.PARAMETER_COLUMN_TYPES),
                        ("clv_customer_predictions", dag.CLV_PREDICTION_COLUMN_TYPES),
                        ("retention_sbg_parameters", dag.SBG_PARAMETER_COLUMN_TYPES),
                        ("retention_customer_predictions",
                         dag.RETENTION_PREDICTION_COLUMN_TYPES),
                        ("retention_survival_curve", dag.SURVIVAL_CURVE_COLUMN_TYPES),
                        ("churn_model_coefficients", COEFFICIENT_COLUMN_TYPES),
                        ("churn_model_backtest", BACKTEST_COLUMN_TYPES)):
        declared = {c: t.replace(" ", "").upper() for c, t in types.items()}
        actual = {c: str(t).replace(" ", "").upper()
                  for c, t in zip(con.table(name).columns, con.table(name).types,
                                  strict=True)}
        assert actual == declared, name
