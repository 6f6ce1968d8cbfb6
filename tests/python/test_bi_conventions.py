"""The conventions BI tools and analytics engineers rely on.

- every dbt var the project reads is declared in dbt_project.yml, with the same default
  as every call site that names one (a declaration wins over a call's default, so a
  mismatch would silently change a figure);
- exactly the `fct_`/`dim_`/`mart_` models are `access: public`, each in a group with an
  owner and with an enforced contract typing every column;
- source freshness is measured against the export date: it passes on the demo export
  and flags a table whose export lags the others.
"""

from __future__ import annotations

import ast
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tokenize
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import yaml

from cx_value.contract import TABLES
from cx_value.contract_render import ACTIVITY_FRESHNESS_DAYS, freshness_days

ROOT = Path(__file__).resolve().parents[2]
# Where dbt reads Jinja: models (SQL, yml, Python models' configs), macros, analyses,
# singular and generic tests.
VAR_DIRS = ("models", "macros", "analyses", "tests/dbt")
VAR_SUFFIXES = (".sql", ".yml", ".yaml", ".py")
# `var(` not preceded by a word character or a dot: env_var( is not a dbt var
_VAR_CALL = re.compile(r"(?<![\w.])var\(\s*")
# Read by the Python side (the data-quality gate), with their defaults (the share is also
# read by mart_data_coverage).
PYTHON_SIDE_VARS = {"cx_max_rejected_share": 0.05, "cx_rejected_share_severity": "warning"}
# Retired vars are looked up by name to refuse them (int_observation_date): they must stay
# undeclared, so setting one is the only way for it to have a value.
RETIRED_VARS = ("cx_clv_as_of", "cx_retention_as_of", "cx_churn_as_of", "cx_journey_as_of")


def _declared_vars() -> dict[str, object]:
    project = yaml.safe_load((ROOT / "dbt_project.yml").read_text())
    return dict(project.get("vars") or {})


def _call_arguments(text: str, start: int) -> list[str]:
    """The top-level arguments of the call whose '(' ends just before `start`."""
    depth, quote, args, current = 0, "", [], []
    for char in text[start:]:
        if quote:
            current.append(char)
            if char == quote:
                quote = ""
            continue
        if char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            if depth == 0:
                args.append("".join(current).strip())
                return args
            depth -= 1
        elif char == "," and depth == 0:
            args.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    raise ValueError(f"unclosed var( call at {start}")


def var_calls(root: Path = ROOT) -> list[tuple[str, str, str | None]]:
    """(file, var name, default text or None) of every `var('name'…)` call with a literal name."""
    calls = []
    for folder in VAR_DIRS:
        for path in sorted((root / folder).rglob("*")):
            if path.suffix not in VAR_SUFFIXES or not path.is_file():
                continue
            text = path.read_text()
            for match in _VAR_CALL.finditer(text):
                args = _call_arguments(text, match.end())
                name = args[0]
                if len(name) < 2 or name[0] not in "'\"" or name[-1] != name[0]:
                    continue  # a name computed at run time (the retired vars)
                default = args[1] if len(args) > 1 and args[1] else None
                calls.append((str(path.relative_to(root)), name[1:-1], default))
    return calls


def jinja_literal(text: str) -> object:
    """A Jinja literal (none, true, false, numbers, strings, lists, dicts) as Python."""
    names = {"none": "None", "true": "True", "false": "False"}
    tokens = [
        (tok.type, names.get(tok.string, tok.string) if tok.type == tokenize.NAME else tok.string)
        for tok in tokenize.generate_tokens(io.StringIO(text).readline)
    ]
    return ast.literal_eval(tokenize.untokenize(tokens).strip())


def test_var_scan_finds_the_calls_it_must() -> None:
    """The scanner itself: literal names in SQL, yml and multi-line dict defaults, not env_var."""
    calls = var_calls()
    found = {name for _, name, _ in calls}
    # one of each kind: a yml config, a multi-line dict default, an analysis, a macro
    assert {"cx_churn_train_end", "cx_cev_priority_weights", "cx_timeline_customer_id",
            "cx_schema_prefix"} <= found
    assert not {"CX_RAW_MODE", "CX_ABSENT_TABLES", "CX_PII_SALT"} & found
    weights = next(d for _, n, d in calls if n == "cx_cev_priority_weights")
    assert jinja_literal(weights) == {
        "value": 0.4, "social": 0.2, "recommendation": 0.2, "strategic": 0.2}
    assert jinja_literal("none") is None
    assert jinja_literal("{'none': 0.5, 'x': true}") == {"none": 0.5, "x": True}


