"""The project's profiles.yml as dbt reads it, for code that must run with the same
settings outside dbt (the benchmark's floor, the Spark test's session)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

PROFILE_NAME = "cx_value"
PROFILES_PATH = Path(__file__).resolve().parents[1] / "profiles.yml"


def render_profiles(text: str, env: Mapping[str, str]) -> dict[str, Any]:
    """profiles.yml ``text`` rendered as dbt renders it: ``env_var(name, default)`` reads
    ``env``, and a variable that is neither set nor defaulted is an error, as in dbt."""
    import jinja2
    import yaml

    def env_var(name: str, default: str | None = None) -> str:
        if name in env:
            return env[name]
        if default is None:
            raise KeyError(f"profiles.yml needs the environment variable {name}")
        return default

    rendered = jinja2.Environment(autoescape=False).from_string(text).render(env_var=env_var)
    return yaml.safe_load(rendered)


def profile_target(
    target: str, env: Mapping[str, str], text: str | None = None
) -> dict[str, Any]:
    """One output (target) of the project's profile, rendered with ``env``."""
    profiles = render_profiles(text if text is not None else PROFILES_PATH.read_text(), env)
    return dict(profiles[PROFILE_NAME]["outputs"][target])


def duckdb_settings(
    env: Mapping[str, str] | None = None, text: str | None = None
) -> dict[str, str]:
    """The DuckDB settings of the profile's ``duckdb`` target (memory limit, threads), for
    every connection the package opens beside dbt's: the quality gate, publishing, the
    raw-file checks, the benchmark's floor. Without them DuckDB takes up to 80 % of the
    machine's memory."""
    target = profile_target("duckdb", os.environ if env is None else env, text)
    settings = {key: str(value) for key, value in (target.get("settings") or {}).items()}
    settings["threads"] = str(int(target.get("threads", 1)))
    return settings
