"""Row-for-row comparison of two builds of the same table.

Two builds of one DAG (DuckDB and Spark; an incremental run and a full refresh) must
give the same rows. Order is not part of a table, so both sides are sorted on every
column first; floating-point aggregates may differ in the last digits (parallel sums),
so numbers compare within a relative tolerance. Everything else compares exactly, and a
NULL equals only a NULL: a figure on one side and "unknown" on the other is a
difference, never rounded away.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

REL_TOL = 1e-9
# Sums that should be 0 come out as 1e-13 on one side and 0 on the other: an absolute
# tolerance far below any amount, score or share the marts hold.
ABS_TOL = 1e-9


@dataclass(frozen=True)
class Difference:
    """One way two tables differ: what, where, and an example."""

    table: str
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.table}: {self.kind}: {self.detail}"


def _normalise(value: object) -> object:
    """One comparable form per value: Decimal and int as float, datetime without zone."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, Decimal | int):
        return float(value)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _sort_key(row: Sequence[object]) -> tuple:
    # NULLs first, then by type name so that mixed columns still sort deterministically;
    # floats are rounded for sorting only, so tolerance-equal rows land side by side
    key = []
    for value in row:
        if value is None:
            key.append((0, "", 0))
        elif isinstance(value, float):
            key.append((1, "number", float(f"{value:.6g}")))
        elif isinstance(value, date | datetime):
            key.append((1, "time", value.isoformat()))
        else:
            key.append((1, type(value).__name__, value))
    return tuple(key)


def values_equal(left: object, right: object, rel_tol: float = REL_TOL) -> bool:
    """Whether two normalised cell values are the same (numbers within ``rel_tol``)."""
    if left is None or right is None:
        return left is None and right is None
    if isinstance(left, float) and isinstance(right, float):
        return math.isclose(left, right, rel_tol=rel_tol, abs_tol=ABS_TOL)
    return left == right


def compare_rows(
    table: str,
    columns: Sequence[str],
    left: Sequence[Sequence[object]],
    right: Sequence[Sequence[object]],
    rel_tol: float = REL_TOL,
    limit: int = 5,
) -> list[Difference]:
    """The differences between two row sets of ``table`` with the same ``columns``.

    Returns an empty list when they hold the same rows (as multisets; numbers within
    ``rel_tol``), else up to ``limit`` examples of differing rows, each naming the
    columns that differ.
    """
    if len(left) != len(right):
        return [Difference(table, "row count", f"{len(left)} != {len(right)}")]
    left_rows = sorted(([_normalise(v) for v in row] for row in left), key=_sort_key)
    right_rows = sorted(([_normalise(v) for v in row] for row in right), key=_sort_key)
    differences: list[Difference] = []
    for left_row, right_row in zip(left_rows, right_rows, strict=True):
        differing = [
            f"{name}: {a!r} != {b!r}"
            for name, a, b in zip(columns, left_row, right_row, strict=True)
            if not values_equal(a, b, rel_tol)
        ]
        if differing:
            differences.append(Difference(table, "row", "; ".join(differing)))
            if len(differences) >= limit:
                break
    return differences


def compare_column_names(table: str, left: Sequence[str], right: Sequence[str]) -> list[Difference]:
    """A difference when the two sides do not have the same columns in the same order."""
    left_names = [name.lower() for name in left]
    right_names = [name.lower() for name in right]
    if left_names == right_names:
        return []
    return [Difference(table, "columns", f"{left_names} != {right_names}")]
