"""Real exports lack whole sources: every subset builds green and no mart invents a figure.

The generator's full export is cut down the way companies' exports look: only
customers and their orders (in pounds), only contracts, only surveys, only web data,
everything but web data, and everything. Some missing tables are declared absent,
others arrive as header-only files. For each subset the build must succeed, and:

- no public mart column holds a non-NULL value whose every source is a missing or
  empty table, column by column from the lineage of the compiled SQL
  (column_lineage.py), not from a hand list;
- a mart has rows exactly when the tables its rows need (``meta.cx_needs``) are there;
- `cx-value summary` names the currency, lists the empty marts and never prints nan.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from column_lineage import mart_column_lineage, values_without_source
from conftest import ROOT, run_cx_value

from cx_value.contract import TABLES
from cx_value.coverage import public_marts

pytestmark = pytest.mark.integration

ALL_TABLES = tuple(t.name for t in TABLES)
# Models that stand for settings rather than data: the observation date, the
# observed-table guard and the calendar (see column_lineage.mart_column_lineage).
PARAMETER_MODELS = ("int_observation_date", "int_raw_tables_observed", "dim_dates")
CUSTOMERS = 1500
# subset builds that run at once (CX_TEST_BUILD_JOBS): two on a 2-core machine
BUILD_JOBS = int(os.environ.get("CX_TEST_BUILD_JOBS", "2"))


@dataclass(frozen=True)
class Subset:
    """An export that holds ``kept`` tables; the others are declared absent or empty."""

    name: str
    kept: tuple[str, ...]
    # missing tables arrive as header-only files instead of being declared absent
    empty_files: bool = False
    currency: str = "EUR"

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(t for t in ALL_TABLES if t not in self.kept)


SUBSETS = (
    Subset("retail_in_pounds", ("customers", "orders", "order_lines"), currency="GBP"),
    Subset("contracts_only", ("customers", "subscriptions"), empty_files=True),
    Subset("surveys_only", ("customers", "survey_responses")),
    Subset("web_only", ("customers", "events"), empty_files=True),
    Subset("everything_but_web", tuple(t for t in ALL_TABLES if t != "events")),
    Subset("everything", ALL_TABLES),
)


@dataclass(frozen=True)
class BuiltSubset:
    subset: Subset
    database: Path
    target: Path
    summary: str


@pytest.fixture(scope="module")
def full_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("subsets")
    raw = base / "full"
    generated = run_cx_value(
        ["generate", "--out", str(raw), "--customers", str(CUSTOMERS), "--seed", "21",
         "--format", "parquet"], {}, base,
    )
    assert generated.returncode == 0, generated.stderr[-3000:]
    return raw


def _cut(full: Path, subset: Subset, folder: Path) -> None:
    """Copy the kept tables; write the missing ones as header-only files if asked."""
    folder.mkdir(parents=True)
    for name in subset.kept:
        table = pq.read_table(full / f"{name}.parquet")
        if subset.currency != "EUR" and "currency" in table.column_names:
            # the export is in another currency: every explicit code says so
            column = table["currency"]
            table = table.set_column(
                table.column_names.index("currency"), "currency",
                pc.if_else(pc.equal(pc.utf8_upper(column), "EUR"), subset.currency, column),
            )
        pq.write_table(table, folder / f"{name}.parquet")
    if subset.empty_files:
        for name in subset.missing:
            pq.write_table(pq.read_table(full / f"{name}.parquet").slice(0, 0),
                           folder / f"{name}.parquet")


def _build_subset(full_export: Path, subset: Subset, base: Path) -> BuiltSubset:
    """Cut ``subset`` from the full export into its own folder, build it and summarise it."""
    folder = base / subset.name / "raw"
    _cut(full_export, subset, folder)
    database = base / subset.name / "warehouse.duckdb"
    args = ["build", "--raw-dir", str(folder), "--vars", f"{{cx_currency: {subset.currency}}}"]
    if subset.missing and not subset.empty_files:
        args += ["--absent", ",".join(subset.missing)]
    scratch = base / subset.name
    env = {"CX_DUCKDB_PATH": str(database)}
    result = run_cx_value(args, env, scratch)
    assert result.returncode == 0, (
        f"{subset.name}: build failed\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
    )
    summary = run_cx_value(["summary", "--database", str(database)], env, scratch)
    assert summary.returncode == 0, summary.stdout[-3000:]
    return BuiltSubset(subset, database, scratch / "target", summary.stdout)


@pytest.fixture(scope="module")
def built(full_export: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, BuiltSubset]:
    """Every subset built, BUILD_JOBS at a time: each build is a process of its own (its
    own folder, database and dbt target), and dbt's per-node work is mostly one core."""
    base = tmp_path_factory.mktemp("subset_builds")
    with ThreadPoolExecutor(max_workers=BUILD_JOBS) as pool:
        futures = {s.name: pool.submit(_build_subset, full_export, s, base) for s in SUBSETS}
        return {name: future.result() for name, future in futures.items()}


@pytest.fixture(scope="module")
def lineage(built: dict[str, BuiltSubset]) -> dict[str, dict[str, frozenset[str]]]:
    everything = built["everything"]
    return mart_column_lineage(
        everything.target / "manifest.json", everything.database, parameters=PARAMETER_MODELS
    )


@pytest.mark.parametrize("subset", [s.name for s in SUBSETS])
def test_no_mart_shows_a_value_whose_only_sources_are_missing(
    built: dict[str, BuiltSubset], lineage: dict[str, dict[str, frozenset[str]]], subset: str
) -> None:
    result = built[subset]
    violations = values_without_source(result.database, lineage, set(result.subset.missing))
    assert not violations, "\n".join(violations)


