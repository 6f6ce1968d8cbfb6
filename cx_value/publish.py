"""Publishing: from the working database dbt builds to the files BI tools read.

dbt only ever writes the *working* database. Once it has passed the data-quality gate,
:func:`publish` makes it visible in two forms:

- the *published* database (``CX_DUCKDB_PATH``): a copy of the checkpointed working
  file, written beside the published path, flushed to disk and renamed over it. A rename
  within one folder is atomic, so a reader opening the path gets the old file or the new
  one, never a mix; a reader that already has the old file open keeps reading it (its
  inode lives until it closes), which is what a BI tool holding a connection needs.
- Parquet exports of every public mart in ``<publish dir>/exports/<run_id>/`` with a
  ``_manifest.json``, and ``exports/current``, a symlink swapped by rename onto the new
  run folder. The last :data:`KEEP_RUNS` run folders are kept.

A failed gate never calls :func:`publish`, so the published files stay as they were.

The published database says which run it is (``_cx_publish.published_run``, written into
the working database just before it is copied). A publish killed between the database
rename and the ``current`` swap leaves a database one run ahead of the exports;
:func:`recover`, run at the start of every build, publish and summary, then finishes the
swap (the run folder was complete before the database was renamed), and removes what
any interrupted publish left behind.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import secrets
import shutil
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from cx_value.profiles import duckdb_settings
from cx_value.sql_text import identifier, literal

DEFAULT_PUBLISHED = Path(".data/cx_value.duckdb")
KEEP_RUNS = 3
MART_SCHEMA = "marts"
MART_PREFIXES = ("fct_", "dim_", "mart_")
MANIFEST_NAME = "_manifest.json"
STATUS_NAME = "last_run.json"
PUBLISH_SCHEMA = "_cx_publish"
RUN_TABLE = f"{PUBLISH_SCHEMA}.published_run"
# free space publishing needs beyond its estimate: DuckDB's file grows a little when the
# run table is written, and an export estimate taken from the last run is not exact
SPACE_MARGIN = 1.10
SPACE_SLACK = 16 * 2**20
# what a full (or failing) disk looks like to a write
DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG})
# temporary JSON files (the status) are written outside the publish lock: only those this
# old are certainly abandoned
STALE_SECONDS = 600


class PublishError(RuntimeError):
    """The working database cannot be published (missing, locked, or left mid-write)."""


class PublishBusyError(PublishError):
    """Another publish into the same folder holds the lock."""


@dataclass(frozen=True)
class Paths:
    """Where the working database, the published database and the published folder are."""

    published: Path
    working: Path
    publish_dir: Path

    @property
    def exports(self) -> Path:
        return self.publish_dir / "exports"

    @property
    def current(self) -> Path:
        return self.exports / "current"

    @property
    def data_docs(self) -> Path:
        return self.publish_dir / "data_docs"

    @property
    def status(self) -> Path:
        return self.publish_dir / STATUS_NAME

    @property
    def state(self) -> Path:
        """The dbt manifest of the published build: the `--state` of a slim build."""
        return self.publish_dir / "state"


def working_path(published: Path, *, from_env: bool = True) -> Path:
    """The working database for ``published``: CX_DUCKDB_WORK_PATH (unless ``from_env``
    is false), else ``<published folder>/work/<published file name>``."""
    configured = os.environ.get("CX_DUCKDB_WORK_PATH") if from_env else None
    return Path(configured) if configured else published.parent / "work" / published.name


def resolve_paths(published: Path | None = None) -> Paths:
    """The three locations, from the environment (CX_DUCKDB_PATH, CX_DUCKDB_WORK_PATH,
    CX_PUBLISH_DIR) unless ``published`` is given."""
    if published is None:
        published = Path(os.environ.get("CX_DUCKDB_PATH") or DEFAULT_PUBLISHED)
    configured_dir = os.environ.get("CX_PUBLISH_DIR")
    publish_dir = Path(configured_dir) if configured_dir else published.parent
    return Paths(published=published, working=working_path(published), publish_dir=publish_dir)


def new_run_id(now: datetime | None = None) -> str:
    """A run id that sorts by time: UTC timestamp to the microsecond plus a random suffix
    (two runs in the same microsecond still get distinct folders)."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{moment:%Y%m%dT%H%M%S.%f}Z-{secrets.token_hex(3)}"


