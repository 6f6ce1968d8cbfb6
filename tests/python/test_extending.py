"""The README's "Extending" examples, built exactly as written there.

The code blocks are read from README.md (each follows an ``<!-- extending:NAME -->``
marker), applied to a copy of the project and built, so the guide cannot drift from
what works. One copy serves every example: a full build with the analyst's touchpoint
model and metric, then a var override, then the slim path (`make ci-pr`) after a
change to one model.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration

MARKER = re.compile(r"<!-- extending:([a-z0-9-]+) -->\s*```[a-z]*\n(.*?)```", re.DOTALL)


def readme_blocks() -> dict[str, str]:
    """The README's example blocks by marker name."""
    return {name: body for name, body in MARKER.findall((ROOT / "README.md").read_text())}


def test_readme_has_every_example() -> None:
    blocks = readme_blocks()
    for name in ("touchpoint-model", "touchpoint-docs", "touchpoint-var", "metric",
                 "metric-query", "var-override", "ci-pr"):
        assert blocks.get(name, "").strip(), f"README lacks the extending:{name} block"


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env={**os.environ, **env}, capture_output=True,
                          text=True, check=False)


class Project:
    """A copy of the project with the README's extensions applied."""

    def __init__(self, root: Path):
        self.root = root
        self.published = root / ".data" / "cx_value.duckdb"
        self.env = {
            "CX_DUCKDB_PATH": str(self.published),
            "CX_DUCKDB_WORK_PATH": str(root / ".data" / "work" / "cx_value.duckdb"),
            "DBT_TARGET_PATH": str(root / "target"),
            "DBT_LOG_PATH": str(root / "logs"),
        }

    def cx_value(self, *args: str) -> subprocess.CompletedProcess[str]:
        # `python -m` from the copy imports the copy's package, whose project root is
        # the copy
        return run([sys.executable, "-m", "cx_value.cli", *args], self.root, self.env)

    def query(self, sql: str) -> list[tuple]:
        con = duckdb.connect(str(self.published), read_only=True)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()


