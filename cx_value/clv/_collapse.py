"""Collapse identical customer histories into weighted rows before fitting."""

from __future__ import annotations

import numpy as np


def collapse(columns: tuple[np.ndarray, ...],
             weights: np.ndarray | None = None) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """Distinct rows of ``columns`` (sorted) and the summed weight of each.

    The log-likelihood of a model of independent customers is a sum over customers,
    so customers with the same history contribute identically: fitting the distinct
    histories weighted by their counts gives exactly the same estimates, at a cost
    that grows with the number of distinct histories instead of customers.
    """
    cols = [np.asarray(c, dtype=float).ravel() for c in columns]
    # One lexsort and neighbour comparisons: several times faster than
    # np.unique(axis=0), which sorts rows as opaque byte strings.
    order = np.lexsort(cols[::-1])
    sorted_cols = [c[order] for c in cols]
    starts = np.zeros(order.size, dtype=bool)
    starts[:1] = True
    for c in sorted_cols:
        starts[1:] |= c[1:] != c[:-1]
    group = np.cumsum(starts) - 1
    if weights is None:
        total = np.bincount(group).astype(float)
    else:
        w = np.asarray(weights, dtype=float).ravel()[order]
        total = np.bincount(group, weights=w)
    return tuple(c[starts] for c in sorted_cols), total