def _wal(database: Path) -> Path:
    return database.with_name(database.name + ".wal")


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    # the rename itself is only durable once the folder's entry is on disk
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _atomic_copy(source: Path, target: Path, tag: str) -> None:
    """Copy ``source`` over ``target`` so that ``target`` is always a whole file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{tag}.tmp")
    try:
        shutil.copyfile(source, temp)
        _fsync_file(temp)
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    _fsync_dir(target.parent)


def _write_json(path: Path, payload: Mapping[str, object]) -> None:
    """Write JSON by rename, so a reader never sees half a file."""
    temp = path.with_name(f".{path.name}.{secrets.token_hex(3)}.tmp")
    temp.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    os.replace(temp, path)


def prepare_working(paths: Paths) -> bool:
    """Make sure the working database's folder exists. When there is no working file but
    a published one, start from a copy of the published one: incremental models
    (web sessions) then continue from the state that was published instead of
    rebuilding their whole history. True when it was seeded so."""
    paths.working.parent.mkdir(parents=True, exist_ok=True)
    if paths.working.exists() or not paths.published.exists():
        return False
    if _wal(paths.published).exists():
        raise PublishError(
            f"{_wal(paths.published)} exists: the published database was opened for "
            "writing; it should only ever be read"
        )
    _atomic_copy(paths.published, paths.working, "seed")
    return True


def checkpoint(database: Path) -> None:
    """Fold the write-ahead log into the file and close it, so the file alone is the
    database. Fails when another process has it open (a running dbt, or a reader)."""
    if not database.exists():
        raise PublishError(f"no working database at {database}: build it first")
    try:
        con = duckdb.connect(str(database), config=duckdb_settings())
    except duckdb.Error as exc:
        raise PublishError(f"cannot open {database} to checkpoint it: {exc}") from exc
    try:
        con.execute("checkpoint")
    finally:
        con.close()
    if _wal(database).exists():
        raise PublishError(f"{_wal(database)} is still there after a checkpoint")


def public_mart_names(
    con: duckdb.DuckDBPyConnection, manifest_path: Path | None = None
) -> tuple[list[str], str]:
    """The public marts to export and where the list came from.

    The manifest's ``access: public`` models are the definition. Without a manifest (a
    database published away from its project) the naming scheme stands in: the
    ``fct_``/``dim_``/``mart_`` tables in schema ``marts``.
    """
    from cx_value.manifest import public_marts

    with contextlib.suppress(FileNotFoundError):
        return [m.name for m in public_marts(manifest_path)], "dbt manifest (access: public)"
    rows = con.execute(
        "select table_name from information_schema.tables where table_schema = ?"
        " order by table_name",
        [MART_SCHEMA],
    ).fetchall()
    names = [name for (name,) in rows if name.startswith(MART_PREFIXES)]
    return names, "no manifest: fct_/dim_/mart_ tables in schema marts"


def _observation_date(con: duckdb.DuckDBPyConnection) -> str | None:
    """The warehouse's observation date (intermediate.int_observation_date), if built."""
    try:
        row = con.execute(
            "select cast(as_of_date as varchar) from intermediate.int_observation_date"
        ).fetchone()
    except duckdb.Error:
        return None
    return row[0] if row else None