def test_every_var_used_is_declared() -> None:
    declared = _declared_vars()
    used = {name for _, name, _ in var_calls()}
    missing = sorted(used - set(declared))
    assert not missing, f"vars used but not declared in dbt_project.yml: {missing}"
    assert not set(RETIRED_VARS) & set(declared), "a retired var must stay undeclared"


def test_python_side_vars_are_declared() -> None:
    declared = _declared_vars()
    for name, default in PYTHON_SIDE_VARS.items():
        assert declared.get(name) == default, name


def test_declared_defaults_match_every_call_site() -> None:
    """A call's own default is dead once the var is declared: it must say the same thing,
    so declaring it changed no figure and a reader of either sees the truth."""
    declared = _declared_vars()
    wrong = []
    for path, name, default in var_calls():
        if default is None or name not in declared:
            continue
        value = declared[name]
        if "env_var(" in default:
            # a declared value is read raw in yml, so it cannot read the environment: such
            # a var is declared empty and read as var(name, '') or env_var(...)
            wrong.append(f"{path}: var('{name}', {default}): declare it empty, read the "
                         "environment after `or`")
            continue
        expected = jinja_literal(default)
        if value != expected or type(value) is not type(expected):
            wrong.append(f"{path}: var('{name}', {default}) but declared {value!r}")
    assert not wrong, "\n".join(wrong)


def test_every_declared_var_has_a_comment() -> None:
    """Each declaration says what it means: a comment on its line or above its group."""
    lines = (ROOT / "dbt_project.yml").read_text().splitlines()
    start = lines.index("vars:")
    uncommented = []
    for i in range(start + 1, len(lines)):
        line = lines[i]
        if line and not line.startswith(" "):
            break
        match = re.match(r"^  (\w+):", line)
        if not match:
            continue
        # a comment block above covers the run of declarations right under it
        j = i - 1
        while j > start and re.match(r"^  \w+:", lines[j]) and "#" not in lines[j]:
            j -= 1
        if "#" not in line and not lines[j].strip().startswith("#"):
            uncommented.append(match.group(1))
    assert not uncommented, f"declared without a comment: {uncommented}"


@pytest.mark.parametrize("default", ["1", "'a'", "[]", "{}"])
def test_jinja_literal_round_trips(default: str) -> None:
    assert jinja_literal(default) == ast.literal_eval(default)


# ------------------------------------------------------------------ dbt's own view
# The rest runs dbt: `dbt source freshness` on the demo export read as files (the
# committed seeds are the demo export), which also leaves the parsed manifest.

DBT = Path(sys.executable).parent / "dbt"
DEMO_EXPORT = ROOT / "seeds" / "demo"
RAW_TABLES = {t.name: t.source for t in TABLES}
PUBLIC_PREFIXES = ("fct_", "dim_", "mart_")
# Python-model outputs and the feature catalog: typed by the model, read through the
# public marts, never public themselves.
MODEL_INTERNALS = {
    "clv_bgnbd_parameters", "clv_customer_predictions", "retention_sbg_parameters",
    "retention_customer_predictions", "retention_survival_curve", "churn_model_backtest",
    "churn_model_coefficients", "churn_feature_catalog",
}
DAY = 86_400.0


@dataclass(frozen=True)
class FreshnessRun:
    returncode: int
    output: str
    results: dict[str, dict]  # "<source>.<table>" -> sources.json result
    manifest: dict


