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
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
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

# Runs publish() in a process of its own and kills it (SIGKILL: no cleanup runs) at
# one point; each point wraps the function named, as the last thing before or after it.
KILLER = """
import os, signal, sys
from pathlib import Path
from cx_value import publish as pub

point, folder, run_id = sys.argv[1:4]
paths = pub.Paths(published=Path(folder) / "cx.duckdb",
                  working=Path(folder) / "work" / "cx.duckdb", publish_dir=Path(folder))

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

copy_temp = lambda path, *a: Path(path).name.startswith(".cx.duckdb.")
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
