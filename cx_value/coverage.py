"""Which raw tables feed which marts, read from the project's own model files.

Two questions a user asks before and after a build on an export that lacks some
sources: which areas does each raw table feed, and which marts will be empty
without it. The first comes from the DAG (``ref()`` and ``cx_source()`` calls in
``models/``); the second from each public mart's ``meta.cx_needs`` in its yml: the
raw tables its rows come from (``a|b``: either will do), or ``meta.cx_needs_one_of``:
several such lists, any one of which will do. A subset-build test holds every ``cx_needs`` to what
the built marts actually contain, so the declaration cannot drift from the SQL.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
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
# The customer dimension carries journey columns from many tables, and most models
# read it only for the customer's attributes (segment, type), which come from the
# customers table: it is reached, but only `customers` is followed through it.
DIMENSION_MODELS = frozenset({"dim_customers"})


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
    """A public mart: its area (folder under models/marts) and what its rows need.

    ``alternatives`` holds one or more sets of needs; the mart has rows when every need
    of at least one set is met. No alternatives: rows whatever the data.
    """

    name: str
    area: str
    alternatives: tuple[tuple[Need, ...], ...] = ()

    def has_rows_with(self, observed: Iterable[str]) -> bool:
        seen = set(observed)
        return not self.alternatives or any(
            all(need.met_by(seen) for need in needs) for needs in self.alternatives
        )

    def missing(self, observed: Iterable[str]) -> tuple[Need, ...]:
        """Unmet needs (of the closest alternative): the reasons the mart is empty."""
        seen = set(observed)
        if self.has_rows_with(seen):
            return ()
        unmet = [tuple(n for n in needs if not n.met_by(seen)) for needs in self.alternatives]
        return min(unmet, key=len)

    def describe_needs(self) -> str:
        """'orders and order_lines', or 'survey_responses; or events; or ...'."""
        def part(need: Need, alone: bool) -> str:
            return str(need) if alone or len(need.tables) == 1 else f"({need})"

        return "; or ".join(
            " and ".join(part(need, len(needs) == 1) for need in needs)
            for needs in self.alternatives
        )


def _model_files(project_root: Path) -> dict[str, Path]:
    models = project_root / "models"
    return {
        path.stem: path
        for path in sorted([*models.rglob("*.sql"), *models.rglob("*.py")])
    }


def public_marts(project_root: Path) -> dict[str, Mart]:
    """Every model under models/marts with its ``meta.cx_needs`` (empty when undeclared):
    the public marts (``access: public``) and the fitted models' tables beside them, all
    of which must have rows exactly when their raw tables do."""
    marts_dir = project_root / "models" / "marts"
    files = {stem: path for stem, path in _model_files(project_root).items()
             if marts_dir in path.parents}
    alternatives: dict[str, tuple[tuple[Need, ...], ...]] = {}
    known = {t.name for t in TABLES}
    for yml in sorted(marts_dir.rglob("*.yml")):
        for model in (yaml.safe_load(yml.read_text()) or {}).get("models", []) or []:
            meta = (model.get("config") or {}).get("meta") or {}
            sets = ([meta["cx_needs"]] if meta.get("cx_needs")
                    else list(meta.get("cx_needs_one_of") or []))
            parsed = tuple(
                tuple(Need(tuple(t.strip() for t in str(item).split("|"))) for item in needs)
                for needs in sets
            )
            unknown = {t for needs in parsed for need in needs for t in need.tables} - known
            if unknown:
                raise ValueError(f"{yml}: {model['name']} needs unknown tables {sorted(unknown)}")
            alternatives[model["name"]] = parsed
    return {
        name: Mart(name, path.parent.name, alternatives.get(name, ()))
        for name, path in files.items()
    }


def tables_feeding(
    project_root: Path, marts: dict[str, Mart] | None = None
) -> dict[str, tuple[str, ...]]:
    """For each raw table, the public marts downstream of it (bookkeeping models skipped,
    the customer dimension followed for `customers` only). ``marts``: public_marts(), if
    the caller has read them already."""
    files = _model_files(project_root)
    children: dict[str, set[str]] = defaultdict(set)
    reads: dict[str, set[str]] = defaultdict(set)
    for name, path in files.items():
        text = path.read_text()
        for parent in _REF.findall(text):
            children[parent].add(name)
        for _source, table in _SOURCE.findall(text):
            reads[table].add(name)
    marts = public_marts(project_root) if marts is None else marts
    feeding: dict[str, tuple[str, ...]] = {}
    for table in (t.name for t in TABLES):
        seen: set[str] = set()
        frontier = [m for m in reads.get(table, ()) if m not in BOOKKEEPING_MODELS]
        while frontier:
            node = frontier.pop()
            if node in seen:
                continue
            seen.add(node)
            if node in DIMENSION_MODELS and table != "customers":
                continue
            frontier.extend(c for c in children.get(node, ()) if c not in BOOKKEEPING_MODELS)
        feeding[table] = tuple(sorted(m for m in seen if m in marts))
    return feeding


def areas_fed(project_root: Path) -> dict[str, tuple[str, ...]]:
    """For each raw table, the mart areas (folders under models/marts) it feeds."""
    marts = public_marts(project_root)
    return {
        table: tuple(sorted({marts[m].area for m in fed}))
        for table, fed in tables_feeding(project_root, marts).items()
    }


def empty_marts(project_root: Path, observed: Iterable[str]) -> dict[str, str]:
    """Marts whose needs the observed tables do not meet, each with a plain reason."""
    seen = set(observed)
    return {
        name: f"needs {mart.describe_needs()}"
        for name, mart in sorted(public_marts(project_root).items())
        if not mart.has_rows_with(seen)
    }
