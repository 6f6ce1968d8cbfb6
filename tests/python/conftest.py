"""Shared fixtures of the integration tests that need a warehouse built on generated data."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[2]
# Builds of generated data (not the demo seeds) need a salt of their own; every build the
# tests start inherits this one unless the test sets another.
TEST_PII_SALT = "cx-value-test-suite-salt"
os.environ.setdefault("CX_PII_SALT", TEST_PII_SALT)


# Session fixtures that build a warehouse: every test that uses one runs in the same
# pytest-xdist worker, so each is built once per run.
SHARED_BUILDS = ("journey_warehouse", "service_warehouse", "contract_book")
# Groups that take longest (several dbt builds each) are handed out first, so that with
# `-n 2` the two workers finish at about the same time instead of one waiting on the
# last long group. Measured by `pytest --durations`; order only, no test depends on it.
LONG_GROUPS = (
    "test_publish_faults.py::test_readers_see_one_complete_version_through_three_rebuilds",
    "test_publish_faults.py::test_a_build_killed_in_any_phase_leaves_a_consistent_published_"
    "version",
    "service_warehouse", "test_source_subsets.py", "journey_warehouse", "contract_book",
    "test_extending.py", "test_web_sessions.py::test_incremental_run_equals_full_refresh",
    "test_web_sessions.py::test_an_incremental_run_drops_what_the_export_no_longer_holds",
    "test_source_subsets.py::test_a_contract_business_billing_by_invoice_is_valued_by_its_"
    "contracts", "test_publish.py", "test_staging_integration.py", "test_bi_conventions.py",
    "test_metrics.py", "test_returns.py",
)


def _test_groups(items: list[pytest.Item]) -> dict[str, str]:
    """Group tests that share an expensive fixture: a shared build (SHARED_BUILDS) or a
    fixture of module scope (tests of one module that share it). Tests linked through any
    fixture end up in one group (union-find); a test that shares nothing is a group of its
    own. Returns the group of every test id."""
    parent: dict[str, str] = {}

    def find(key: str) -> str:
        while parent.setdefault(key, key) != key:
            key = parent[key]
        return key

    for item in items:
        module = Path(str(item.path)).name
        keys = [item.nodeid]
        info = getattr(item, "_fixtureinfo", None)
        for name, definitions in (info.name2fixturedefs.items() if info else ()):
            if name in SHARED_BUILDS:
                keys.append(name)
            elif definitions and definitions[-1].scope == "module":
                keys.append(f"{module}::{name}")
        if len(keys) > 1:
            # a group named after the module (or the shared build) it belongs to
            keys.insert(1, module)
        root = find(keys[0])
        for key in keys[1:]:
            parent[find(key)] = root
    # name each group after its most telling member: a shared build, else a module
    names: dict[str, str] = {}
    for key in sorted(parent, key=lambda k: (k not in SHARED_BUILDS, "::" in k, k)):
        names.setdefault(find(key), key)
    return {item.nodeid: names[find(item.nodeid)] for item in items}


# pytest-xdist's own `--dist loadgroup` marks groups by renaming test ids, which pytest 9.2
# no longer allows; so the groups travel in a file instead: each worker writes the group
# of every test it collected, and the scheduler below reads them.
GROUPS_FILE_VARIABLE = "CX_TEST_GROUPS_DIR"


def pytest_configure(config: pytest.Config) -> None:
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        import tempfile

        # the workers start after this and inherit the environment
        os.environ[GROUPS_FILE_VARIABLE] = tempfile.mkdtemp(prefix="cx-test-groups-")


def pytest_unconfigure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput") and os.environ.get(GROUPS_FILE_VARIABLE):
        shutil.rmtree(os.environ.pop(GROUPS_FILE_VARIABLE), ignore_errors=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In a pytest-xdist worker: put the long groups first and write every test's group
    for the scheduler. Without -n nothing changes."""
    folder = os.environ.get(GROUPS_FILE_VARIABLE)
    worker = getattr(config, "workerinput", {}).get("workerid")
    if not folder or not worker:
        return
    import json

    groups = _test_groups(items)

    def rank(group: str) -> int:
        # a group is named after a shared build, a module or a test's node id
        return next((i for i, name in enumerate(LONG_GROUPS)
                     if group == name or group.endswith(f"/{name}")), len(LONG_GROUPS))

    # stable: within a group and among the other tests the collection order stays
    items.sort(key=lambda item: rank(groups[item.nodeid]))
    (Path(folder) / f"{worker}.json").write_text(json.dumps(groups))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """Hand out whole groups (tests sharing a build), in the order the workers collected
    them (long groups first)."""
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self.groups is None:
                import json

                folder = Path(os.environ[GROUPS_FILE_VARIABLE])
                self.groups = {}
                for path in sorted(folder.glob("*.json")):
                    self.groups.update(json.loads(path.read_text()))
            return self.groups.get(nodeid, nodeid)

    config.option.loadscopereorder = False
    return GroupScheduling(config, log)  # type: ignore[arg-type]


