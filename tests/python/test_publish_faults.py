"""Publishing under faults: a process killed at any point, a full disk, readers during
rebuilds.

The unit tests publish small DuckDB files made here, in a subprocess that is killed
(SIGKILL, so no ``finally`` runs) at a chosen point inside :func:`cx_value.publish.publish`;
the fault is injected by the test script, the package has no hooks for it. The integration
tests do the same to `cx-value build` of the demo data in each phase (staging, marts, the
gate, publishing) and run readers against the published files while it is rebuilt.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from conftest import PublishedDemo, copy_published_demo, run_cx_value
from typer.testing import CliRunner

from cx_value import publish as pub
from cx_value.cli import app

ROOT = Path(__file__).resolve().parents[2]


def _make_warehouse(path: Path, version: int, rows: int = 50, width: int = 1) -> None:
    """Two marts whose values all equal ``version``; ``width`` pads each row with that
    many 100-character random strings (to make a file of a chosen size)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    padding = "".join(f", md5(random()::varchar) || repeat('x', 68) || md5(random()::varchar)"
                      f" as pad_{i}" for i in range(width - 1))
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists marts")
        con.execute(f"create or replace table marts.mart_a as select range as id, "
                    f"{version} as version{padding} from range({rows})")
        con.execute(f"create or replace table marts.dim_b as select range as id, "
                    f"{version} as version from range({rows * 2})")


def _paths(folder: Path) -> pub.Paths:
    published = folder / "cx.duckdb"
    return pub.Paths(published=published, working=folder / "work" / "cx.duckdb",
                     publish_dir=folder)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _temps(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                  if p.name.endswith(".tmp"))


def _runs(paths: pub.Paths) -> list[str]:
    return sorted(p.name for p in paths.exports.iterdir()
                  if not p.is_symlink() and not p.name.startswith("."))


def _counts(database: Path) -> dict[str, int]:
    with duckdb.connect(str(database), read_only=True) as con:
        return {name: con.execute(f"select count(*) from marts.{name}").fetchone()[0]
                for name in ("dim_b", "mart_a")}


def _assert_consistent(paths: pub.Paths, run_id: str) -> None:
    """The published database is ``run_id``, ``exports/current`` points at that run and
    its manifest and Parquet files hold what the database holds."""
    assert pub.published_run(paths.published) == run_id
    assert os.readlink(paths.current) == run_id
    manifest = json.loads((paths.current / "_manifest.json").read_text())
    assert manifest["run_id"] == run_id
    counts = _counts(paths.published)
    assert {name: m["rows"] for name, m in manifest["marts"].items()} == counts
    assert {name: pq.read_metadata(paths.current / f"{name}.parquet").num_rows
            for name in counts} == counts


