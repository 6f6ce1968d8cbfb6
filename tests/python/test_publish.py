"""Publishing: the working database reaches readers only through an atomic swap, and only
after the data-quality gate passed.

Unit tests run on small DuckDB files made here. The integration tests take the demo
data as `make test` built and published it (a copy of its folder) and then (a) corrupt a
mart value in the working database so the gate fails, (b) rebuild and publish while a
reader keeps querying the published file.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from conftest import PublishedDemo, copy_published_demo, run_cx_value
from typer.testing import CliRunner

from cx_value import publish as pub
from cx_value.cli import app
from cx_value.quality.validate import Finding

# ----------------------------------------------------------------------------- helpers


def _make_warehouse(path: Path, version: int, rows: int = 50) -> None:
    """A tiny warehouse: two marts whose values all equal ``version``, an observation
    date, and a non-mart table that must not be exported."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists marts")
        con.execute("create schema if not exists intermediate")
        con.execute(f"create or replace table marts.mart_a as select range as id, "
                    f"{version} as version from range({rows})")
        con.execute(f"create or replace table marts.dim_b as select range as id, "
                    f"{version} as version from range({rows * 2})")
        con.execute("create or replace table marts.clv_internal as select 1 as x")
        con.execute("create or replace table intermediate.int_observation_date as "
                    "select date '2026-07-01' as as_of_date")


def _paths(tmp_path: Path) -> pub.Paths:
    published = tmp_path / "pub" / "cx.duckdb"
    return pub.Paths(published=published, working=tmp_path / "pub" / "work" / "cx.duckdb",
                     publish_dir=published.parent)