@dataclass(frozen=True)
class GeneratedWarehouse:
    """A warehouse built by `cx-value build` on data from `cx-value generate`."""

    raw_dir: Path
    truth_dir: Path
    database: Path


def query_rows(database: Path, sql: str) -> list[tuple]:
    """The rows of one query on a DuckDB file opened read-only (and closed again)."""
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(sql).fetchall()


def run_cx_value(
    args: list[str], env: dict[str, str], scratch: Path
) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a subprocess; dbt artefacts go to `scratch`, not the project's target/."""
    scratch.mkdir(parents=True, exist_ok=True)
    env = {
        # each test database gets its own working database beside it (<folder>/work/),
        # whatever CX_DUCKDB_WORK_PATH the shell running the tests has
        "CX_DUCKDB_WORK_PATH": "",
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


def demo_database_path() -> Path:
    """The demo warehouse `make test` builds (`cx-value build`) into CX_DUCKDB_PATH before
    the integration tests run."""
    path = Path(os.environ.get("CX_DUCKDB_PATH", ROOT / ".data/cx_value.duckdb"))
    if not path.exists():
        pytest.fail(f"{path} does not exist: run dbt build first (make test does)")
    return path


@pytest.fixture(scope="session")
def demo_db() -> Iterator[duckdb.DuckDBPyConnection]:
    """The demo warehouse `make test` builds into CX_DUCKDB_PATH, opened read-only."""
    con = duckdb.connect(str(demo_database_path()), read_only=True)
    yield con
    con.close()


@dataclass(frozen=True)
class PublishedDemo:
    """What `cx-value build` of the demo data published, as `make test` ran it: the
    database, the working database beside it, the exports, the Data Docs and the dbt
    manifest of that build (``state/manifest.json``)."""

    published: Path
    working: Path
    publish_dir: Path

    @property
    def manifest(self) -> Path:
        return self.publish_dir / "state" / "manifest.json"


@pytest.fixture(scope="session")
def published_demo() -> PublishedDemo:
    """The demo build the integration tests share, so the ~800-node demo DAG is built once
    per `make test`; tests that change a build work on a copy (`copy_published_demo`)."""
    from cx_value.publish import resolve_paths

    published = demo_database_path()
    paths = resolve_paths(published)
    demo = PublishedDemo(published, paths.working, paths.publish_dir)
    for needed in (demo.working, demo.manifest, paths.current):
        if not needed.exists():
            pytest.fail(f"{needed} does not exist: {published} was not published by "
                        "`cx-value build` (make test-dbt builds it)")
    return demo


def copy_published_demo(demo: PublishedDemo, target: Path) -> Path:
    """A copy of what the demo build published (database, working database, exports with
    their `current` link, Data Docs, state, last-run status) in ``target``, each under its
    own name (views name their catalog after the file's stem); returns the copy of the
    published database. Needs the default layout: the working database in ``work/`` and
    the rest beside the published database."""
    from cx_value.publish import STATUS_NAME

    assert demo.working == demo.published.parent / "work" / demo.published.name, (
        f"{demo.working}: copy_published_demo needs the working database in work/"
    )
    assert demo.publish_dir == demo.published.parent, demo.publish_dir
    (target / "work").mkdir(parents=True)
    for path in (demo.published, demo.working, demo.publish_dir / STATUS_NAME):
        shutil.copy2(path, target / path.relative_to(demo.publish_dir))
    for folder in ("exports", "data_docs", "state"):
        shutil.copytree(demo.publish_dir / folder, target / folder, symlinks=True)
    return target / demo.published.name


@pytest.fixture(scope="session")
def journey_warehouse(tmp_path_factory: pytest.TempPathFactory) -> GeneratedWarehouse:
    """20,000 generated customers built through every journey model (tag:journey) and the
    CX-value marts (test_cx_value.py), in one build: they share most of their upstream."""
    customers = int(os.environ.get("CX_JOURNEY_TEST_CUSTOMERS", "20000"))
    return build_generated(
        tmp_path_factory.mktemp("journey"), customers, 7, "+tag:journey +marts.cx_value"
    )


@pytest.fixture(scope="session")
def service_warehouse(tmp_path_factory: pytest.TempPathFactory) -> GeneratedWarehouse:
    """100,000 generated customers built through the service marts only: enough tickets
    per channel that medians and shares sit within about 1 % of what was planted."""
    customers = int(os.environ.get("CX_SERVICE_TEST_CUSTOMERS", "100000"))
    return build_generated(tmp_path_factory.mktemp("service"), customers, 8, "+marts.service")


CONTRACT_BOOK_CUSTOMERS = 6000
CONTRACT_BOOK_VARS: dict[str, object] = {
    # retention per plan; the term length is always part of the group
    "cx_retention_group_by": ["plan_name"],
    # the export's own attributes, carried through staging into the churn features
    "cx_extra_columns": {"customers": [
        {"name": "payment_method", "type": "categorical", "churn_feature": True},
        {"name": "data_usage_gb", "type": "numeric", "churn_feature": True},
    ]},
}
"""dbt vars of the contract-book warehouses: what an analyst of such a business sets."""


@dataclass(frozen=True)
class ContractBook:
    """One generated contract book (`cx-value generate --profile contracts`, with its
    monthly invoices) built twice: with the invoices and with orders declared absent."""

    raw_dir: Path
    truth: dict
    with_invoices: Path
    without_invoices: Path


@pytest.fixture(scope="session")
def contract_book(tmp_path_factory: pytest.TempPathFactory) -> ContractBook:
    import json

    from cx_value.generate.contract_book import ABSENT_TABLES

    base = tmp_path_factory.mktemp("contract_book")
    raw = base / "raw"
    generated = run_cx_value(
        ["generate", "--profile", "contracts", "--out", str(raw), "--customers",
         str(CONTRACT_BOOK_CUSTOMERS), "--seed", "11", "--format", "parquet",
         "--bill-subscriptions"], {}, base,
    )
    assert generated.returncode == 0, generated.stderr[-3000:]
    # the same export without its invoices: orders and order lines removed and declared
    # absent, as a company that bills outside its CRM would export it
    no_invoices = base / "raw_without_invoices"
    shutil.copytree(raw, no_invoices, ignore=shutil.ignore_patterns("orders.*", "order_lines.*"))
    databases = {}
    for name, folder, absent in (
        ("with_invoices", raw, ABSENT_TABLES),
        ("without_invoices", no_invoices, (*ABSENT_TABLES, "orders", "order_lines")),
    ):
        database = base / f"{name}.duckdb"
        built = run_cx_value(
            ["build", "--raw-dir", str(folder), "--absent", ",".join(absent),
             "--vars", json.dumps(CONTRACT_BOOK_VARS)],
            {"CX_DUCKDB_PATH": str(database)}, base / name,
        )
        assert built.returncode == 0, built.stdout[-5000:]
        databases[name] = database
    truth = json.loads((raw / "_truth" / "contract_book.json").read_text())
    return ContractBook(raw_dir=raw, truth=truth, **databases)


def create_revenue_views(
    con: duckdb.DuckDBPyConnection, orders: str = "orders", order_lines: str = "order_lines"
) -> None:
    """The warehouse's revenue and purchase-day rules as DuckDB views, recomputed here
    independently of the generator, over relations with normalised ids (lower case) and
    UTC timestamps (text or timestamp).

    - ``revenue_lines``: every line of a completed order document, its kind (``sale``,
      ``return``: any line of a return or credit note, whatever its sign, or a negative
      line; ``contract_billing``) and units x price in cents (units always >= 0);
    - ``sale_days``: per customer and UTC date with sale lines, the sales and the first
      order time of the day;
    - ``allocated_returns``: per return document, the day its value is taken from (the
      original order's day when linked, else the latest sale day on or before its date);
    - ``net_days``: per sale day, sales - allocated returns = ``net`` (a purchase day
      when > 0).
    """
    con.execute(f"""
        create or replace view revenue_lines as
        select
            o.order_id,
            o.customer_id,
            cast(o.ordered_at as timestamp) as ordered_at,
            cast(cast(o.ordered_at as timestamp) as date) as ordered_date,
            nullif(o.original_order_id, '') as original_order_id,
            case
                when coalesce(lower(o.order_type), 'order') = 'contract_billing'
                    then 'contract_billing'
                when coalesce(lower(o.order_type), 'order') in ('return', 'credit_note')
                    or cast(l.quantity as bigint) < 0
                    then 'return'
                else 'sale'
            end as line_kind,
            abs(cast(l.quantity as bigint))
            * cast(round(cast(l.realised_price as decimal(18, 2)) * 100) as bigint)
                as value_cents,
            abs(cast(l.quantity as bigint))
            * coalesce(cast(round(cast(l.unit_cost as decimal(18, 2)) * 100) as bigint), 0)
                as cost_cents,
            abs(cast(l.quantity as bigint))
            * cast(round(cast(l.list_price as decimal(18, 2)) * 100) as bigint) as list_cents
        from {orders} as o
        inner join {order_lines} as l on l.order_id = o.order_id
        where o.status = 'completed'
    """)
    con.execute("""
        create or replace view sale_days as
        select customer_id, ordered_date as day, sum(value_cents) as sales,
               min(ordered_at) as first_ordered_at
        from revenue_lines where line_kind = 'sale' group by all
    """)
    con.execute(f"""
        create or replace view allocated_returns as
        with docs as (
            select order_id, customer_id, ordered_date as day, original_order_id,
                   sum(value_cents) as returned
            from revenue_lines where line_kind = 'return' group by all
        ),
        latest as (
            select d.order_id, s.day as latest_day
            from docs as d
            asof left join sale_days as s on s.customer_id = d.customer_id and d.day >= s.day
        )
        select d.*, coalesce(cast(cast(o.ordered_at as timestamp) as date), l.latest_day)
                   as allocated_day
        from docs as d
        inner join latest as l using (order_id)
        left join {orders} as o on o.order_id = d.original_order_id
    """)
    con.execute("""
        create or replace view net_days as
        select s.customer_id, s.day, s.first_ordered_at, s.sales,
               coalesce(a.returned, 0) as returned, s.sales - coalesce(a.returned, 0) as net
        from sale_days as s
        left join (select customer_id, allocated_day, sum(returned) as returned
                   from allocated_returns group by all) as a
            on a.customer_id = s.customer_id and a.allocated_day = s.day
    """)