@pytest.fixture(autouse=True)
def _no_manifest(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Unit tests use the naming fallback: point the manifest at a folder without one."""
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "no-target"))


# ------------------------------------------------------------- killed while publishing

# Patches that SIGKILL this process (no cleanup runs) at one point of publish(); each
# wraps the function named, as the last thing before or after it. Needs `paths`.
KILL_PATCHES = """
import os, signal
from pathlib import Path
from cx_value import publish as pub

def die():
    os.kill(os.getpid(), signal.SIGKILL)

def after(name, when=lambda *a, **k: True):
    real = getattr(pub, name)
    def wrapped(*args, **kwargs):
        result = real(*args, **kwargs)
        if when(*args, **kwargs):
            die()
        return result
    setattr(pub, name, wrapped)

def before(name, when=lambda *a, **k: True):
    real = getattr(pub, name)
    def wrapped(*args, **kwargs):
        if when(*args, **kwargs):
            die()
        return real(*args, **kwargs)
    setattr(pub, name, wrapped)

copy_temp = lambda path, *a: Path(path).name.startswith(f".{paths.published.name}.")
if point == "run-recorded":
    after("_mark_run")
elif point == "exports-written":
    after("export_marts")
elif point == "exports-renamed":
    before("_atomic_copy", lambda source, target, tag: target == paths.published)
elif point == "database-copied":
    after("_fsync_file", copy_temp)
elif point == "database-renamed":
    before("_fsync_dir", lambda folder: Path(folder) == paths.published.parent)
elif point == "before-swap":
    before("_swap_current")
elif point == "after-swap":
    before("_save_state")
"""

# publish() of a small warehouse in a process of its own, killed at `point`
KILLER = """
import sys
from pathlib import Path
from cx_value import publish as pub

point, folder, run_id = sys.argv[1:4]
paths = pub.Paths(published=Path(folder) / "cx.duckdb",
                  working=Path(folder) / "work" / "cx.duckdb", publish_dir=Path(folder))
""" + KILL_PATCHES + """
pub.publish(paths, run_id)
print("not killed")
"""

# where the kill leaves the published database: the previous run or the new one
KILL_POINTS = {
    "run-recorded": "previous",
    "exports-written": "previous",
    "exports-renamed": "previous",
    "database-copied": "previous",
    "database-renamed": "new",
    "before-swap": "new",
    "after-swap": "new",
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_a_publish_killed_at_any_point_leaves_a_consistent_version(
    tmp_path: Path, point: str
) -> None:
    paths = _paths(tmp_path / "pub")
    _make_warehouse(paths.working, version=1, rows=40)
    old = pub.publish(paths, "20260101T000000.000000Z-aaaaaa").run_id
    before = (_sha(paths.published), os.readlink(paths.current))
    _make_warehouse(paths.working, version=2, rows=70)
    new = "20260102T000000.000000Z-bbbbbb"
    killed = subprocess.run([sys.executable, "-c", KILLER, point, str(paths.publish_dir), new],
                            cwd=ROOT, capture_output=True, text=True, check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr

    if KILL_POINTS[point] == "previous":
        # untouched: the same bytes, the same pointer
        assert (_sha(paths.published), os.readlink(paths.current)) == before
        lines = pub.recover(paths)
        _assert_consistent(paths, old)
        assert _counts(paths.published) == {"dim_b": 80, "mart_a": 40}
        assert _runs(paths) == [old]  # an export that was never published is gone
    else:
        with duckdb.connect(str(paths.published), read_only=True) as con:
            assert con.execute("select min(version) from marts.mart_a").fetchone() == (2,)
        swapped = point != "after-swap"
        assert os.readlink(paths.current) == (old if swapped else new)
        lines = pub.recover(paths)
        _assert_consistent(paths, new)
        assert _counts(paths.published) == {"dim_b": 140, "mart_a": 70}
        rolled = [line for line in lines if line.startswith("recovered an interrupted")]
        assert len(rolled) == (1 if swapped else 0), lines
        if swapped:
            assert f"-> {new} (was {old})" in rolled[0]
    assert _temps(paths.publish_dir) == []
    assert pub.recover(paths) == []  # nothing left to do

    # the next publish goes through
    _make_warehouse(paths.working, version=3, rows=5)
    third = pub.publish(paths, "20260103T000000.000000Z-cccccc")
    assert third.recovered == ()
    _assert_consistent(paths, third.run_id)
    assert _counts(paths.published) == {"dim_b": 10, "mart_a": 5}


def test_recovery_leaves_an_incomplete_run_folder_alone(tmp_path: Path) -> None:
    """A database whose run has no complete export (a run folder without manifest, made
    by hand here) is reported; ``current`` is not pointed at half a run."""
    paths = _paths(tmp_path / "pub")
    _make_warehouse(paths.working, version=1)
    old = pub.publish(paths, "20260101T000000.000000Z-aaaaaa").run_id
    new = "20260102T000000.000000Z-bbbbbb"
    pub._mark_run(paths.working, new, "2026-01-02T00:00:00+00:00")
    shutil.copyfile(paths.working, paths.published)
    (paths.exports / new).mkdir()
    (paths.exports / new / "mart_a.parquet").write_bytes(b"half")
    lines = pub.recover(paths)
    assert os.readlink(paths.current) == old
    assert len(lines) == 1 and "is not a complete export" in lines[0] and new in lines[0]


def test_a_killed_writer_leaves_a_wal_that_the_next_publish_replays(tmp_path: Path) -> None:
    """A dbt killed after committing some models leaves the working database with a
    write-ahead log; DuckDB replays it when the file is opened next, so publishing
    (which checkpoints first) sees every committed change."""
    paths = _paths(tmp_path / "pub")
    _make_warehouse(paths.working, version=1)
    pub.publish(paths, "20260101T000000.000000Z-aaaaaa")
    script = (f"import duckdb, os, signal; c = duckdb.connect({str(paths.working)!r}); "
              "c.execute('pragma disable_checkpoint_on_shutdown'); "
              "c.execute('create or replace table marts.mart_a as "
              "select range as id, 7 as version from range(11)'); "
              "os.kill(os.getpid(), signal.SIGKILL)")
    killed = subprocess.run([sys.executable, "-c", script], check=False)
    assert killed.returncode == -signal.SIGKILL
    assert Path(f"{paths.working}.wal").exists()  # the state a killed dbt leaves
    done = pub.publish(paths, "20260102T000000.000000Z-bbbbbb")
    _assert_consistent(paths, done.run_id)
    assert _counts(paths.published)["mart_a"] == 11
    assert not Path(f"{paths.working}.wal").exists()


def test_cli_publish_refuses_a_working_database_a_killed_build_left(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`cx-value build` marks the working database while dbt runs; killed, the mark stays
    and `cx-value publish` will not publish a half-rebuilt database."""
    paths = _paths(tmp_path / "pub")
    _make_warehouse(paths.working, version=1)
    before = _sha(paths.working)
    marker = paths.working.with_name(f".{paths.working.name}.dbt-running")
    marker.write_text("20260102T000000.000000Z-bbbbbb\n")
    result = CliRunner(env={"CX_DUCKDB_PATH": str(paths.published), "CX_DUCKDB_WORK_PATH": "",
                            "CX_PUBLISH_DIR": "", "COLUMNS": "250"}).invoke(app, ["publish"])
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "did not finish" in text and "20260102T000000.000000Z-bbbbbb" in text
    assert not paths.published.exists() and _sha(paths.working) == before


# -------------------------------------------------------------------------- full disk


@contextlib.contextmanager
def _small_filesystem(folder: Path, mib: int) -> Iterator[bool]:
    """``folder`` as a tmpfs of ``mib`` MiB when this process may mount one (root in a
    container that allows it); False (an ordinary folder) otherwise."""
    folder.mkdir(parents=True)
    mount = shutil.which("mount")
    mounted = mount is not None and subprocess.run(
        [mount, "-t", "tmpfs", "-o", f"size={mib}m", "tmpfs", str(folder)],
        capture_output=True, check=False).returncode == 0
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", str(folder)], check=True)


NEEDS = re.compile(r"not enough free space in (\S+): publishing needs about ([\d,]+) bytes, "
                   r"([\d,]+) are free; nothing was published")


def _published_state(paths: pub.Paths) -> tuple[str, str, list[str]]:
    return _sha(paths.published), os.readlink(paths.current), _runs(paths)


def _check_refused_for_space(paths: pub.Paths, before: tuple, free: int) -> None:
    with pytest.raises(pub.PublishError) as raised:
        pub.publish(paths, "20260102T000000.000000Z-bbbbbb")
    found = NEEDS.fullmatch(str(raised.value))
    assert found, str(raised.value)
    folder, needed, reported = found.groups()
    assert folder == str(paths.publish_dir)
    # at least a copy of the working database, and more than there is
    assert int(needed.replace(",", "")) > paths.working.stat().st_size
    assert int(reported.replace(",", "")) == free < int(needed.replace(",", ""))
    assert _published_state(paths) == before and _temps(paths.publish_dir) == []


def test_too_little_free_space_fails_before_anything_is_written(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    paths = _paths(tmp_path / "pub")
    _make_warehouse(paths.working, version=1)
    pub.publish(paths, "20260101T000000.000000Z-aaaaaa")
    before = _published_state(paths)
    _make_warehouse(paths.working, version=2)
    pub.checkpoint(paths.working)
    # one filesystem: a copy of the working database and exports like the last ones
    last_exports = sum(p.stat().st_size for p in (paths.exports / before[1]).iterdir())
    assert last_exports > 0
    assert pub.space_needed(paths) == {
        paths.publish_dir: paths.working.stat().st_size + last_exports}
    usage = shutil.disk_usage(paths.publish_dir)
    # room for the copy and the exports, but not for the margin
    free = paths.working.stat().st_size + last_exports + 2**20
    monkeypatch.setattr(pub.shutil, "disk_usage",
                        lambda folder: usage._replace(free=free))
    _check_refused_for_space(paths, before, free)


def _fill_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """The database copy runs into a full disk after writing part of the file."""
    real = shutil.copyfile

    def copyfile(source: Path, target: Path) -> None:
        Path(target).write_bytes(b"part of a copy")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))

    monkeypatch.setattr(pub.shutil, "copyfile", copyfile)
    assert real is not copyfile


