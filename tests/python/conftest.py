"""Shared fixtures of the integration tests that need a warehouse built on generated data."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class GeneratedWarehouse:
    """A warehouse built by `cx-value build` on data from `cx-value generate`."""

    raw_dir: Path
    truth_dir: Path
    database: Path


def run_cx_value(
    args: list[str], env: dict[str, str], scratch: Path
) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a subprocess; dbt artefacts go to `scratch`, not the project's target/."""
    scratch.mkdir(parents=True, exist_ok=True)
    env = {
        "DBT_TARGET_PATH": str(scratch / "target"),
        "DBT_LOG_PATH": str(scratch / "logs"),
        # build the selected models and the tests on them only, not tests that
        # also read models outside the selection
        "DBT_INDIRECT_SELECTION": "cautious",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "cx_value.cli", *args],
        cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, check=False,
    )


def build_generated(
    base: Path, customers: int, seed: int, select: str
) -> GeneratedWarehouse:
    """Generate `customers` customers as Parquet into `base` and build `select` on them."""
    raw = base / "raw"
    generated = run_cx_value(
        ["generate", "--out", str(raw), "--customers", str(customers), "--seed", str(seed),
         "--format", "parquet"], {}, base,
    )
    assert generated.returncode == 0, generated.stderr[-3000:]
    database = base / "warehouse.duckdb"
    built = run_cx_value(
        ["build", "--raw-dir", str(raw), "--select", select],
        {"CX_DUCKDB_PATH": str(database)}, base,
    )
    assert built.returncode == 0, built.stdout[-5000:]
    return GeneratedWarehouse(raw_dir=raw, truth_dir=raw / "_truth", database=database)


@pytest.fixture(scope="session")
def journey_warehouse(tmp_path_factory: pytest.TempPathFactory) -> GeneratedWarehouse:
    """20,000 generated customers built through every journey model (tag:journey)."""
    customers = int(os.environ.get("CX_JOURNEY_TEST_CUSTOMERS", "20000"))
    return build_generated(tmp_path_factory.mktemp("journey"), customers, 7, "+tag:journey")


@pytest.fixture(scope="session")
def service_warehouse(tmp_path_factory: pytest.TempPathFactory) -> GeneratedWarehouse:
    """100,000 generated customers built through the service marts only: enough tickets
    per channel that medians and shares sit within about 1 % of what was planted."""
    customers = int(os.environ.get("CX_SERVICE_TEST_CUSTOMERS", "100000"))
    return build_generated(tmp_path_factory.mktemp("service"), customers, 8, "+marts.service")
