"""What the last dbt run says about the project's models (target/manifest.json).

The public marts (``access: public``) are the contract with BI tools: they are the
tables the gate validates as marts, the Parquet exports and the dashboard's inputs.
Reading the list from the manifest keeps one definition of it, the dbt properties.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class ModelInfo:
    """One dbt model as the manifest describes it."""

    name: str
    access: str
    group: str | None
    materialized: str
    columns: dict[str, str]  # column name -> declared data_type ('' when none)
    tags: tuple[str, ...]


def target_dir(project_root: Path = PROJECT_ROOT) -> Path:
    """dbt's target folder: DBT_TARGET_PATH when set (relative to the project), else target/."""
    configured = os.environ.get("DBT_TARGET_PATH")
    if not configured:
        return project_root / "target"
    path = Path(configured)
    return path if path.is_absolute() else project_root / path


def models(manifest_path: Path | None = None) -> list[ModelInfo]:
    """Every model of this project in the manifest, in name order."""
    path = manifest_path or target_dir() / "manifest.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no dbt manifest; run `cx-value build` or `dbt parse`")
    manifest = json.loads(path.read_text())
    found = [
        ModelInfo(
            name=node["name"],
            access=node.get("access") or "protected",
            group=node.get("group"),
            materialized=node["config"].get("materialized", ""),
            columns={c: (v.get("data_type") or "") for c, v in node.get("columns", {}).items()},
            tags=tuple(node.get("tags", ())),
        )
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["package_name"] == "cx_value"
    ]
    return sorted(found, key=lambda m: m.name)


def public_marts(manifest_path: Path | None = None) -> list[ModelInfo]:
    """The models BI tools may rely on: ``access: public``."""
    return [m for m in models(manifest_path) if m.access == "public"]