def _check_failed_on_full_disk(paths: pub.Paths, before: tuple) -> None:
    with pytest.raises(pub.PublishError) as raised:
        pub.publish(paths, "20260102T000000.000000Z-bbbbbb")
    message = str(raised.value)
    assert message.startswith(f"publishing into {paths.publish_dir} failed: ")
    assert "No space left on device" in message
    assert message.endswith(f"Nothing was published: {paths.published} and {paths.current} "
                            "are as they were (temporary files removed)")
    assert _published_state(paths) == before and _temps(paths.publish_dir) == []
    assert pub.published_run(paths.published) == "20260101T000000.000000Z-aaaaaa"


def test_a_disk_that_fills_up_while_copying_leaves_the_published_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    paths = _paths(tmp_path / "pub")
    _make_warehouse(paths.working, version=1)
    pub.publish(paths, "20260101T000000.000000Z-aaaaaa")
    before = _published_state(paths)
    _make_warehouse(paths.working, version=2)
    _fill_up(monkeypatch)
    _check_failed_on_full_disk(paths, before)


def test_a_real_full_filesystem(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The same two failures on a real 32 MiB filesystem when one can be mounted here
    (else on the ordinary one, with disk_usage and copyfile standing in for it): the
    check refuses a working database too big for what is free, and a write that runs out
    of space half-way fails with the same plain message and removes what it wrote. The
    working database lives elsewhere (CX_DUCKDB_WORK_PATH), so only the publish is short
    of space."""
    with _small_filesystem(tmp_path / "small", 32) as real:
        paths = dataclasses.replace(_paths(tmp_path / "small" / "pub"),
                                    working=tmp_path / "work" / "cx.duckdb")
        _make_warehouse(paths.working, version=1, rows=2000, width=4)  # ~1 MB
        pub.publish(paths, "20260101T000000.000000Z-aaaaaa")
        before = _published_state(paths)
        # ~19 MB (~12 MB of Parquet): a copy of it plus the slack is more than the
        # ~30 MiB left
        _make_warehouse(paths.working, version=2, rows=100_000, width=4)
        if real:
            free = shutil.disk_usage(paths.publish_dir).free
            assert free < 31 * 2**20
        else:
            usage = shutil.disk_usage(paths.publish_dir)
            free = 20 * 2**20
            monkeypatch.setattr(pub.shutil, "disk_usage", lambda f: usage._replace(free=free))
        _check_refused_for_space(paths, before, free)

        # without the check, the copy itself runs out of space
        monkeypatch.setattr(pub, "check_free_space", lambda paths: None)
        if real:
            ballast = paths.publish_dir / "ballast"
            with ballast.open("wb") as handle:
                handle.write(b"\0" * (shutil.disk_usage(paths.publish_dir).free
                                      - paths.working.stat().st_size // 2))
        else:
            _fill_up(monkeypatch)
        _check_failed_on_full_disk(paths, before)
        if real:
            ballast.unlink()
        monkeypatch.undo()
        monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "no-target"))
        # a smaller build fits: the next publish goes through
        paths.working.unlink()
        _make_warehouse(paths.working, version=3, rows=3000, width=4)
        done = pub.publish(paths, "20260103T000000.000000Z-cccccc")
        _assert_consistent(paths, done.run_id)


def test_a_publish_that_fails_and_cannot_record_it_still_fails(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A full disk that also stops last_run.json from being written: the command still
    says publishing failed and exits 1, and no status describing an earlier run is left."""
    import types

    paths = _paths(tmp_path / "pub")
    _make_warehouse(paths.working, version=1)
    pub.publish(paths, "20260101T000000.000000Z-aaaaaa")
    pub.write_status(paths, {"run_id": "earlier", "published": True})
    before = _published_state(paths)
    _make_warehouse(paths.working, version=2)

    module = types.ModuleType("cx_value.quality")

    class Report:
        success, failures, warnings, seconds, docs_index = True, [], [], 0.01, None

    module.validate_database = lambda *a, **k: Report()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "cx_value.quality", module)
    _fill_up(monkeypatch)

    def write_status(*args: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(paths.status))

    monkeypatch.setattr(pub, "write_status", write_status)
    result = CliRunner(env={"CX_DUCKDB_PATH": str(paths.published), "CX_DUCKDB_WORK_PATH": "",
                            "CX_PUBLISH_DIR": "", "COLUMNS": "250"}).invoke(app, ["publish"])
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert "publishing failed: publishing into" in text and "No space left" in text
    assert "could not record this run" in text
    assert "validated and published" not in text
    assert not paths.status.exists()
    assert _published_state(paths) == before


