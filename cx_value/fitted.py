"""The Python models' output, for a dbt target that cannot run them.

dbt-spark runs Python models only on a Databricks or Dataproc cluster, so a Spark build
reads each Python model's table from a DuckDB build of the same data: the SQL model of
the same name in ``models/marts/<area>/fitted/`` (enabled on Spark only) reads
``<folder>/<model>.parquet`` through the macro ``cx_fitted_table``, the folder named by
the var ``cx_fitted_dir`` or ``CX_FITTED_DIR``. Everything downstream, including the
scoring SQL that reads the fitted parameters, then runs on Spark unchanged.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

# (schema, model) of every Python model, in the order the DAG builds them
PYTHON_MODELS: tuple[tuple[str, str], ...] = (
    ("marts", "clv_bgnbd_parameters"),
    ("marts", "clv_customer_predictions"),
    ("marts", "retention_sbg_parameters"),
    ("marts", "retention_customer_predictions"),
    ("marts", "retention_survival_curve"),
    ("marts", "churn_model_coefficients"),
    ("marts", "churn_model_backtest"),
)


def _quoted(value: str, quote: str) -> str:
    return quote + value.replace(quote, quote * 2) + quote


def export_fitted_tables(database: Path, folder: Path) -> list[Path]:
    """Write every Python model's table in ``database`` to ``<folder>/<model>.parquet``.

    Columns keep their names, order and types. Returns the files written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with duckdb.connect(str(database), read_only=True) as con:
        for schema, model in PYTHON_MODELS:
            target = folder / f"{model}.parquet"
            relation = f"{_quoted(schema, chr(34))}.{_quoted(model, chr(34))}"
            con.execute(
                f"copy (select * from {relation}) to {_quoted(str(target), chr(39))} "
                "(format parquet)"
            )
            written.append(target)
    return written