def export_marts(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    run_id: str,
    published_at: str,
    manifest_path: Path | None = None,
) -> dict[str, object]:
    """Write every public mart present in ``con`` as ``<folder>/<mart>.parquet`` plus
    ``_manifest.json``; return the manifest."""
    names, source = public_mart_names(con, manifest_path)
    present = {
        name for (name,) in con.execute(
            "select table_name from information_schema.tables where table_schema = ?",
            [MART_SCHEMA],
        ).fetchall()
    }
    folder.mkdir(parents=True)
    marts: dict[str, dict[str, object]] = {}
    for name in names:
        if name not in present:
            continue
        relation = f"{identifier(MART_SCHEMA)}.{identifier(name)}"
        target = folder / f"{name}.parquet"
        # every column sorted: the same rows give the same bytes whatever order the build
        # left them in (reruns give byte-identical files)
        con.execute(f"copy (select * from {relation} order by all) to {literal(str(target))} "
                    "(format parquet, compression zstd)")
        (rows,) = con.execute(f"select count(*) from {relation}").fetchone()  # type: ignore[misc]
        marts[name] = {"file": target.name, "rows": rows}
    manifest: dict[str, object] = {
        "run_id": run_id,
        "published_at": published_at,
        "observation_date": _observation_date(con),
        "public_marts_from": source,
        "marts": marts,
        # public marts the working database does not hold (a partial --select build)
        "not_built": sorted(set(names) - present),
    }
    _write_json(folder / MANIFEST_NAME, manifest)
    return manifest


def current_run(exports: Path) -> str | None:
    """The run folder ``exports/current`` points at, or None."""
    current = exports / "current"
    if not current.is_symlink():
        return None
    return Path(os.readlink(current)).name


def _swap_current(exports: Path, run_id: str) -> None:
    # relative target: the exports folder can be moved or mounted elsewhere
    temp = exports / f".current.{run_id}.tmp"
    temp.unlink(missing_ok=True)
    temp.symlink_to(run_id, target_is_directory=True)
    os.replace(temp, exports / "current")
    _fsync_dir(exports)


def prune_runs(exports: Path, keep: int = KEEP_RUNS) -> list[str]:
    """Delete run folders beyond the newest ``keep`` (never the one ``current`` points
    at) and temporary folders left by an interrupted publish; return what was removed."""
    current = current_run(exports)
    runs = sorted(
        p.name for p in exports.iterdir()
        if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")
    )
    doomed = [r for r in runs[:-keep] if r != current] if keep > 0 else []
    # .<run>.tmp folders are only left behind by a publish that died half-way; the lock
    # taken by publish() means no other publish is writing one now
    doomed += [p.name for p in exports.iterdir() if p.name.startswith(".") and
               p.name.endswith(".tmp")]
    for name in doomed:
        path = exports / name
        if path.is_symlink() or path.is_file():
            path.unlink()
        else:
            shutil.rmtree(path)
    return doomed


@contextlib.contextmanager
def _publish_lock(publish_dir: Path) -> Iterator[None]:
    """One publish at a time per folder (two would race on the temp names and pruning)."""
    publish_dir.mkdir(parents=True, exist_ok=True)
    with (publish_dir / ".publish.lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise PublishBusyError(f"another publish into {publish_dir} is running") from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def published_run(database: Path) -> str | None:
    """The run the database at ``database`` was published as; None when there is no file
    or it was published before runs were recorded in it."""
    if not database.exists():
        return None
    try:
        con = duckdb.connect(str(database), read_only=True, config=duckdb_settings())
    except duckdb.Error as exc:
        raise PublishError(f"cannot open {database} to read its run: {exc}") from exc
    try:
        # looked up first: a missing table would make DuckDB look for a Python variable
        # of that name (a replacement scan) instead of failing plainly
        (recorded,) = con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and "
            "table_name = ?", RUN_TABLE.split("."),
        ).fetchone()  # type: ignore[misc]
        row = con.execute(f"select run_id from {RUN_TABLE}").fetchone() if recorded else None
    finally:
        con.close()
    return str(row[0]) if row else None


