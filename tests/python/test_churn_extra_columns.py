"""The extension point: an export's own attributes declared in the var cx_extra_columns.

Through the var only (no model or package code edited): staging carries a categorical
and a numeric extra column of `customers`, typed and validated (a value that is not a
number rejects its row as invalid_number, shown in the rejected rows), personal ones are
refused at compile time; on the generated contract book, whose churn was planted to
depend on two attributes, the churn model uses both, with the planted signs, and the
backtest ranks better with them than without.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import CONTRACT_BOOK_VARS, ContractBook, run_cx_value

from cx_value.churn import Feature, honest_backtest
from cx_value.churn.dag import candidates

pytestmark = pytest.mark.integration

EXTRA = {"customers": [
    {"name": "payment_method", "type": "categorical", "churn_feature": True},
    {"name": "data_usage_gb", "type": "numeric", "churn_feature": True},
]}
METHODS = ("Card", " bank_transfer ", "ELECTRONIC_CHECK")


def _vars(extra: dict[str, object]) -> str:
    return json.dumps({"cx_extra_columns": extra})


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """Demo-profile data whose customers file gains the two columns (one usage value is
    not a number), built through the customer staging models."""
    base = tmp_path_factory.mktemp("extra_staging")
    raw = base / "raw"
    made = run_cx_value(["generate", "--out", str(raw), "--customers", "300", "--seed", "5",
                         "--format", "parquet", "--dirty-share", "0"], {}, base)
    assert made.returncode == 0, made.stderr[-3000:]
    customers = pq.read_table(raw / "customers.parquet")
    n = customers.num_rows
    methods = [METHODS[i % 3] for i in range(n)]
    usage = [f"{i / 4:.2f}" for i in range(n)]
    usage[7] = "lots"
    customers = customers.append_column("payment_method", pa.array(methods))
    customers = customers.append_column("data_usage_gb", pa.array(usage))
    pq.write_table(customers, raw / "customers.parquet")
    database = base / "warehouse.duckdb"
    built = run_cx_value(
        ["build", "--raw-dir", str(raw), "--select",
         "+stg_crm__customers +stg_crm__customers_rejected", "--vars", _vars(EXTRA)],
        {"CX_DUCKDB_PATH": str(database)}, base)
    assert built.returncode == 0, built.stdout[-5000:]
    return raw, customers.to_pandas()


def test_extra_columns_are_typed_and_validated(staged: tuple[Path, pd.DataFrame],
                                               tmp_path: Path) -> None:
    raw, customers = staged
    con = duckdb.connect(str(raw.parent / "warehouse.duckdb"), read_only=True)
    stg = con.execute("select customer_id, payment_method, data_usage_gb"
                      " from staging.stg_crm__customers").df().set_index("customer_id")
    rejected = con.execute("select raw_key, reject_reason, raw_values"
                           " from staging.stg_crm__customers_rejected").df()
    con.close()
    bad = customers["customer_id"].iloc[7]
    # the row whose number does not parse is rejected with the raw value shown, not lost
    assert rejected["raw_key"].tolist() == [bad]
    assert rejected["reject_reason"].tolist() == ["invalid_number"]
    assert "data_usage_gb=lots" in rejected["raw_values"].iloc[0]
    assert len(stg) == len(customers) - 1
    expected = customers.set_index("customer_id").drop(index=bad)
    assert (stg.loc[expected.index, "payment_method"]
            == expected["payment_method"].str.strip().str.lower()).all()
    assert set(stg["payment_method"]) == {"card", "bank_transfer", "electronic_check"}
    np.testing.assert_array_equal(stg.loc[expected.index, "data_usage_gb"].to_numpy(),
                                  expected["data_usage_gb"].astype(float).to_numpy())


@pytest.mark.parametrize(("name", "table"), [("contact_email", "customers"),
                                               ("account_name", "customers"),
                                               ("home_address", "subscriptions")])
def test_a_personal_column_is_refused(staged: tuple[Path, pd.DataFrame], tmp_path: Path,
                                      name: str, table: str) -> None:
    raw, _ = staged
    # the column is in the export, so what stops the build is the refusal itself
    export = tmp_path / "raw"
    shutil.copytree(raw, export)
    path = export / f"{table}.parquet"
    data = pq.read_table(path)
    pq.write_table(data.append_column(name, pa.array(["x"] * data.num_rows)), path)
    run = run_cx_value(
        ["build", "--raw-dir", str(export), "--select", "+stg_crm__customers",
         "--vars", _vars({table: [{"name": name, "type": "categorical"}]})],
        {"CX_DUCKDB_PATH": str(tmp_path / "refused.duckdb")}, tmp_path)
    assert run.returncode != 0
    message = " ".join((run.stdout + run.stderr).split())
    assert f"cx_extra_columns.{table}.{name} is refused" in message


def test_a_declared_column_missing_from_the_export_stops_the_build(
        staged: tuple[Path, pd.DataFrame], tmp_path: Path) -> None:
    raw, _ = staged
    run = run_cx_value(
        ["build", "--raw-dir", str(raw), "--select", "+stg_crm__customers",
         "--vars", _vars({"customers": [{"name": "contract_type", "type": "categorical"}]})],
        {"CX_DUCKDB_PATH": str(tmp_path / "missing.duckdb")}, tmp_path)
    assert run.returncode != 0
    message = " ".join((run.stdout + run.stderr).split())
    # named by the file check, before dbt starts and before anything is built
    assert "customers.parquet: missing column contract_type declared in the var " \
        "cx_extra_columns (raw table crm.customers)" in message
    assert not (tmp_path / "missing.duckdb").exists()


def test_in_tables_mode_a_declared_column_missing_from_the_table_stops_the_build(
        staged: tuple[Path, pd.DataFrame], tmp_path: Path) -> None:
    """Loaded tables have no file check before dbt: the staging macro names the column."""
    raw, _ = staged
    database = tmp_path / "tables.duckdb"
    loaded = run_cx_value(["load", str(raw), "--database", str(database)], {}, tmp_path)
    assert loaded.returncode == 0, loaded.stdout[-3000:]
    run = run_cx_value(
        ["build", "--select", "+stg_crm__customers",
         "--vars", _vars({"customers": [{"name": "contract_type", "type": "categorical"}]})],
        {"CX_DUCKDB_PATH": str(database), "CX_RAW_MODE": "tables", "CX_RAW_SCHEMA": "raw"},
        tmp_path)
    assert run.returncode != 0
    message = " ".join((run.stdout + run.stderr).split())
    assert "has no column contract_type, declared in the var cx_extra_columns" in message


# ------------------------------------------------------------------ the contract book

AUC_MARGIN = 0.05
"""The backtest AUC with the two attributes must beat the AUC without them by this much
(the planted attributes are drawn from each customer's churn probability)."""


def test_the_churn_model_uses_both_attributes_with_the_planted_signs(
        contract_book: ContractBook) -> None:
    assert CONTRACT_BOOK_VARS["cx_extra_columns"] == EXTRA  # declared through the var only
    signs = contract_book.truth["attributes"]
    con = duckdb.connect(str(contract_book.without_invoices), read_only=True)
    coefficients = con.execute("select * from marts.churn_model_coefficients").df()
    con.close()
    assert (coefficients["status"] == "fitted").all()
    used = coefficients[coefficients["is_used"]].set_index("feature")
    assert used.loc["data_usage_gb", "coefficient"] * signs["data_usage_gb"]["sign"] > 0
    methods = coefficients[coefficients["source_feature"] == "payment_method"]
    reference = methods.loc[methods["drop_reason"].str.startswith("reference", na=False),
                            "category"].item()
    method_sign = signs["payment_method"]["sign"]
    for row in methods[methods["is_used"]].itertuples():
        # relative to the reference category: the sign of the planted difference
        planted = np.sign(method_sign[row.category] - method_sign[reference])
        if planted != 0:
            assert np.sign(row.coefficient) == planted, row.feature
    assert methods["is_used"].sum() >= 1


def test_the_attributes_lift_the_backtest_auc(contract_book: ContractBook) -> None:
    con = duckdb.connect(str(contract_book.without_invoices), read_only=True)
    backtest = con.execute("select distinct status, method, auc from marts.churn_model_backtest"
                           ).df()
    features = con.execute("select * from intermediate.int_contract_term_features").df()
    catalog = con.execute("select * from marts.churn_feature_catalog").df()
    con.close()
    assert backtest["status"].tolist() == ["run"]
    with_attributes = float(backtest["auc"].item())
    chosen = candidates(catalog)
    without = [f for f in chosen.features if f.name not in {"payment_method", "data_usage_gb"}]
    assert {f.name for f in chosen.features} - {f.name for f in without} == {
        "payment_method", "data_usage_gb"}
    assert all(isinstance(f, Feature) for f in without)
    baseline = honest_backtest(features, without)
    assert baseline.method == backtest["method"].item()
    assert baseline.auc is not None
    assert with_attributes - baseline.auc > AUC_MARGIN, (with_attributes, baseline.auc)
