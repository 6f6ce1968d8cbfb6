"""Settings a build cannot run with are named in one line each, before dbt starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cx_value.cli import app
from cx_value.pii import DEMO_SALT, effective_salt, salt_problem
from cx_value.settings import setting_problems

SALT = "a-secret-salt-of-24-chars"


def test_the_demo_data_may_use_the_demo_salt():
    assert salt_problem({}, "demo") is None
    assert effective_salt({}) == DEMO_SALT
    assert effective_salt({"CX_PII_SALT": ""}) == DEMO_SALT
    assert effective_salt({"CX_PII_SALT": SALT}) == SALT


@pytest.mark.parametrize("mode", ["files", "tables"])
@pytest.mark.parametrize(
    ("salt", "expected"),
    [(None, "is not set"), ("", "is not set"), (DEMO_SALT, "public demo salt"),
     ("fifteen-chars!!", "shorter than 16"), ("sixteen-chars!!!", None)],
)
def test_other_data_needs_a_secret_salt_of_16_characters(mode, salt, expected):
    env = {} if salt is None else {"CX_PII_SALT": salt}
    problem = salt_problem(env, mode)
    if expected is None:
        assert problem is None
    else:
        assert problem is not None and expected in problem
        if salt:
            assert salt not in problem


@pytest.mark.parametrize("mode", ["demo", "files"])
@pytest.mark.parametrize("salt", ["a-secret-salt-with-'-quote", "a-secret-salt-with-\\-slash"])
def test_a_salt_that_would_end_a_sql_literal_is_refused(mode, salt):
    # Spark reads the salt as ${env:CX_PII_SALT} inside a quoted literal
    problem = salt_problem({"CX_PII_SALT": salt}, mode)
    assert problem is not None and "quote or a backslash" in problem
    assert salt not in problem


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"CX_THREADS": "0"}, "CX_THREADS='0'"),
        ({"CX_THREADS": "two"}, "CX_THREADS='two'"),
        ({"CX_THREADS": "-1"}, "CX_THREADS='-1'"),
        ({"CX_DUCKDB_MEMORY_LIMIT": "lots"}, "CX_DUCKDB_MEMORY_LIMIT='lots'"),
        ({"CX_RAW_MODE": "file"}, "CX_RAW_MODE='file'"),
        ({"CX_RAW_MODE": "files", "CX_PII_SALT": SALT}, "CX_RAW_DIR names no folder"),
        ({"CX_RAW_MODE": "files", "CX_RAW_DIR": "/no/such/folder", "CX_PII_SALT": SALT},
         "'/no/such/folder' (CX_RAW_DIR, --raw-dir) does not exist"),
        ({"CX_RAW_MODE": "files", "CX_RAW_DIR": ".", "CX_RAW_FORMAT": "xlsx",
          "CX_PII_SALT": SALT}, "CX_RAW_FORMAT='xlsx'"),
    ],
)
def test_each_bad_setting_is_named(env, expected):
    problems = setting_problems(env)
    assert len(problems) == 1 and expected in problems[0], problems


@pytest.mark.parametrize(
    "env",
    [{}, {"CX_THREADS": "4", "CX_DUCKDB_MEMORY_LIMIT": "512MiB"},
     {"CX_DUCKDB_MEMORY_LIMIT": "50%"}, {"CX_DUCKDB_MEMORY_LIMIT": "1.5 GB"},
     {"CX_RAW_MODE": "tables", "CX_PII_SALT": SALT}],
)
def test_good_settings_pass(env):
    assert setting_problems(env) == []


def test_a_var_wins_over_the_environment():
    assert setting_problems({"CX_RAW_MODE": "nonsense"}, {"cx_raw_mode": "demo"}) == []


def test_build_refuses_bad_settings_in_one_line_each_before_dbt(tmp_path: Path):
    database = tmp_path / "never.duckdb"
    result = CliRunner(env={"CX_DUCKDB_PATH": str(database), "CX_THREADS": "0"}).invoke(
        app, ["build"])
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert "CX_THREADS='0': must be a whole number of threads, 1 or more" in output
    assert "Traceback" not in result.output
    assert not database.exists()


def test_build_of_a_folder_without_a_salt_stops_before_dbt(tmp_path: Path):
    database = tmp_path / "never.duckdb"
    result = CliRunner(env={"CX_DUCKDB_PATH": str(database), "CX_PII_SALT": ""}).invoke(
        app, ["build", "--raw-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "CX_PII_SALT is not set" in " ".join(result.output.split())
    assert not database.exists()
