"""Run dbt in-process, so one Python start-up serves the whole command."""

from __future__ import annotations

from pathlib import Path


def run_dbt(args: list[str], project_dir: Path) -> bool:
    """Invoke dbt with ``args`` on the project in ``project_dir``; True when it succeeded.

    The database is closed afterwards: dbt-duckdb keeps its connection for the life of
    the process, which would keep the write-ahead log unmerged and refuse this process
    another connection to the file (read-only, as the gate and the publisher open it).
    """
    from dbt.cli.main import dbtRunner

    try:
        result = dbtRunner().invoke(
            [*args, "--project-dir", str(project_dir), "--profiles-dir", str(project_dir)]
        )
    finally:
        release_database()
    return bool(result.success)


def release_database() -> None:
    """Close the DuckDB database dbt-duckdb holds open in this process, if any."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        environment = DuckDBConnectionManager._ENV
        if environment is not None:
            environment.close()
            DuckDBConnectionManager._ENV = None
