"""Run dbt in-process, so one Python start-up serves the whole command."""

from __future__ import annotations

from pathlib import Path


def run_dbt(args: list[str], project_dir: Path) -> bool:
    """Invoke dbt with ``args`` on the project in ``project_dir``; True when it succeeded."""
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(
        [*args, "--project-dir", str(project_dir), "--profiles-dir", str(project_dir)]
    )
    return bool(result.success)