def _hash_tree(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder`` (symlinks followed as their targets' names)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            out[str(path.relative_to(folder))] = "-> " + os.readlink(path)
        elif path.is_file():
            out[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(autouse=True)
def _no_manifest(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Unit tests use the naming fallback: point the manifest at a folder without one."""
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "no-target"))


# -------------------------------------------------------------------------- unit tests


def test_paths_follow_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CX_DUCKDB_WORK_PATH", raising=False)
    monkeypatch.delenv("CX_PUBLISH_DIR", raising=False)
    monkeypatch.setenv("CX_DUCKDB_PATH", str(tmp_path / "a" / "w.duckdb"))
    paths = pub.resolve_paths()
    assert paths.working == tmp_path / "a" / "work" / "w.duckdb"
    assert paths.publish_dir == tmp_path / "a"
    assert paths.current == tmp_path / "a" / "exports" / "current"
    monkeypatch.setenv("CX_DUCKDB_WORK_PATH", str(tmp_path / "elsewhere.duckdb"))
    monkeypatch.setenv("CX_PUBLISH_DIR", str(tmp_path / "out"))
    paths = pub.resolve_paths()
    assert (paths.working, paths.publish_dir) == (tmp_path / "elsewhere.duckdb", tmp_path / "out")


def test_run_ids_sort_by_time_and_are_unique() -> None:
    from datetime import UTC, datetime, timedelta

    t0 = datetime(2026, 1, 31, 23, 59, 59, 999999, tzinfo=UTC)
    ids = [pub.new_run_id(t0 + timedelta(microseconds=i)) for i in range(3)]
    assert ids == sorted(ids) and ids[0].startswith("20260131T235959.999999Z-")
    assert len({pub.new_run_id(t0) for _ in range(50)}) == 50


def test_the_working_database_starts_from_the_published_one(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    assert pub.prepare_working(paths) is False  # nothing to start from
    assert paths.working.parent.is_dir() and not paths.working.exists()
    _make_warehouse(paths.published, version=1)
    assert pub.prepare_working(paths) is True
    assert _sha(paths.working) == _sha(paths.published)
    _make_warehouse(paths.working, version=2)
    assert pub.prepare_working(paths) is False  # an existing working file is kept
    with duckdb.connect(str(paths.working), read_only=True) as con:
        assert con.execute("select max(version) from marts.mart_a").fetchone() == (2,)


def test_publish_swaps_the_database_and_exports_every_mart(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    _make_warehouse(paths.working, version=1)
    first = pub.publish(paths, "20260101T000000.000000Z-aaaaaa")
    # the published file is the working one, byte for byte, and holds no WAL
    assert _sha(paths.published) == _sha(paths.working)
    assert not Path(str(paths.published) + ".wal").exists()
    # no temporary file is left in the published folder or in exports/
    leftovers = [p.name for p in paths.publish_dir.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []
    assert os.readlink(paths.current) == first.run_id
    manifest = json.loads((paths.current / "_manifest.json").read_text())
    assert manifest["marts"] == {"dim_b": {"file": "dim_b.parquet", "rows": 100},
                                 "mart_a": {"file": "mart_a.parquet", "rows": 50}}
    assert manifest["observation_date"] == "2026-07-01"
    assert manifest["run_id"] == first.run_id
    assert "no manifest" in manifest["public_marts_from"]
    assert sorted(p.name for p in paths.current.iterdir()) == [
        "_manifest.json", "dim_b.parquet", "mart_a.parquet"]  # clv_internal is not public
    assert pq.read_table(paths.current / "mart_a.parquet").to_pydict() == {
        "id": list(range(50)), "version": [1] * 50}

    # a new version replaces the content; a reader of the path sees it at once
    _make_warehouse(paths.working, version=2, rows=7)
    killed = paths.publish_dir / ".cx.duckdb.20260101T120000.000000Z-dead.tmp"
    killed.write_bytes(b"half a copy")  # a publish killed mid-copy
    second = pub.publish(paths, "20260102T000000.000000Z-bbbbbb")
    assert not killed.exists()
    with duckdb.connect(str(paths.published), read_only=True) as con:
        assert con.execute("select count(*), min(version) from marts.mart_a").fetchone() == (7, 2)
    assert os.readlink(paths.current) == second.run_id
    assert pq.read_table(paths.current / "mart_a.parquet").num_rows == 7
    # the previous run folder is still complete (a reader that resolved it keeps it)
    assert pq.read_table(paths.exports / first.run_id / "mart_a.parquet").num_rows == 50


def test_the_manifest_decides_which_marts_are_public(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    _make_warehouse(paths.working, version=1)
    manifest = tmp_path / "manifest.json"

    def node(name: str, access: str) -> dict:
        return {"name": name, "resource_type": "model", "package_name": "cx_value",
                "access": access, "config": {"materialized": "table"}, "columns": {}}

    manifest.write_text(json.dumps({"nodes": {
        "model.cx_value.mart_a": node("mart_a", "public"),
        "model.cx_value.dim_b": node("dim_b", "protected"),
        "model.cx_value.mart_not_built": node("mart_not_built", "public"),
    }}))
    done = pub.publish(paths, "20260101T000000.000000Z-aaaaaa", manifest_path=manifest)
    assert list(done.manifest["marts"]) == ["mart_a"]  # type: ignore[arg-type]
    assert done.manifest["not_built"] == ["mart_not_built"]
    assert done.manifest["public_marts_from"] == "dbt manifest (access: public)"


def test_retention_keeps_three_runs_and_never_the_current_one(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    _make_warehouse(paths.working, version=1, rows=3)
    ids = [f"2026010{i}T000000.000000Z-aaaaaa" for i in range(1, 6)]
    for run_id in ids:
        pub.publish(paths, run_id)
    assert sorted(p.name for p in paths.exports.iterdir()) == [*ids[2:], "current"]
    # point current at an old run (a rollback by hand) and let a new run prune: the
    # current one survives although it is not among the newest three
    os.replace(paths.exports / ids[2], paths.exports / "20250101T000000.000000Z-old")
    pub._swap_current(paths.exports, "20250101T000000.000000Z-old")
    (paths.exports / ".20260109T000000.000000Z-dead.tmp").mkdir()  # a crashed publish
    removed = pub.prune_runs(paths.exports)
    assert ".20260109T000000.000000Z-dead.tmp" in removed
    assert sorted(p.name for p in paths.exports.iterdir()) == [
        "20250101T000000.000000Z-old", *ids[3:], "current"]


def test_publish_refuses_a_working_database_held_by_a_writer(tmp_path: Path) -> None:
    paths, before = _published_then_rebuilt(tmp_path)
    # another process (a running dbt) holds the working database: nothing is published
    script = (f"import duckdb,time; c=duckdb.connect({str(paths.working)!r}); "
              "print('open', flush=True); time.sleep(30)")
    import subprocess
    import sys

    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        with pytest.raises(pub.PublishError, match="cannot open"):
            pub.publish(paths, "20260102T000000.000000Z-bbbbbb")
    finally:
        holder.kill()
        holder.wait()
    assert (_sha(paths.published), _hash_tree(paths.exports)) == before


def test_status_is_read_only_for_its_own_database(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    pub.write_status(paths, {"run_id": "r1", "published": True})
    assert pub.read_status(paths.published)["run_id"] == "r1"  # type: ignore[index]
    assert pub.read_status(paths.publish_dir / "other.duckdb") is None


@dataclass
class _Report:
    success: bool
    failures: list
    warnings: list
    seconds: float = 0.01
    docs_index: Path | None = None

    def messages(self) -> list[str]:
        return [f.expectation for f in self.failures + self.warnings]


def _fake_gate(monkeypatch: pytest.MonkeyPatch, report: _Report, seen: list) -> None:
    """Stand in for cx_value.quality.validate_database (the gate itself is tested with
    the real suites in the integration tests below)."""
    import sys
    import types

    def validate_database(database: Path, *, docs_dir: Path | None,
                          dbt_vars: dict | None = None, manifest_path: Path | None = None):
        seen.append((database, docs_dir, dict(dbt_vars or {})))
        return report

    module = types.ModuleType("cx_value.quality")
    module.validate_database = validate_database  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "cx_value.quality", module)


def _published_then_rebuilt(tmp_path: Path) -> tuple[pub.Paths, tuple[str, dict]]:
    """Version 1 published, version 2 in the working database; the published state's
    hashes."""
    paths = _paths(tmp_path)
    _make_warehouse(paths.working, version=1)
    pub.publish(paths, "20260101T000000.000000Z-aaaaaa")
    before = (_sha(paths.published), _hash_tree(paths.exports))
    _make_warehouse(paths.working, version=2)
    return paths, before


def test_cli_publish_leaves_everything_untouched_when_the_gate_fails(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    paths, before = _published_then_rebuilt(tmp_path)
    failing = _Report(False, [Finding("marts", "marts.mart_a", "version",
                                       "expect_column_values_to_be_between", "critical",
                                       "50 values out of range", [2, 2])],
                      [Finding("staging", "staging.stg_x", None, "expect_share", "warning",
                                "6 % rejected", [])])
    seen: list = []
    _fake_gate(monkeypatch, failing, seen)
    env = {"CX_DUCKDB_PATH": str(paths.published), "CX_DUCKDB_WORK_PATH": "",
           "CX_PUBLISH_DIR": "", "COLUMNS": "200"}
    result = CliRunner(env=env).invoke(app, ["publish", "--vars", "{cx_currency: GBP}"])
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "validation failed" in text
    assert "expect_column_values_to_be_between failed on marts.mart_a column version" in text
    assert "examples: 2; 2" in text and "untouched" in text
    assert "warning: expect_share failed on staging.stg_x" in text
    assert (_sha(paths.published), _hash_tree(paths.exports)) == before
    database, docs_dir, dbt_vars = seen[0]
    assert database == paths.working and docs_dir == paths.data_docs
    assert dbt_vars["cx_currency"] == "GBP" and "cx_min_sample_size" in dbt_vars
    status = json.loads(paths.status.read_text())
    assert status["published"] is False and status["validation"]["failures"] == 1
    assert status["published_run_id"] == "20260101T000000.000000Z-aaaaaa"

    # the same working database, once the gate passes, is published
    _fake_gate(monkeypatch, _Report(True, [], []), seen)
    result = CliRunner(env=env).invoke(app, ["publish"])
    assert result.exit_code == 0, result.output
    with duckdb.connect(str(paths.published), read_only=True) as con:
        assert con.execute("select min(version) from marts.mart_a").fetchone() == (2,)
    assert json.loads(paths.status.read_text())["published"] is True


def test_a_gate_that_cannot_run_publishes_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import sys
    import types

    paths, before = _published_then_rebuilt(tmp_path)

    def validate_database(*args: object, **kwargs: object) -> None:
        raise RuntimeError("suite file unreadable")

    module = types.ModuleType("cx_value.quality")
    module.validate_database = validate_database  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "cx_value.quality", module)
    result = CliRunner(env={"CX_DUCKDB_PATH": str(paths.published), "CX_DUCKDB_WORK_PATH": "",
                            "CX_PUBLISH_DIR": ""}).invoke(app, ["publish"])
    assert result.exit_code == 1
    assert "suite file unreadable" in " ".join(result.output.split())
    assert (_sha(paths.published), _hash_tree(paths.exports)) == before
    assert json.loads(paths.status.read_text())["validation"]["success"] is False


# ------------------------------------------------------------------ integration tests


def _quality_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("cx_value.quality") is not None


@dataclass(frozen=True)
class DemoBuild:
    paths: pub.Paths
    scratch: Path
    env: dict[str, str]


@pytest.fixture(scope="module")
def demo_build(
    published_demo: PublishedDemo, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DemoBuild]:
    """What `cx-value build` of the demo data published (the build `make test` runs
    before the integration tests), copied to a folder of its own that these tests change."""
    if not _quality_available():
        pytest.skip("cx_value.quality (the gate) is not installed")
    base = tmp_path_factory.mktemp("publish")
    published = copy_published_demo(published_demo, base / "pub")
    env = {"CX_DUCKDB_PATH": str(published), "CX_DUCKDB_WORK_PATH": "", "CX_PUBLISH_DIR": "",
           "COLUMNS": "250"}
    yield DemoBuild(pub.resolve_paths(published), base / "scratch", env)


@pytest.mark.integration
def test_demo_build_publishes_database_exports_and_docs(demo_build: DemoBuild) -> None:
    paths = demo_build.paths
    manifest = json.loads((paths.current / "_manifest.json").read_text())
    with duckdb.connect(str(paths.published), read_only=True) as con:
        for name, mart in manifest["marts"].items():
            (rows,) = con.execute(f"select count(*) from marts.{name}").fetchone()
            assert mart["rows"] == rows == pq.read_metadata(paths.current / mart["file"]).num_rows
        (as_of,) = con.execute("select cast(as_of_date as varchar) from "
                               "intermediate.int_observation_date").fetchone()
    assert manifest["observation_date"] == as_of
    assert {"mart_stage_scores", "dim_customers", "fct_web_sessions"} <= set(manifest["marts"])
    assert (paths.data_docs / "index.html").is_file()
    assert json.loads(paths.status.read_text())["published"] is True


@pytest.mark.integration
def test_a_corrupted_mart_value_fails_the_gate_and_publishes_nothing(
    demo_build: DemoBuild,
) -> None:
    paths = demo_build.paths
    # the published state, resolved through the current pointer
    current = paths.current.resolve()
    before = (_sha(paths.published), os.readlink(paths.current), _hash_tree(paths.exports))
    with duckdb.connect(str(paths.working)) as con:
        (stage,) = con.execute(
            "select stage from marts.mart_stage_scores where nps is not null limit 1"
        ).fetchone()
        con.execute("update marts.mart_stage_scores set nps = 150 where stage = ? and "
                    "nps is not null", [stage])
    try:
        result = run_cx_value(["publish"], demo_build.env, demo_build.scratch)
        assert result.returncode == 1, result.stdout[-3000:]
        text = " ".join((result.stdout + result.stderr).split())
        assert "validation failed" in text
        assert "mart_stage_scores" in text and "nps" in text
        assert "expect_column_values_to_be_between" in text
        assert "150" in text  # an example of the failing rows
        after = (_sha(paths.published), os.readlink(paths.current), _hash_tree(paths.exports))
        assert after == before and paths.current.resolve() == current
        summary = run_cx_value(["summary"], demo_build.env, demo_build.scratch)
        assert summary.returncode == 1
        assert "FAILED validation" in " ".join(summary.stdout.split())
    finally:
        with duckdb.connect(str(paths.working)) as con:  # the next test needs a clean one
            con.execute("update marts.mart_stage_scores set nps = null where nps = 150")


# Every model that reads cx_clv_monthly_discount_rate, and everything downstream of them:
# what a rebuild with another rate changes.
DISCOUNT_RATE_MODELS = "clv_customer_predictions+ int_customer_values_projected+"

# values from three tables that all change when cx_clv_monthly_discount_rate does: a
# query that mixed two versions of the file would pair them wrongly
READER_SQL = """
    select
        (select invocation_id from meta.dbt_runs order by finished_at desc limit 1),
        (select round(sum(expected_clv_12m), 2) from marts.fct_customer_clv),
        (select round(sum(cev), 2) from marts.fct_customer_engagement_value)
"""

# A BI tool in its own process: `held` keeps one read-only connection open throughout
# (as a dashboard server does), `fresh` opens a new one for every query. Each query runs
# in a transaction; every result or error is written as one JSON line.
READER = """
import duckdb, json, os, sys, time
path, out, stop, mode, sql = sys.argv[1:6]
held = duckdb.connect(path, read_only=True) if mode == "held" else None
with open(out, "w") as log:
    while not os.path.exists(stop):
        try:
            con = held or duckdb.connect(path, read_only=True)
            con.execute("begin transaction")
            row = con.execute(sql).fetchone()
            con.execute("commit")
            if held is None:
                con.close()
            log.write(json.dumps({"row": [str(v) for v in row]}) + "\\n")
        except Exception as exc:
            log.write(json.dumps({"error": repr(exc)}) + "\\n")
        log.flush()
        time.sleep(0.05)
"""


def _results(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.integration
def test_a_reader_sees_old_or_new_never_a_mix_during_rebuild_and_publish(
    demo_build: DemoBuild, tmp_path: Path
) -> None:
    """Read-only readers stay on the published file through a rebuild (another
    CLV discount rate: the models it changes) and publish: no error, every query sees one
    whole version. The reader that holds its connection keeps the old file (its inode)
    until it reconnects; a connection opened after the swap sees the new version."""
    import subprocess
    import sys

    paths = demo_build.paths
    with duckdb.connect(str(paths.published), read_only=True) as con:
        old = [str(v) for v in con.execute(READER_SQL).fetchone()]  # type: ignore[union-attr]
    stop = tmp_path / "stop"
    logs = {mode: tmp_path / f"{mode}.jsonl" for mode in ("held", "fresh")}
    readers = [
        subprocess.Popen([sys.executable, "-c", READER, str(paths.published), str(log),
                          str(stop), mode, READER_SQL])
        for mode, log in logs.items()
    ]
    try:
        deadline = time.monotonic() + 60
        while not all(log.exists() and _results(log) for log in logs.values()):
            assert time.monotonic() < deadline, "the readers did not start"
            time.sleep(0.1)
        # the models the discount rate changes and what reads them (the working database
        # starts from the published one, so the rest is there as published)
        rebuilt = run_cx_value(["build", "--vars", "{cx_clv_monthly_discount_rate: 0.05}",
                                "--select", DISCOUNT_RATE_MODELS],
                               demo_build.env, demo_build.scratch)
        time.sleep(1.0)  # queries after the swap as well
    finally:
        stop.touch()
        for reader in readers:
            reader.wait(timeout=60)
    assert rebuilt.returncode == 0, rebuilt.stdout[-5000:] + rebuilt.stderr[-2000:]
    with duckdb.connect(str(paths.published), read_only=True) as con:
        new = [str(v) for v in con.execute(READER_SQL).fetchone()]  # type: ignore[union-attr]
    # every part of the probe changed, so a mixed result cannot equal either version
    assert all(a != b for a, b in zip(old, new, strict=True)), (old, new)

    held, fresh = (_results(logs[mode]) for mode in ("held", "fresh"))
    assert [r for r in held + fresh if "error" in r] == []
    assert len(held) > 20 and len(fresh) > 20
    assert all(r["row"] == old for r in held)  # the old inode, consistently
    versions = ["old" if r["row"] == old else "new" if r["row"] == new else "mix"
                for r in fresh]
    assert "mix" not in versions
    # old until the swap, new from then on
    assert versions == sorted(versions, key=lambda v: v == "new") and versions[-1] == "new"
    assert versions[0] == "old"


@pytest.mark.integration
def test_a_fresh_build_of_the_same_data_gives_byte_identical_exports(
    published_demo: PublishedDemo, tmp_path: Path
) -> None:
    """The demo data built again from nothing, in another folder and process: every
    exported mart has the same bytes as the shared demo build's. Row order and the float
    sums that parallel aggregation adds in varying order (cx_sum_exact) cannot differ."""
    database = tmp_path / "again" / "cx_value.duckdb"
    run = run_cx_value(["build"], {"CX_DUCKDB_PATH": str(database)}, tmp_path / "scratch")
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-2000:]
    first = pub.resolve_paths(published_demo.published).current
    again = pub.resolve_paths(database).current
    names = sorted(p.name for p in first.glob("*.parquet"))
    assert len(names) == 24 and names == sorted(p.name for p in again.glob("*.parquet"))
    differing = [name for name in names
                 if hashlib.sha256((first / name).read_bytes()).digest()
                 != hashlib.sha256((again / name).read_bytes()).digest()]
    assert differing == []