def _mark_run(database: Path, run_id: str, published_at: str) -> None:
    """Record in the (checkpointed) working database which run it is about to be
    published as, so that the copy carries its own name."""
    try:
        con = duckdb.connect(str(database), config=duckdb_settings())
    except duckdb.Error as exc:
        raise PublishError(f"cannot open {database} to record the run: {exc}") from exc
    try:
        con.execute(f"create schema if not exists {identifier(PUBLISH_SCHEMA)}")
        con.execute(f"create or replace table {RUN_TABLE} as select "
                    f"{literal(run_id)} as run_id, "
                    f"cast({literal(published_at)} as timestamptz) as published_at")
        con.execute("checkpoint")
    except duckdb.Error as exc:
        raise PublishError(f"cannot record the run in {database}: {exc}. Nothing was "
                           "published") from exc
    finally:
        con.close()


def read_manifest(run_folder: Path) -> dict | None:
    """A run folder's ``_manifest.json``; None when there is none (an incomplete run)."""
    try:
        manifest = json.loads((run_folder / MANIFEST_NAME).read_text())
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
        return None
    return manifest if isinstance(manifest, dict) else None


def _stale_temps(paths: Paths) -> list[Path]:
    """Temporary files and folders only an interrupted publish (or seed copy) leaves."""
    found = [
        *paths.published.parent.glob(f".{paths.published.name}.*.tmp"),
        *paths.working.parent.glob(f".{paths.working.name}.*.tmp"),
        *paths.state.glob(".manifest.json.*.tmp"),
    ]
    if paths.exports.is_dir():
        found += [p for p in paths.exports.iterdir()
                  if p.name.startswith(".") and p.name.endswith(".tmp")]
    now = time.time()
    found += [p for p in paths.publish_dir.glob(f".{STATUS_NAME}.*.tmp")
              if now - p.lstat().st_mtime > STALE_SECONDS]
    return found


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.exists():
        shutil.rmtree(path)


def _recover_locked(paths: Paths) -> list[str]:
    lines = []
    stale = _stale_temps(paths)
    for path in stale:
        _remove(path)
    if stale:
        lines.append(f"removed {len(stale)} temporary files left by an interrupted publish: "
                     + ", ".join(p.name for p in stale))
    run = published_run(paths.published)
    if run is None or not paths.exports.is_dir():
        return lines
    current = current_run(paths.exports)
    # run folders newer than both the database's run and `current` were exported by a
    # publish that died before its database rename: never published, never read
    orphans = sorted(p.name for p in paths.exports.iterdir()
                     if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")
                     and p.name > run and (current is None or p.name > current))
    for name in orphans:
        shutil.rmtree(paths.exports / name)
    if orphans:
        lines.append(f"removed export runs never published (an interrupted publish): "
                     f"{', '.join(orphans)}")
    if run == current:
        return lines
    manifest = read_manifest(paths.exports / run)
    if manifest is None or manifest.get("run_id") != run:
        lines.append(f"{paths.published} is run {run} but {paths.exports / run} is not a "
                     f"complete export; {paths.current} stays at {current}")
        return lines
    _swap_current(paths.exports, run)
    lines.append(f"recovered an interrupted publish: {paths.current} -> {run} (was "
                 f"{current}), the run {paths.published} holds")
    return lines


def recover(paths: Paths) -> list[str]:
    """Finish or clean up after a publish that was killed half-way; one line per thing
    done (nothing when all is consistent).

    When the published database's run is not the one ``exports/current`` points at and
    that run's export folder is complete, ``current`` is swapped onto it: the database
    rename happened, only the pointer swap did not. Temporary files and run folders
    that were never published are removed. Does nothing while another publish holds the
    lock (that publish recovers first itself)."""
    # every publish creates exports/ before it writes anything else; and a reader
    # without write access to the folder could not fix anything (the next build does)
    if not paths.exports.is_dir() or not os.access(paths.publish_dir, os.W_OK):
        return []
    try:
        with _publish_lock(paths.publish_dir):
            return _recover_locked(paths)
    except PublishBusyError:
        return []