def apply_block(target: Path, block: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(block)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    root = tmp_path_factory.mktemp("extending") / "cx-value"
    # copy2 keeps modification times, so the copy's Makefile sees the venv as set up
    shutil.copytree(
        ROOT, root,
        ignore=shutil.ignore_patterns(".venv", ".data", "target", "logs", ".git", "tests",
                                      "*.egg-info", ".pytest_cache", "__pycache__"),
    )
    (root / ".data" / "work").mkdir(parents=True)
    shutil.copytree(ROOT / "tests" / "dbt", root / "tests" / "dbt")
    blocks = readme_blocks()
    apply_block(root / "models/custom/int_referral_touchpoints.sql", blocks["touchpoint-model"])
    apply_block(root / "models/custom/_custom__models.yml", blocks["touchpoint-docs"])
    apply_block(root / "models/semantic/_custom__metrics.yml", blocks["metric"])
    project_yml = root / "dbt_project.yml"
    text = project_yml.read_text()
    declared = re.search(r"^  cx_touchpoint_models: .*$", text, re.MULTILINE)
    assert declared, "dbt_project.yml does not declare cx_touchpoint_models"
    text = text.replace(declared.group(0), "  " + blocks["touchpoint-var"].strip())
    project_yml.write_text(text)
    built = Project(root)
    result = built.cx_value("build")
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
    return built


def test_touchpoint_model_adds_every_referral(project: Project) -> None:
    """Every staged referral by a known customer before the observation date is one
    referral_made touchpoint of the referrer, in the usage stage."""
    expected = project.query(
        """
        select count(*)
        from staging.stg_crm__referrals as r
        inner join staging.stg_crm__customers as c on r.referrer_customer_id = c.customer_id
        cross join intermediate.int_observation_date as d
        where r.referred_at < d.as_of_end_at
        """
    )[0][0]
    got = project.query(
        """
        select count(*), count(distinct stage), min(stage)
        from marts.fct_journey_touchpoints where touchpoint_type = 'referral_made'
        """
    )[0]
    assert expected > 20
    assert got == (expected, 1, "usage")


def _mf(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    mf = Path(sys.executable).with_name("mf")
    # the published database, read-only: MetricFlow only reads
    return run([str(mf), *args], project.root, {**project.env, "CX_TARGET": "published"})


def test_metric_by_month_equals_the_mart(project: Project) -> None:
    """The README's metric, queried with MetricFlow, equals the detractor share summed
    from mart_stage_scores' additive counts month by month."""
    command = readme_blocks()["metric-query"].strip().split()
    assert command[:2] == ["mf", "query"]
    out = project.root / "detractors.csv"
    result = _mf(project, *command[1:], "--csv", str(out))
    assert result.returncode == 0 and out.exists(), result.stdout[-3000:] + result.stderr[-3000:]
    lines = [line.split(",") for line in out.read_text().strip().splitlines()]
    header, rows = lines[0], lines[1:]
    month = header.index("metric_time__month")
    share = header.index("detractor_share")
    got = {row[month][:10]: float(row[share]) for row in rows if row[share] not in ("", "None")}
    expected = {
        str(m): 100.0 * float(d) / float(r)
        for m, d, r in project.query(
            """
            select month_start_date, sum(detractors), sum(nps_respondents)
            from marts.mart_stage_scores group by 1 having sum(nps_respondents) > 0
            """
        )
    }
    assert len(expected) >= 6
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-9), key


def test_var_override_for_one_run(project: Project) -> None:
    """`--vars` changes one run: with a minimum sample of 100 answers every score with
    fewer is flagged too small, and the default (30) flagged fewer rows."""
    flagged_sql = "select count(*) from marts.mart_stage_scores where is_nps_too_small"
    before = project.query(flagged_sql)[0][0]
    command = readme_blocks()["var-override"].strip().split(maxsplit=3)
    assert command[:3] == ["cx-value", "build", "--vars"]
    result = project.cx_value("build", "--vars", command[3].strip("'"),
                              "--select", "mart_stage_scores")
    assert result.returncode == 0, result.stdout[-5000:]
    wrong = project.query(
        """
        select count(*) from marts.mart_stage_scores
        where is_nps_too_small != (nps_respondents < 100)
        """
    )[0][0]
    after = project.query(flagged_sql)[0][0]
    assert wrong == 0
    assert after > before


def test_slim_build_of_what_changed(project: Project) -> None:
    """`make ci-pr` after a change to one mart builds that mart and what depends on it,
    reading everything else from the published database, which it leaves untouched."""
    published_before = project.published.read_bytes()
    command = readme_blocks()["ci-pr"].strip()
    recipe = (project.root / "Makefile").read_text().split("\nci-pr:", 1)[1].split("\n\n")[0]
    for flag in ("--select state:modified+", "--defer", "--state"):
        assert flag in command and flag in recipe.replace("\\\n", " "), flag
    model = project.root / "models/marts/service/mart_service_channels.sql"
    model.write_text(model.read_text() + "\n-- a reviewed change\n")
    venv = Path(sys.executable).parent.parent
    # -o: the copy's pyproject.toml may be newer than the venv's stamp; never reinstall
    # (that would point this venv's editable install at the temporary copy)
    result = run(["make", "-o", f"{venv}/.installed", "ci-pr", f"VENV={venv}"],
                 project.root, project.env)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
    results = json.loads((project.root / "target/ci-pr/run_results.json").read_text())
    models = {r["unique_id"].split(".")[-1] for r in results["results"]
              if r["unique_id"].startswith("model.")}
    assert models == {"mart_service_channels"}
    built = [r for r in results["results"] if r["unique_id"].split(".")[0] in ("model", "test")]
    assert len(built) > 5
    assert all(r["status"] in ("success", "pass") for r in built)
    assert project.published.read_bytes() == published_before


def test_a_touchpoint_declaration_that_clashes_is_refused_by_name(project: Project) -> None:
    """Declaring a built-in touchpoint type for one's own model stops the run before any
    model is built, naming the model and the type."""
    published_before = project.published.read_bytes()
    result = project.cx_value(
        "build", "--select", "int_journey_touchpoints_unioned",
        "--vars", "{cx_touchpoint_models: {int_referral_touchpoints: [referral_made, survey]}}",
    )
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert "int_referral_touchpoints declares the built-in touchpoint type survey" in output
    assert project.published.read_bytes() == published_before