def run_freshness(raw_dir: Path, scratch: Path, dbt_vars: str | None = None) -> FreshnessRun:
    """`dbt source freshness` with the raw tables read from CSV files in `raw_dir`."""
    scratch.mkdir(parents=True, exist_ok=True)
    database = str(scratch / "freshness.duckdb")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CX_", "DBT_"))},
        "CX_RAW_MODE": "files", "CX_RAW_DIR": str(raw_dir), "CX_RAW_FORMAT": "csv",
        "CX_DUCKDB_PATH": database, "CX_DUCKDB_WORK_PATH": database,
        "DBT_TARGET_PATH": str(scratch / "target"), "DBT_LOG_PATH": str(scratch / "logs"),
    }
    args = [str(DBT), "source", "freshness", "--profiles-dir", str(ROOT)]
    if dbt_vars:
        args += ["--vars", dbt_vars]
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    sources = json.loads((scratch / "target" / "sources.json").read_text())
    results = {r["unique_id"].split(".", 2)[2]: r for r in sources["results"]}
    manifest = json.loads((scratch / "target" / "manifest.json").read_text())
    return FreshnessRun(done.returncode, done.stdout, results, manifest)


def latest_loaded_at(raw_dir: Path) -> dict[str, datetime]:
    """Each raw table's latest loaded_at (UTC), read here without the project's macros."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    latest = {}
    for table in RAW_TABLES:
        (value,) = con.execute(
            "select max(try_cast(loaded_at as timestamptz)) from read_csv(?, header = true, "
            "all_varchar = true)", [str(raw_dir / f"{table}.csv")]).fetchone()
        latest[table] = value
    con.close()
    return latest


def expected_status(lag_seconds: float, table: str) -> str:
    warn, error = freshness_days(table)
    return "error" if lag_seconds > error * DAY else "warn" if lag_seconds > warn * DAY else "pass"


def lagged_export(target: Path, lags_days: dict[str, float]) -> Path:
    """A copy of the demo export whose tables in `lags_days` lose their rows loaded in the
    last n days before the export's latest loaded_at: their feed stopped n days early."""
    shutil.copytree(DEMO_EXPORT, target, ignore=shutil.ignore_patterns("_*"))
    reference = max(latest_loaded_at(DEMO_EXPORT).values())
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    for table, days in lags_days.items():
        path = target / f"{table}.csv"
        cut = (reference - timedelta(days=days)).isoformat()
        con.execute(
            f"copy (select * from read_csv('{path}', header = true, all_varchar = true) "
            f"where try_cast(loaded_at as timestamptz) < '{cut}'::timestamptz) "
            f"to '{path}.new' (header, delimiter ',')")
        os.replace(f"{path}.new", path)
    con.close()
    return target


@pytest.fixture(scope="module")
def demo_freshness(tmp_path_factory: pytest.TempPathFactory) -> FreshnessRun:
    return run_freshness(DEMO_EXPORT, tmp_path_factory.mktemp("freshness_demo"))


@pytest.mark.integration
def test_freshness_passes_on_the_demo_export(demo_freshness: FreshnessRun) -> None:
    assert demo_freshness.returncode == 0, demo_freshness.output[-3000:]
    assert set(demo_freshness.results) == {f"{s}.{t}" for t, s in RAW_TABLES.items()}
    assert {r["status"] for r in demo_freshness.results.values()} == {"pass"}


@pytest.mark.integration
def test_freshness_age_is_the_lag_behind_the_export(demo_freshness: FreshnessRun) -> None:
    """dbt's age of each table is its lag behind the export's latest loaded_at (computed
    here from the files), not its distance from today: the demo export is years old by
    the calendar of some readers and months old on the day it was made."""
    latest = latest_loaded_at(DEMO_EXPORT)
    reference = max(latest.values())
    for table, source in RAW_TABLES.items():
        age = demo_freshness.results[f"{source}.{table}"]["max_loaded_at_time_ago_in_s"]
        assert age == pytest.approx((reference - latest[table]).total_seconds(), abs=1.0), table
    # the slow tables really lag: the reference tier is what keeps them green
    assert (reference - latest["customers"]).days > ACTIVITY_FRESHNESS_DAYS[1]