# ------------------------------------------------------------------ integration tests

# `cx-value` in a process of its own, with the KILL_PATCHES point (or "none") applied
CLI_KILLER = """
import sys
from cx_value import publish as pub

point = sys.argv[1]
paths = pub.resolve_paths()
""" + KILL_PATCHES + """
sys.argv = ["cx-value", *sys.argv[2:]]
from cx_value.cli import main
main()
"""


@dataclasses.dataclass(frozen=True)
class DemoCopy:
    paths: pub.Paths
    scratch: Path
    env: dict[str, str]


@pytest.fixture
def demo_copy(published_demo: PublishedDemo, tmp_path: Path) -> DemoCopy:
    """What the shared demo build published, copied to a folder these tests change."""
    published = copy_published_demo(published_demo, tmp_path / "pub")
    env = {"CX_DUCKDB_PATH": str(published), "CX_DUCKDB_WORK_PATH": "", "CX_PUBLISH_DIR": "",
           "COLUMNS": "250"}
    return DemoCopy(pub.resolve_paths(published), tmp_path / "scratch", env)


def _run_killed(demo: DemoCopy, args: list[str], *, on_line: str | None = None,
                point: str = "none", delay: float = 0.0) -> str:
    """Run `cx-value args` and SIGKILL it: from here on the first output line matching
    ``on_line`` (after ``delay`` seconds), or from inside at ``point``. Returns its output."""
    import time

    env = {**os.environ, "CX_DUCKDB_WORK_PATH": "",
           "DBT_TARGET_PATH": str(demo.scratch / "target"),
           "DBT_LOG_PATH": str(demo.scratch / "logs"), "DBT_INDIRECT_SELECTION": "cautious",
           "PYTHONUNBUFFERED": "1", **demo.env}
    # a script file, not `python -c`: pyspark (imported by the gate) takes a main module
    # without a file for a doctest run and exits
    script = demo.scratch / "cx_value_killed.py"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(CLI_KILLER)
    process = subprocess.Popen([sys.executable, str(script), point, *args], cwd=ROOT,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if on_line and re.search(on_line, line):
            time.sleep(delay)
            process.kill()
            break
    process.stdout.close()
    process.wait(timeout=600)
    output = "".join(lines)
    assert process.returncode == -signal.SIGKILL, output[-5000:]
    return output


def _assert_consistent_demo(paths: pub.Paths, run_id: str) -> None:
    """The published database is ``run_id``; ``exports/current`` is that run, complete,
    and every public mart has the rows its manifest and Parquet file say."""
    assert pub.published_run(paths.published) == run_id
    assert os.readlink(paths.current) == run_id
    manifest = json.loads((paths.current / "_manifest.json").read_text())
    assert manifest["run_id"] == run_id and len(manifest["marts"]) == 24
    with duckdb.connect(str(paths.published), read_only=True) as con:
        for name, mart in manifest["marts"].items():
            (rows,) = con.execute(f"select count(*) from marts.{name}").fetchone()
            assert mart["rows"] == rows == pq.read_metadata(paths.current / mart["file"]).num_rows


@pytest.mark.integration
def test_a_build_killed_in_any_phase_leaves_a_consistent_published_version(
    demo_copy: DemoCopy,
) -> None:
    """`cx-value build` SIGKILLed in staging, in the marts, in the gate and at three
    points of publishing: each time the published database opens and is the previous
    version (the same bytes) or, killed after its rename, the new one, whose exports
    `cx-value summary` makes current; then a plain build publishes."""
    paths = demo_copy.paths
    first = pub.published_run(paths.published)
    assert first is not None and os.readlink(paths.current) == first
    faults = 0

    def after_kill(previous: str, published_new: bool) -> str:
        nonlocal faults
        faults += 1
        summary = run_cx_value(["summary"], demo_copy.env, demo_copy.scratch)
        assert summary.returncode == 0, summary.stdout[-3000:] + summary.stderr[-3000:]
        run = pub.published_run(paths.published)
        assert (run != previous) if published_new else (run == previous)
        assert run is not None
        _assert_consistent_demo(paths, run)
        assert _temps(paths.publish_dir) == []
        # no run folder that was never published stays behind
        assert max(_runs(paths)) == run
        text = " ".join(summary.stdout.split())
        assert ("recovered an interrupted publish" in text) == published_new, text[:3000]
        return run

    # dbt phases: killed on the first model of the layer
    for pattern in (r"START .* model staging\.", r"START .* model marts\."):
        sha = _sha(paths.published)
        _run_killed(demo_copy, ["build"], on_line=pattern)
        assert _sha(paths.published) == sha
        after_kill(first, published_new=False)
    # the gate, a few seconds in (one mart rebuilt, the gate reads the whole database)
    sha = _sha(paths.published)
    _run_killed(demo_copy, ["build", "--select", "mart_stage_scores"],
                on_line="validating the working database", delay=4.0)
    assert _sha(paths.published) == sha
    after_kill(first, published_new=False)

    # publishing: the exports renamed into place, the database not yet
    sha = _sha(paths.published)
    output = _run_killed(demo_copy, ["build", "--select", "mart_stage_scores"],
                         point="exports-renamed")
    assert "publishing run" in output and _sha(paths.published) == sha
    after_kill(first, published_new=False)
    # the database renamed, `current` not yet swapped (before its folder's fsync, and
    # just before the swap)
    previous = first
    for point in ("database-renamed", "before-swap"):
        _run_killed(demo_copy, ["build", "--select", "mart_stage_scores"], point=point)
        assert os.readlink(paths.current) == previous  # not yet recovered
        previous = after_kill(previous, published_new=True)

    assert faults == 6
    # one normal build after all that
    built = run_cx_value(["build"], demo_copy.env, demo_copy.scratch)
    assert built.returncode == 0, built.stdout[-5000:] + built.stderr[-3000:]
    run = pub.published_run(paths.published)
    assert run is not None and run > previous
    _assert_consistent_demo(paths, run)
    assert not Path(f"{paths.working}.wal").exists()


# A BI tool in its own process: opens the published database read-only for every read,
# reads its run and every public mart in one transaction, then the Parquet exports that
# `current` points at; one JSON line per read (or error).
READER = """
import duckdb, json, os, sys, time
path, exports, out, stop, marts = sys.argv[1:6]
marts = json.loads(marts)
PROBE = "select cast(round(sum(expected_clv_12m), 2) as varchar) from {}"
with open(out, "w") as log:
    while not os.path.exists(stop):
        try:
            con = duckdb.connect(path, read_only=True)
            try:
                con.execute("begin transaction")
                (run,) = con.execute("select run_id from _cx_publish.published_run").fetchone()
                counts = {m: con.execute(f'select count(*) from marts."{m}"').fetchone()[0]
                          for m in marts}
                (probe,) = con.execute(PROBE.format("marts.fct_customer_clv")).fetchone()
                con.execute("commit")
            finally:
                con.close()
            folder = os.path.realpath(os.path.join(exports, "current"))
            with open(os.path.join(folder, "_manifest.json")) as handle:
                manifest = json.load(handle)
            files = duckdb.connect()
            try:
                file_rows = {
                    m: files.execute("select count(*) from read_parquet(?)",
                                     [os.path.join(folder, v["file"])]).fetchone()[0]
                    for m, v in manifest["marts"].items()}
                (export_probe,) = files.execute(PROBE.format("read_parquet(?)"), [
                    os.path.join(folder, "fct_customer_clv.parquet")]).fetchone()
            finally:
                files.close()
            record = {"run": run, "counts": counts, "probe": probe,
                      "export_folder": os.path.basename(folder),
                      "export_run": manifest["run_id"],
                      "manifest_rows": {m: v["rows"] for m, v in manifest["marts"].items()},
                      "file_rows": file_rows, "export_probe": export_probe}
        except Exception as exc:
            record = {"error": repr(exc)}
        log.write(json.dumps(record) + "\\n")
        log.flush()
        time.sleep(0.25)  # a BI tool's pace, not a busy loop: the builds share the CPUs
"""

# what a rebuild with another CLV discount rate changes (test_publish.py does one)
DISCOUNT_RATE_MODELS = "clv_customer_predictions+ int_customer_values_projected+"


@pytest.mark.integration
def test_readers_see_one_complete_version_through_three_rebuilds(
    demo_copy: DemoCopy, tmp_path: Path
) -> None:
    """Three reader processes read the published database and the current exports in a
    loop while three builds (each with another CLV discount rate, so every version has
    its own values) rebuild and publish: no reader error, and every read saw one
    published version whole: its row counts are those of its run's manifest, and one
    run always gave the same CLV total."""
    paths = demo_copy.paths
    manifests = {os.readlink(paths.current):
                 json.loads((paths.current / "_manifest.json").read_text())}
    marts = sorted(next(iter(manifests.values()))["marts"])
    stop = tmp_path / "stop"
    logs = [tmp_path / f"reader{i}.jsonl" for i in range(3)]
    readers = [subprocess.Popen([sys.executable, "-c", READER, str(paths.published),
                                 str(paths.exports), str(log), str(stop), json.dumps(marts)])
               for log in logs]
    try:
        for rate in ("0.02", "0.05", "0.08"):
            built = run_cx_value(
                ["build", "--vars", f"{{cx_clv_monthly_discount_rate: {rate}}}",
                 "--select", DISCOUNT_RATE_MODELS], demo_copy.env, demo_copy.scratch)
            assert built.returncode == 0, built.stdout[-5000:] + built.stderr[-2000:]
            run = os.readlink(paths.current)
            manifests[run] = json.loads((paths.current / "_manifest.json").read_text())
        # the readers stop once one of them has read the last version (a reader pauses
        # between reads, so stopping right after the last publish could miss it)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(
                run in log.read_text() for log in logs if log.exists()):
            time.sleep(0.25)
    finally:
        stop.touch()
        for reader in readers:
            reader.wait(timeout=120)
    assert len(manifests) == 4  # the copied version and three rebuilds

    reads = [json.loads(line) for log in logs for line in log.read_text().splitlines()]
    assert [r for r in reads if "error" in r] == []
    probes: dict[str, set[str]] = {}
    export_probes: dict[str, set[str]] = {}
    for read in reads:
        published = {name: m["rows"] for name, m in manifests[read["run"]]["marts"].items()}
        assert read["counts"] == published
        assert read["export_run"] == read["export_folder"] in manifests
        assert read["manifest_rows"] == read["file_rows"]
        probes.setdefault(read["run"], set()).add(read["probe"])
        export_probes.setdefault(read["export_run"], set()).add(read["export_probe"])
    assert all(len(seen) == 1 for seen in [*probes.values(), *export_probes.values()])
    # the versions differ from each other, so a mix would have shown
    assert len({next(iter(seen)) for seen in probes.values()}) == len(probes)
    assert len(probes) >= 3 and list(manifests)[-1] in probes
    print(f"{len(logs)} readers x 3 rebuilds: {len(reads)} reads of {len(probes)} versions")
