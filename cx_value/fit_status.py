"""Status vocabulary of the fitted models in the warehouse, and typing of their tables.

Every fitted model (BG/NBD, Gamma-Gamma, sBG, churn logistic) writes its parameter rows
with one of three statuses, so that scoring downstream yields NULL with a reason instead
of failing:

- ``fitted``: the model was fitted; its diagnostics say whether it is identified;
- ``not_enough_data``: the sample is below the model's documented minimum, nothing was
  fitted (the reason gives the counts);
- ``failed``: the fit was attempted and raised an error (the reason gives it).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

FITTED = "fitted"
NOT_ENOUGH_DATA = "not_enough_data"
FAILED = "failed"
STATUSES: tuple[str, ...] = (FITTED, NOT_ENOUGH_DATA, FAILED)


def not_fitted_warning(model: str, status: str, reason: str, consequence: str) -> str:
    """Plain-language warning of a model that was not fitted (``status`` not ``fitted``).

    One sentence without a final full stop, like the identification warnings, so that
    several can be joined with ". ".
    """
    if status == NOT_ENOUGH_DATA:
        return f"{model} not fitted, not enough data: {reason}; {consequence}"
    return f"{model} not fitted, the fit failed ({reason}); {consequence}"


def failure_reason(error: Exception) -> str:
    """The reason text of a fit that raised ``error``."""
    return f"{type(error).__name__}: {error}"


def finite_or_none(values: object) -> list[float | None]:
    """Values as floats, with NaN and ±inf as None, so they land in SQL as NULL."""
    array = np.atleast_1d(np.asarray(values, dtype=float))
    return [float(v) if np.isfinite(v) else None for v in array]


def cast_projection(column_types: Mapping[str, str]) -> str:
    """``cast(col as type) as col, ...``: types a Python model's output in SQL, so that an
    empty frame or an all-NULL column still gets the declared types."""
    return ", ".join(f"cast({name} as {sql_type}) as {name}"
                     for name, sql_type in column_types.items())


def empty_frame(column_types: Mapping[str, str]) -> pd.DataFrame:
    """A frame with the given columns and no rows (object dtype; typed by the projection)."""
    return pd.DataFrame({name: pd.Series(dtype=object) for name in column_types})


def in_key_order(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """``frame`` sorted by ``key`` (when it has that column). The warehouse hands a
    Python model its rows in any order, and a fit's sums, means and optimiser steps
    depend on the order in the last bits: sorted, the same data gives the same
    parameters, scores and exports on every run."""
    if key not in frame.columns:
        return frame
    return frame.sort_values(key, kind="stable").reset_index(drop=True)