@pytest.mark.parametrize("subset", [s.name for s in SUBSETS])
def test_marts_have_rows_exactly_when_their_tables_are_there(
    built: dict[str, BuiltSubset], subset: str
) -> None:
    result = built[subset]
    marts = public_marts(ROOT)
    with duckdb.connect(str(result.database), read_only=True) as con:
        rows = {name: con.execute(f'select count(*) from marts."{name}"').fetchone()[0]
                for name in marts}
    wrong = [
        f"{name}: {rows[name]} rows, needs {mart.describe_needs() or 'nothing'}"
        for name, mart in sorted(marts.items())
        if bool(rows[name]) != mart.has_rows_with(result.subset.kept)
    ]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("subset", [s.name for s in SUBSETS])
def test_summary_names_the_currency_and_the_empty_marts_and_never_nan(
    built: dict[str, BuiltSubset], subset: str
) -> None:
    result = built[subset]
    text = " ".join(result.summary.split())
    assert not re.search(r"\bnan\b", text, re.IGNORECASE), text
    assert f"amounts in: {result.subset.currency}" in text
    assert "last build succeeded" in text
    marts = public_marts(ROOT)
    expected_empty = {n for n, m in marts.items() if not m.has_rows_with(result.subset.kept)}
    for name in expected_empty:
        assert name in text, f"{name} is empty but the summary does not say so"
    if result.subset.currency != "EUR":
        assert "EUR" not in text.replace("EURO", ""), "the summary claims euros"


def test_summary_says_when_the_build_failed(
    built: dict[str, BuiltSubset], tmp_path: Path
) -> None:
    """A failing build (health weights that do not add up to 1) is reported as failed."""
    source = built["retail_in_pounds"]
    database = tmp_path / "failed.duckdb"
    shutil.copy(source.database, database)
    env = {"CX_DUCKDB_PATH": str(database)}
    folder = source.database.parent / "raw"
    failed = run_cx_value(
        ["build", "--raw-dir", str(folder), "--absent", ",".join(source.subset.missing),
         "--select", "mart_customer_health", "--exclude", "test_type:unit",
         "--vars", "{cx_currency: GBP, cx_health_weight_nps: 0.9}"],
        env, tmp_path,
    )
    assert failed.returncode == 1
    summary = run_cx_value(["summary", "--database", str(database)], env, tmp_path)
    assert summary.returncode == 1
    text = " ".join(summary.stdout.split())
    assert "last build FAILED" in text
    assert "cx_health_weights_sum_to_one" in text


def test_a_contract_business_billing_by_invoice_is_valued_by_its_contracts(
    tmp_path: Path,
) -> None:
    """Subscriptions plus monthly invoices exported as orders (and nothing else): the
    bills are contract revenue, to the cent by month and by customer, and no subscriber
    becomes a one-off buyer in the CLV model (valued once, by the contract)."""
    raw = tmp_path / "full"
    generated = run_cx_value(
        ["generate", "--out", str(raw), "--customers", "1000", "--seed", "31",
         "--format", "parquet", "--bill-subscriptions"], {}, tmp_path,
    )
    assert generated.returncode == 0, generated.stderr[-3000:]
    export = tmp_path / "export"
    export.mkdir()
    for name in ("customers", "subscriptions"):
        shutil.copy(raw / f"{name}.parquet", export / f"{name}.parquet")
    orders = pq.read_table(raw / "orders.parquet")
    bills = orders.filter(pc.equal(orders["order_type"], "contract_billing"))
    pq.write_table(bills, export / "orders.parquet")
    lines = pq.read_table(raw / "order_lines.parquet")
    # ids carry planted stray spaces and case, which staging normalises: match as it does
    bill_ids = pc.utf8_lower(pc.utf8_trim_whitespace(bills["order_id"]))
    line_order_ids = pc.utf8_lower(pc.utf8_trim_whitespace(lines["order_id"]))
    pq.write_table(lines.filter(pc.is_in(line_order_ids, bill_ids)),
                   export / "order_lines.parquet")
    missing = [t for t in ALL_TABLES
               if t not in ("customers", "subscriptions", "orders", "order_lines")]
    database = tmp_path / "warehouse.duckdb"
    built = run_cx_value(
        ["build", "--raw-dir", str(export), "--absent", ",".join(missing)],
        {"CX_DUCKDB_PATH": str(database)}, tmp_path,
    )
    assert built.returncode == 0, built.stdout[-6000:]
    truth = json.loads((raw / "_truth" / "truth.json").read_text())["returns"]
    billed = truth["contract_billing"]
    per_customer = {
        row["customer_id"]: row["contract_billing_cents"]
        for row in pq.read_table(raw / "_truth" / "customer_revenue.parquet").to_pylist()
    }
    with duckdb.connect(str(database), read_only=True) as con:
        by_month = dict(con.execute(
            "select strftime(month_start_date, '%Y-%m'), sum(contract_revenue) * 100"
            " from marts.mart_cx_roi_monthly group by 1"
        ).fetchall())
        customers = dict(con.execute(
            "select customer_id, contract_revenue * 100 from marts.fct_customer_revenue"
        ).fetchall())
        one_off = con.execute(
            "select count(*), coalesce(sum(one_off_revenue), 0) from marts.fct_customer_revenue"
            " where one_off_revenue <> 0"
        ).fetchone()
        scored = con.execute("select count(*) from marts.fct_customer_clv").fetchone()
    print(f"{billed['orders']} bills, {billed['revenue_cents'] / 100:,.2f} billed")
    assert billed["orders"] > 0
    for month, cents in billed["by_month_cents"].items():
        assert by_month[month] == cents, month
    assert {c: int(v) for c, v in customers.items() if v} == {
        c: v for c, v in per_customer.items() if v
    }
    assert one_off == (0, 0)
    assert scored == (0,)