def _tree_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def space_needed(paths: Paths) -> dict[Path, int]:
    """Bytes a publish writes per folder: a copy of the working database beside the
    published one; exports about as large as the last run's (the database's size when
    there is none: Parquet of the marts is smaller than the whole database)."""
    database = paths.working.stat().st_size
    current = paths.current.resolve() if paths.current.is_symlink() else None
    exports = _tree_size(current) if current and current.is_dir() else database
    needed = {paths.published.parent: database}
    needed[paths.publish_dir] = needed.get(paths.publish_dir, 0) + exports
    return needed


def check_free_space(paths: Paths) -> None:
    """Fail before anything is written when a filesystem the publish writes to has less
    free space than it needs (with a margin)."""
    per_device: dict[int, tuple[Path, int]] = {}
    for folder, size in space_needed(paths).items():
        folder.mkdir(parents=True, exist_ok=True)
        device = folder.stat().st_dev
        first, total = per_device.get(device, (folder, 0))
        per_device[device] = (first, total + size)
    for folder, size in per_device.values():
        needed = int(size * SPACE_MARGIN) + SPACE_SLACK
        free = shutil.disk_usage(folder).free
        if free < needed:
            raise PublishError(
                f"not enough free space in {folder}: publishing needs about {needed:,} "
                f"bytes, {free:,} are free; nothing was published"
            )


def _disk_error(exc: OSError, paths: Paths, replaced: str | None) -> PublishError:
    """A plain message for a write that failed on a full or failing disk."""
    where = f" ({exc.filename})" if exc.filename else ""
    what = f"{os.strerror(exc.errno)}{where}" if exc.errno else str(exc)
    if replaced:
        return PublishError(
            f"publishing into {paths.publish_dir} failed: {what}. {paths.published} is "
            f"already run {replaced} but {paths.current} could not be switched to it; the "
            "next build, publish or summary switches it"
        )
    return PublishError(
        f"publishing into {paths.publish_dir} failed: {what}. Nothing was published: "
        f"{paths.published} and {paths.current} are as they were (temporary files removed)"
    )


@dataclass(frozen=True)
class Published:
    """What one publish wrote."""

    run_id: str
    published_at: str
    database: Path
    export_dir: Path
    current: Path
    manifest: dict[str, object]
    removed_runs: list[str]
    seconds: float
    # what the recovery at its start did, and what failed after the publish itself had
    # succeeded (the state copy for slim builds, pruning old runs)
    recovered: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def _save_state(paths: Paths, manifest_path: Path | None) -> None:
    """Keep the manifest of the build just published beside it, so `make ci-pr` can build
    only what changed since (`--state`) and read the rest from the published file
    (`--defer`)."""
    from cx_value.manifest import target_dir

    source = manifest_path or target_dir() / "manifest.json"
    if not source.is_file():
        return
    paths.state.mkdir(parents=True, exist_ok=True)
    _atomic_copy(source, paths.state / "manifest.json", "state")


