"""The environment settings a build reads, checked before dbt starts.

A bad setting is reported as one line naming the setting, the value and what it may be
(never a traceback from deep inside dbt); the salt's value is never repeated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from cx_value.erasure import erasure_problem
from cx_value.pii import salt_problem

RAW_MODES = ("demo", "files", "tables")
RAW_FORMATS = ("csv", "parquet")
# DuckDB's memory_limit: a number and a unit, or a share of the machine's memory
MEMORY_LIMIT = re.compile(r"^\s*\d+(\.\d+)?\s*(B|[KMGT]i?B|%)\s*$", re.IGNORECASE)


def raw_mode(env: Mapping[str, str], dbt_vars: Mapping[str, object] | None = None) -> str:
    """Where the raw data comes from, as the dbt macro cx_raw_mode reads it (var first)."""
    value = (dbt_vars or {}).get("cx_raw_mode") or env.get("CX_RAW_MODE") or "demo"
    return str(value).strip().lower()


def setting_problems(
    env: Mapping[str, str], dbt_vars: Mapping[str, object] | None = None
) -> list[str]:
    """Every setting in ``env`` (and dbt ``dbt_vars``) a build cannot run with."""
    problems: list[str] = []
    threads = env.get("CX_THREADS")
    if threads is not None and not (threads.strip().isdigit() and int(threads) >= 1):
        problems.append(f"CX_THREADS={threads!r}: must be a whole number of threads, 1 or more")
    memory = env.get("CX_DUCKDB_MEMORY_LIMIT")
    if memory is not None and not MEMORY_LIMIT.match(memory):
        problems.append(f"CX_DUCKDB_MEMORY_LIMIT={memory!r}: must be an amount such as 4GB, "
                        f"512MiB or 50%")
    mode = raw_mode(env, dbt_vars)
    if mode not in RAW_MODES:
        problems.append(f"CX_RAW_MODE={mode!r}: must be one of {', '.join(RAW_MODES)}")
    if mode == "files":
        fmt = (str((dbt_vars or {}).get("cx_raw_format") or env.get("CX_RAW_FORMAT")
                   or "parquet")).strip().lower()
        if fmt not in RAW_FORMATS:
            problems.append(f"CX_RAW_FORMAT={fmt!r}: must be csv or parquet")
        folder = str((dbt_vars or {}).get("cx_raw_dir") or env.get("CX_RAW_DIR") or "").strip()
        if not folder:
            problems.append("CX_RAW_MODE is files but CX_RAW_DIR names no folder: pass "
                            "--raw-dir or set CX_RAW_DIR")
        elif not Path(folder).is_dir():
            problems.append(f"raw folder {folder!r} (CX_RAW_DIR, --raw-dir) does not exist")
    salt = salt_problem(env, mode) if mode in RAW_MODES else None
    if salt:
        problems.append(salt)
    erasure = erasure_problem(env)
    if erasure:
        problems.append(erasure)
    return problems