@pytest.mark.integration
def test_freshness_flags_a_table_that_lags_the_export(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    base = tmp_path_factory.mktemp("freshness_lagged")
    # events stopped 8 days before the export (past error_after), surveys 4 (past warn)
    raw = lagged_export(base / "raw", {"events": 8, "survey_responses": 4})
    run = run_freshness(raw, base / "dbt")
    assert run.returncode != 0, "an error-level freshness failure must fail the command"
    statuses = {key.split(".")[1]: r["status"] for key, r in run.results.items()}
    assert statuses["events"] == "error"
    assert statuses["survey_responses"] == "warn"
    latest = latest_loaded_at(raw)
    reference = max(latest.values())
    assert statuses == {
        t: expected_status((reference - latest[t]).total_seconds(), t) for t in RAW_TABLES}
    assert "web.events" in run.output


@pytest.mark.integration
def test_freshness_measures_against_a_pinned_as_of(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """cx_as_of moves the reference to the end of that day: ten days after the export,
    every activity table is stale and the slow ones keep their margin."""
    latest = latest_loaded_at(DEMO_EXPORT)
    as_of = (max(latest.values()) + timedelta(days=10)).date()
    run = run_freshness(DEMO_EXPORT, tmp_path_factory.mktemp("freshness_pinned"),
                        json.dumps({"cx_as_of": as_of.isoformat()}))
    reference = datetime.combine(as_of + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    for table, source in RAW_TABLES.items():
        result = run.results[f"{source}.{table}"]
        lag = (reference - latest[table]).total_seconds()
        assert result["max_loaded_at_time_ago_in_s"] == pytest.approx(lag, abs=1.0), table
        assert result["status"] == expected_status(lag, table), table
    assert run.results["web.events"]["status"] == "error"
    assert run.returncode != 0


def _models(manifest: dict) -> dict[str, dict]:
    return {n["name"]: n for n in manifest["nodes"].values()
            if n["resource_type"] == "model" and n["package_name"] == "cx_value"}


@pytest.mark.integration
def test_exactly_the_fct_dim_mart_models_are_public(demo_freshness: FreshnessRun) -> None:
    models = _models(demo_freshness.manifest)
    public = {name for name, node in models.items() if node["access"] == "public"}
    named = {name for name in models if name.startswith(PUBLIC_PREFIXES)}
    assert public == named
    assert len(public) >= 20  # the marts exist at all
    for name in MODEL_INTERNALS:
        assert models[name]["access"] == "protected", name
        assert "Model internal" in models[name]["description"], name


@pytest.mark.integration
def test_public_marts_have_an_owner_a_contract_and_a_primary_key(
    demo_freshness: FreshnessRun,
) -> None:
    manifest = demo_freshness.manifest
    groups = {g["name"]: g for g in manifest["groups"].values()}
    tested = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] == "test" and node.get("test_metadata"):
            model = node.get("attached_node") or ""
            tested.setdefault(model.split(".")[-1], set()).add(node["test_metadata"]["name"])
    for name, node in _models(manifest).items():
        if node["access"] != "public":
            continue
        assert node["group"] in groups, name
        owner = groups[node["group"]]["owner"]
        assert owner.get("name") or owner.get("email"), name
        assert node["config"]["contract"]["enforced"], name
        untyped = [c for c, v in node["columns"].items() if not v.get("data_type")]
        assert node["columns"] and not untyped, f"{name}: columns without data_type {untyped}"
        assert "unique" in tested.get(name, set()), f"{name}: no unique (primary key) test"


@pytest.mark.integration
def test_exposures_read_public_marts_and_exports_cover_them_all(
    demo_freshness: FreshnessRun,
) -> None:
    manifest = demo_freshness.manifest
    models = _models(manifest)
    by_id = {n["unique_id"]: n for n in models.values()}
    public_ids = {n["unique_id"] for n in models.values() if n["access"] == "public"}
    exposures = {e["name"]: e for e in manifest["exposures"].values()}
    assert set(exposures) == {"cx_dashboard", "cx_parquet_exports"}
    for exposure in exposures.values():
        depends = set(exposure["depends_on"]["nodes"])
        assert depends <= public_ids, [by_id[d]["name"] for d in depends - public_ids]
        assert exposure["owner"].get("name")
    assert set(exposures["cx_parquet_exports"]["depends_on"]["nodes"]) == public_ids
    assert len(exposures["cx_dashboard"]["depends_on"]["nodes"]) == 8