def publish(
    paths: Paths, run_id: str | None = None, manifest_path: Path | None = None
) -> Published:
    """Publish the (validated) working database: exports first, under a name no reader
    uses yet, then the database file by rename, then the ``current`` pointer by rename.

    A crash at any step leaves the previous database and the previous ``current``
    complete, or (killed after the database rename) the new database and its complete
    run folder, which :func:`recover` makes ``current``; at worst an unreferenced run
    folder or a ``.tmp`` file stays behind, and the next publish removes it. A full disk
    fails before anything is written (:func:`check_free_space`) or, if it fills up on
    the way, with a :class:`PublishError` and the temporary files removed.
    """
    started = time.perf_counter()
    run_id = run_id or new_run_id()
    published_at = datetime.now(UTC).isoformat(timespec="seconds")
    with _publish_lock(paths.publish_dir):
        recovered = _recover_locked(paths)
        if _wal(paths.published).exists():
            # a WAL beside the published file would be replayed onto the new file
            raise PublishError(
                f"{_wal(paths.published)} exists: the published database was opened for "
                "writing; close whatever did so (it must only be read) and remove it"
            )
        checkpoint(paths.working)
        export_dir = paths.exports / run_id
        try:
            check_free_space(paths)
            _mark_run(paths.working, run_id, published_at)
            manifest = _export_and_copy(paths, run_id, published_at, manifest_path)
            _swap_current(paths.exports, run_id)
        except OSError as exc:
            replaced = _replaced(paths, run_id)
            if not replaced:
                # the database is still the previous run: this run's exports must not
                # stay behind as if they had been published
                shutil.rmtree(export_dir, ignore_errors=True)
            if exc.errno in DISK_ERRNOS:
                raise _disk_error(exc, paths, run_id if replaced else None) from exc
            raise
        warnings = []
        try:
            _save_state(paths, manifest_path)
            removed = prune_runs(paths.exports)
        except OSError as exc:
            # published already; what is left is bookkeeping the next publish redoes
            removed = []
            warnings.append(f"published, but saving the build state or pruning old runs "
                            f"failed: {exc}")
    return Published(
        run_id=run_id, published_at=published_at, database=paths.published,
        export_dir=export_dir, current=paths.current, manifest=manifest,
        removed_runs=removed, seconds=time.perf_counter() - started,
        recovered=tuple(recovered), warnings=tuple(warnings),
    )


def _export_and_copy(
    paths: Paths, run_id: str, published_at: str, manifest_path: Path | None
) -> dict[str, object]:
    """Export the marts into ``exports/<run_id>`` and copy the working database over the
    published one; the pointer swap is left to the caller."""
    paths.exports.mkdir(parents=True, exist_ok=True)
    staging = paths.exports / f".{run_id}.tmp"
    export_dir = paths.exports / run_id
    # read-only from here on: DuckDB's lock then keeps any writer (dbt) out while
    # the exports and the copy are taken, so both are the same state of the file
    con = duckdb.connect(str(paths.working), read_only=True, config=duckdb_settings())
    try:
        if _wal(paths.working).exists():
            raise PublishError(f"{paths.working} was written to during publishing")
        try:
            manifest = export_marts(con, staging, run_id, published_at, manifest_path)
        except duckdb.IOException as exc:
            # DuckDB reports a full disk while writing Parquet as its own error
            raise PublishError(
                f"publishing into {paths.publish_dir} failed: {str(exc).splitlines()[0]}. "
                f"Nothing was published: {paths.published} and {paths.current} are as they "
                "were (temporary files removed)"
            ) from exc
        for path in staging.iterdir():
            _fsync_file(path)
        _fsync_dir(staging)
        os.replace(staging, export_dir)
        _atomic_copy(paths.working, paths.published, run_id)
    finally:
        con.close()
        if staging.exists():
            shutil.rmtree(staging)
    return manifest


def _replaced(paths: Paths, run_id: str) -> bool:
    """Whether the published database is already ``run_id`` (a failure after its rename)."""
    try:
        return published_run(paths.published) == run_id
    except PublishError:
        return False


def write_status(paths: Paths, status: Mapping[str, object]) -> None:
    """Record the outcome of the last build or publish in ``<publish dir>/last_run.json``
    (read by `cx-value summary`), with the databases it is about."""
    paths.publish_dir.mkdir(parents=True, exist_ok=True)
    _write_json(paths.status, {
        **status,
        "published_database": str(paths.published.resolve()),
        "working_database": str(paths.working.resolve()),
        "exports_current": str(paths.current.absolute()),
        "data_docs": str((paths.data_docs / "index.html").absolute()),
    })


def read_status(published: Path) -> dict | None:
    """The last recorded outcome for ``published``, or None (none recorded, or the
    status file in its folder is about another database)."""
    path = resolve_paths(published).status
    if not path.is_file():
        return None
    try:
        status = json.loads(path.read_text())
    except json.JSONDecodeError:
        return None
    if status.get("published_database") != str(published.resolve()):
        return None
    return status
