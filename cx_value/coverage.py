"""Which raw tables feed which marts, read from the project's own model files.

Two questions a user asks before and after a build on an export that lacks some
sources: which areas does each raw table feed, and which marts will be empty
without it. The first comes from the DAG (``ref()`` and ``cx_source()`` calls in
``models/``); the second from each public mart's ``meta.cx_needs`` in its yml: the
raw tables its rows come from. A subset-build test holds every ``cx_needs`` to what
the built marts actually contain, so the declaration cannot drift from the SQL.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from cx_value.contract import TABLES

_REF = re.compile(r"""\bref\(\s*['"](\w+)['"]\s*\)""")
_SOURCE = re.compile(r"""\bcx_source\(\s*['"](\w+)['"]\s*,\s*['"](\w+)['"]\s*\)""")

# Models that read every raw table for bookkeeping (row counts, the observation
# date, the calendar), not for figures: following them would make every mart depend
# on every table.
BOOKKEEPING_MODELS = frozenset({
    "int_raw_rows_reconciled",
    "int_rejected_rows_unioned",
    "int_raw_tables_observed",
    "int_observation_date",
    "dim_dates",
    "mart_data_coverage",
    "mart_model_diagnostics",
})


@dataclass(frozen=True)
class Need:
    """One requirement of a mart's rows: any one of ``tables`` must be observed."""

    tables: tuple[str, ...]

    def met_by(self, observed: Iterable[str]) -> bool:
        return bool(set(self.tables) & set(observed))

    def __str__(self) -> str:
        return " or ".join(self.tables)


@dataclass(frozen=True)
class Mart:
    """A public mart: its area (folder under models/marts) and what its rows need."""

    name: str
    area: str
    needs: tuple[Need, ...]

    def missing(self, observed: Iterable[str]) -> tuple[Need, ...]:
        """The needs the observed tables do not meet: the reasons the mart is empty."""
        seen = set(observed)
        return tuple(need for need in self.needs if not need.met_by(seen))


def _model_files(project_root: Path) -> dict[str, Path]:
    models = project_root / "models"
    return {
        path.stem: path
        for path in sorted([*models.rglob("*.sql"), *models.rglob("*.py")])
    }


def public_marts(project_root: Path) -> dict[str, Mart]:
    """Every model under models/marts with its ``meta.cx_needs`` (empty when undeclared)."""
    marts_dir = project_root / "models" / "marts"
    files = {stem: path for stem, path in _model_files(project_root).items()
             if marts_dir in path.parents}
    needs: dict[str, tuple[Need, ...]] = {}
    known = {t.name for t in TABLES}
    for yml in sorted(marts_dir.rglob("*.yml")):
        for model in (yaml.safe_load(yml.read_text()) or {}).get("models", []) or []:
            meta = (model.get("config") or {}).get("meta") or {}
            declared = meta.get("cx_needs") or []
            parsed = tuple(Need(tuple(t.strip() for t in str(item).split("|")))
                           for item in declared)
            unknown = {t for need in parsed for t in need.tables} - known
            if unknown:
                raise ValueError(f"{yml}: {model['name']} needs unknown tables {sorted(unknown)}")
            needs[model["name"]] = parsed
    return {
        name: Mart(name, path.parent.name, needs.get(name, ()))
        for name, path in files.items()
    }


def tables_feeding(project_root: Path) -> dict[str, tuple[str, ...]]:
    """For each raw table, the public marts downstream of it (bookkeeping models skipped)."""
    files = _model_files(project_root)
    children: dict[str, set[str]] = defaultdict(set)
    reads: dict[str, set[str]] = defaultdict(set)
    for name, path in files.items():
        text = path.read_text()
        for parent in _REF.findall(text):
            children[parent].add(name)
        for _source, table in _SOURCE.findall(text):
            reads[table].add(name)
    marts = public_marts(project_root)
    feeding: dict[str, tuple[str, ...]] = {}
    for table in (t.name for t in TABLES):
        seen: set[str] = set()
        frontier = [m for m in reads.get(table, ()) if m not in BOOKKEEPING_MODELS]
        while frontier:
            node = frontier.pop()
            if node in seen:
                continue
            seen.add(node)
            frontier.extend(c for c in children.get(node, ()) if c not in BOOKKEEPING_MODELS)
        feeding[table] = tuple(sorted(m for m in seen if m in marts))
    return feeding


def areas_fed(project_root: Path) -> dict[str, tuple[str, ...]]:
    """For each raw table, the mart areas (folders under models/marts) it feeds."""
    marts = public_marts(project_root)
    return {
        table: tuple(sorted({marts[m].area for m in fed}))
        for table, fed in tables_feeding(project_root).items()
    }


def empty_marts(
    project_root: Path, observed: Iterable[str]
) -> dict[str, tuple[Need, ...]]:
    """Marts whose declared needs the observed tables do not meet, with the unmet needs."""
    seen = set(observed)
    return {
        name: missing
        for name, mart in sorted(public_marts(project_root).items())
        if (missing := mart.missing(seen))
    }


def describe_needs(missing: Mapping[str, tuple[Need, ...]]) -> dict[str, str]:
    """Plain-language reason per mart: 'needs orders; needs events or survey_responses'."""
    return {name: "; ".join(f"needs {need}" for need in needs) for name, needs in missing.items()}
