"""The same DAG on Spark: every public mart equal to DuckDB's on the demo data.

The demo data is built twice from the same model files: on DuckDB (`cx-value build`)
and on a local Spark (`dbt build` on the profile's `spark` target, dbt-spark in session
mode). The Python models cannot run under dbt-spark here, so the Spark build reads
their tables from the DuckDB build (models/marts/*/fitted/, cx_value.fitted); every
SQL model, the scoring included, runs on Spark. The expected rows are the other
engine's: each public mart must hold the same rows (numbers within 1e-9 relative) under
the same column names, and the Spark build must run every enabled node and pass.

Run with `make test-spark` (installs the `spark` extra; needs Java 17: `make java`).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from cx_value.compare import compare_column_names, compare_rows
from cx_value.fitted import PYTHON_MODELS, export_fitted_tables
from cx_value.profiles import profile_target
from cx_value.publish import MART_SCHEMA, public_mart_names

pytest.importorskip("pyspark", reason="the spark extra is not installed (make test-spark)")
pytest.importorskip("dbt.adapters.spark", reason="the spark extra is not installed")

pytestmark = pytest.mark.spark

ROOT = Path(__file__).resolve().parents[2]
PUBLIC_MARTS = 24
# what Spark leaves in the working directory when its settings do not take effect
SPARK_LEFTOVERS = ("metastore_db", "spark-warehouse", "derby.log")
# both engines pseudonymise with this salt, not the demo one: Spark reads it from the
# environment when it parses the SQL, so it must reach neither compiled SQL nor logs
SALT = "spark-equality-test-salt-7f3a"
# the one node left out of the Spark build: its expected pseudonyms are the demo salt's
# (hashed by hand), and this build pseudonymises with SALT
DEMO_SALT_UNIT_TEST = "contacts_pseudonymise_personal_data"


@dataclass(frozen=True)
class Builds:
    duckdb_path: Path
    duckdb_manifest: Path
    spark_target: Path
    spark_env: dict[str, str]


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        args, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return done


def _leftovers() -> list[str]:
    return [name for name in SPARK_LEFTOVERS if (ROOT / name).exists()]


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Builds]:
    before = _leftovers()
    base = tmp_path_factory.mktemp("spark_equality")
    bin_dir = Path(sys.executable).parent
    duckdb_path = base / "duckdb" / "cx_value.duckdb"
    _run(
        [sys.executable, "-m", "cx_value.cli", "build"],
        {
            "CX_TARGET": "duckdb",
            "CX_RAW_MODE": "demo",
            "CX_DUCKDB_PATH": str(duckdb_path),
            "CX_DUCKDB_WORK_PATH": "",
            "CX_PII_SALT": SALT,
            "DBT_TARGET_PATH": str(base / "target-duckdb"),
            "DBT_LOG_PATH": str(base / "logs-duckdb"),
        },
    )
    export_fitted_tables(duckdb_path, base / "fitted")
    spark_env = {
        "CX_TARGET": "spark",
        "CX_RAW_MODE": "demo",
        "CX_FITTED_DIR": str(base / "fitted"),
        "CX_SPARK_DIR": str(base / "spark"),
        "CX_PII_SALT": SALT,
        "DBT_TARGET_PATH": str(base / "target-spark"),
        "DBT_LOG_PATH": str(base / "logs-spark"),
    }
    _run([str(bin_dir / "dbt"), "build", "--profiles-dir", ".",
          "--exclude", DEMO_SALT_UNIT_TEST], spark_env)
    yield Builds(
        duckdb_path, base / "target-duckdb" / "manifest.json", base / "target-spark", spark_env
    )
    shutil.rmtree(base / "spark", ignore_errors=True)
    for name in set(_leftovers()) - set(before):
        path = ROOT / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()


def _profile_settings(env: dict[str, str]) -> dict[str, str]:
    """The Spark settings of profiles.yml's spark target, rendered as dbt renders them."""
    target = profile_target("spark", {**os.environ, **env})
    return {key: str(value) for key, value in target["server_side_parameters"].items()}


@pytest.fixture(scope="module")
def spark(builds: Builds) -> Iterator[object]:
    """A Spark session on the metastore and warehouse the Spark build wrote."""
    from pyspark.sql import SparkSession

    # pyspark turns timestamps into naive datetimes of the process's zone: UTC, as DuckDB
    os.environ["TZ"] = "UTC"
    time.tzset()
    builder = SparkSession.builder.master("local[2]").enableHiveSupport()
    for key, value in _profile_settings(builds.spark_env).items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    yield session
    session.stop()


def test_spark_build_ran_every_node(builds: Builds) -> None:
    manifest = json.loads((builds.spark_target / "manifest.json").read_text())
    results = json.loads((builds.spark_target / "run_results.json").read_text())["results"]
    enabled = {
        unique_id: node
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] in ("model", "seed", "test")
    }
    enabled |= {unique_id: {"resource_type": "unit_test"} for unique_id in manifest["unit_tests"]
                if not unique_id.endswith("." + DEMO_SALT_UNIT_TEST)}
    assert len(enabled) > 800
    statuses = {result["unique_id"]: result["status"] for result in results}
    assert set(enabled) - set(statuses) == set(), "enabled nodes the Spark build did not run"
    # exposures report no-op on every target; every enabled node must have passed
    failed = {
        uid: status
        for uid, status in statuses.items()
        if uid in enabled and status not in ("success", "pass")
    }
    assert failed == {}
    models = [node for node in enabled.values() if node["resource_type"] == "model"]
    assert all(node["language"] == "sql" for node in models)
    fed = {node["name"] for node in models if "/fitted/" in node["original_file_path"]}
    assert fed == {name for _, name in PYTHON_MODELS}


def test_every_public_mart_equal_on_both_engines(builds: Builds, spark: object) -> None:
    with duckdb.connect(str(builds.duckdb_path), read_only=True) as con:
        names, _ = public_mart_names(con, builds.duckdb_manifest)
        assert len(names) == PUBLIC_MARTS, names
        differences = []
        for name in names:
            relation = con.execute(f'select * from {MART_SCHEMA}."{name}"')
            duckdb_columns = [column[0] for column in relation.description]
            duckdb_rows = relation.fetchall()
            frame = spark.table(f"{MART_SCHEMA}.{name}")  # type: ignore[attr-defined]
            spark_rows = [tuple(row) for row in frame.collect()]
            differences += compare_column_names(name, duckdb_columns, frame.columns)
            differences += compare_rows(name, duckdb_columns, duckdb_rows, spark_rows)
            print(f"{name}: {len(duckdb_rows)} rows, {len(duckdb_columns)} columns")
    assert not differences, "\n".join(str(d) for d in differences)


def test_pseudonyms_equal_on_both_engines_and_the_salt_in_no_file(
    builds: Builds, spark: object
) -> None:
    columns = "contact_id, first_name_hash, last_name_hash, email_hash, phone_hash"
    with duckdb.connect(str(builds.duckdb_path), read_only=True) as con:
        duckdb_rows = sorted(con.execute(
            f"select {columns} from staging.stg_crm__contacts").fetchall())
    spark_rows = sorted(
        tuple(row) for row in spark.sql(  # type: ignore[attr-defined]
            f"select {columns} from staging.stg_crm__contacts").collect()
    )
    assert len(duckdb_rows) > 100
    assert spark_rows == duckdb_rows
    # the salt the test set, recomputed outside both engines from the seed file
    with (ROOT / "seeds" / "demo" / "contacts.csv").open(newline="") as handle:
        row = next(r for r in csv.DictReader(handle) if r["email"].strip())
    expected = hashlib.sha256(f"{SALT}|{row['email'].strip().lower()}".encode()).hexdigest()
    staged = spark.sql(  # type: ignore[attr-defined]
        "select email_hash from staging.base_crm__contacts where raw_key = "
        f"'{row['contact_id'].strip()}'").collect()
    assert staged and all(r[0] == expected for r in staged)
    folders = (builds.spark_target, builds.spark_target.parent / "logs-spark")
    leaked = [
        str(path) for folder in folders for path in folder.rglob("*")
        if path.is_file() and SALT.encode() in path.read_bytes()
    ]
    assert leaked == []


def test_no_spark_leftovers_in_the_project(builds: Builds) -> None:
    # the profile puts Spark's metastore, warehouse and Derby log under CX_SPARK_DIR
    assert (Path(builds.spark_env["CX_SPARK_DIR"]) / "metastore_db").is_dir()
    assert not _leftovers()
