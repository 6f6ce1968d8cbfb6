"""The churn model's fitting rule and minimum sample, on small synthetic frames.

Standard errors are checked against the closed form for one binary feature (Woolf's
standard error of a log odds ratio), separation against hand-built separated data.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from cx_value.churn import dag
from cx_value.churn.model import LABEL, fit
from cx_value.fit_status import FAILED, FITTED, NOT_ENOUGH_DATA

TRAIN_END = date(2026, 1, 1)


def _terms(columns: dict[str, np.ndarray], churned: np.ndarray,
           seed: int = 0) -> pd.DataFrame:
    """Labelled terms ending on days spread over the two years before TRAIN_END."""
    rng = np.random.default_rng(seed)
    n = churned.size
    ends = [TRAIN_END - timedelta(days=int(d)) for d in rng.integers(1, 730, size=n)]
    frame = pd.DataFrame({"subscription_id": [f"s{i}" for i in range(n)],
                          "customer_id": [f"c{i}" for i in range(n)],
                          "end_date": pd.to_datetime(ends), **columns})
    frame["outcome_date"] = frame["end_date"]
    frame["cutoff_at"] = frame["end_date"] - pd.Timedelta(days=29)
    frame[LABEL] = churned.astype(float)
    return frame


def _catalog(names: tuple[str, ...], unobserved: tuple[str, ...] = ()) -> pd.DataFrame:
    """churn_feature_catalog of numeric candidates; ``unobserved`` ones lack their source."""
    return pd.DataFrame({
        "feature": list(names), "feature_order": range(1, len(names) + 1),
        "feature_kind": ["numeric"] * len(names),
        "is_source_observed": [n not in unobserved for n in names],
        "unavailable_reason": [f"source not observed: {n}" if n in unobserved else None
                               for n in names],
    })


def test_standard_error_of_a_binary_feature_is_woolfs() -> None:
    """One binary feature: the fitted model is the 2 x 2 table, the SE of its log odds
    ratio is sqrt(1/a + 1/b + 1/c + 1/d), and per standard deviation of the feature it
    is that times the sd. 20,000 terms make the L2 penalty (C = 1) negligible."""
    rng = np.random.default_rng(7)
    x = (rng.random(20_000) < 0.4).astype(float)
    y = rng.random(x.size) < 1.0 / (1.0 + np.exp(-(-0.5 + 0.8 * x)))
    model = fit(_terms({"f": x}, y), features=("f",))
    diagnostics = model.diagnostics
    assert diagnostics is not None
    cells = [np.sum((x == i) & (y == j)) for i in (0, 1) for j in (False, True)]
    woolf = np.sqrt(np.sum(1.0 / np.array(cells, dtype=float)))
    assert diagnostics.coefficient_se[0] == pytest.approx(woolf * x.std(), rel=1e-3)
    # The saturated 2 x 2 log-likelihood, from the group churn rates.
    rates = [y[x == i].mean() for i in (0, 1)]
    expected = sum(np.sum(np.where(y[x == i], np.log(rates[i]), np.log1p(-rates[i])))
                   for i in (0, 1))
    assert diagnostics.log_likelihood == pytest.approx(expected, rel=1e-5)
    assert diagnostics.converged and not diagnostics.is_separated
    assert diagnostics.is_identified and diagnostics.warning is None
    assert (diagnostics.n_churned, diagnostics.n_renewed) == (int(y.sum()), int((~y).sum()))


def test_a_weak_feature_is_not_unidentified() -> None:
    """A feature without effect has SE > |coefficient|: imprecise, still identified."""
    rng = np.random.default_rng(11)
    x, noise = rng.normal(size=400), rng.normal(size=400)
    y = rng.random(400) < 1.0 / (1.0 + np.exp(-x))
    model = fit(_terms({"signal": x, "noise": noise}, y), features=("signal", "noise"))
    assert model.diagnostics is not None
    assert model.diagnostics.coefficient_se[1] > abs(model.coefficients[1])
    assert model.diagnostics.is_identified


def test_complete_separation_is_not_identified() -> None:
    x = np.arange(40, dtype=float)
    model = fit(_terms({"f": x}, x >= 20), features=("f",))
    assert model.diagnostics is not None
    assert model.diagnostics.is_separated and not model.diagnostics.is_identified
    assert model.diagnostics.warning == (
        "Churn model not identified: the features separate churned from renewed training "
        "terms, so some coefficients have no finite maximum-likelihood value; churn "
        "probabilities, risk bands and drivers are unreliable")


def test_quasi_complete_separation_is_not_identified() -> None:
    """Low values all renew, high values all churn, both outcomes only at the middle
    value: no finite maximum exists either."""
    x = np.repeat([0.0, 1.0, 2.0], 20)
    churned = np.r_[np.zeros(20, bool), np.arange(20) % 2 == 0, np.ones(20, bool)]
    model = fit(_terms({"f": x}, churned), features=("f",))
    assert model.diagnostics is not None and model.diagnostics.is_separated
    # Overlap at every value: identified.
    mixed = np.r_[np.arange(20) % 4 == 0, np.arange(20) % 2 == 0, np.arange(20) % 4 != 0]
    overlapping = fit(_terms({"f": x}, mixed), features=("f",))
    assert overlapping.diagnostics is not None
    assert not overlapping.diagnostics.is_separated and overlapping.diagnostics.is_identified


def test_collinear_features_are_not_identified() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=300)
    y = rng.random(300) < 0.4
    model = fit(_terms({"f": x, "g": 2.0 * x + 1.0}, y), features=("f", "g"))
    assert model.diagnostics is not None
    assert not model.diagnostics.is_identified
    assert np.isnan(model.diagnostics.coefficient_se).all()
    assert "collinear" in (model.diagnostics.warning or "")


def test_one_class_only_is_not_enough_data() -> None:
    rng = np.random.default_rng(5)
    frame = _terms({"f": rng.normal(size=50)}, np.zeros(50, bool))
    result = dag.fit_coefficients(frame, _catalog(("f", "g")), TRAIN_END)
    table = result.coefficients
    assert result.model is None
    assert list(table.columns) == list(dag.COEFFICIENT_COLUMNS)
    assert table["feature"].tolist() == ["f", "g"]  # every candidate feature has a row
    assert (table["status"] == NOT_ENOUGH_DATA).all()
    assert table["coefficient"].isna().all() and table["intercept"].isna().all()
    assert (table["n_train"] == 50).all() and (table["n_churned"] == 0).all()
    assert table["status_reason"].iloc[0] == (
        "needs at least 10 churned and 10 renewed training terms, found 0 churned and 50 "
        "renewed")
    assert not table["is_identified"].any()
    assert table["warning"].iloc[0].startswith("Churn model not fitted, not enough data: ")


def test_empty_features_are_not_enough_data() -> None:
    empty = pd.DataFrame({"end_date": pd.Series(dtype="datetime64[ns]"),
                          "outcome_date": pd.Series(dtype="datetime64[ns]"),
                          LABEL: pd.Series(dtype=float), "f": pd.Series(dtype=float)})
    for train_end in (None, TRAIN_END):
        table = dag.fit_coefficients(empty, _catalog(("f",)), train_end).coefficients
        assert len(table) == 1 and table["status"].iloc[0] == NOT_ENOUGH_DATA
        assert table["n_train"].iloc[0] == 0


def test_a_fit_that_raises_is_reported_as_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object, **__: object) -> None:
        raise FloatingPointError("overflow in exp")

    monkeypatch.setattr(dag, "fit", broken)
    rng = np.random.default_rng(9)
    frame = _terms({"f": rng.normal(size=60)}, rng.random(60) < 0.5)
    table = dag.fit_coefficients(frame, _catalog(("f",)), TRAIN_END).coefficients
    assert table["status"].tolist() == [FAILED]
    assert table["status_reason"].iloc[0] == "FloatingPointError: overflow in exp"


def test_fitted_table_carries_diagnostics() -> None:
    rng = np.random.default_rng(13)
    x = rng.normal(size=300)
    y = rng.random(300) < 1.0 / (1.0 + np.exp(-x))
    table = dag.fit_coefficients(_terms({"f": x}, y), _catalog(("f",)), TRAIN_END).coefficients
    row = table.iloc[0]
    assert row["status"] == FITTED and row["status_reason"] is None
    assert row["converged"] and row["is_identified"] and row["warning"] is None
    assert row["standard_error"] > 0 and row["intercept_standard_error"] > 0
    assert row["n_train"] == row["n_churned"] + row["n_renewed"] == 300
    assert row["log_likelihood"] < 0


def test_candidates_the_fit_cannot_use_are_listed_with_the_reason() -> None:
    """A feature whose source was not observed, one that never varies and one with no
    value each get a row with is_used false and why; the used one has its coefficient."""
    rng = np.random.default_rng(17)
    x = rng.normal(size=300)
    y = rng.random(300) < 1.0 / (1.0 + np.exp(-x))
    frame = _terms({"f": x, "flat": np.ones(300), "empty": np.full(300, np.nan),
                    "gone": np.full(300, np.nan)}, y)
    table = dag.fit_coefficients(frame, _catalog(("f", "flat", "empty", "gone"), ("gone",)),
                                 TRAIN_END).coefficients.set_index("feature")
    assert table.loc["f", "is_used"] and pd.isna(table.loc["f", "drop_reason"])
    assert table.loc["flat", "drop_reason"] == (
        "fewer than 1% of the training terms differ from its most common value")
    assert table.loc["empty", "drop_reason"] == "no value in the training terms"
    assert table.loc["gone", "drop_reason"] == "source not observed: gone"
    assert not table.loc[["flat", "empty", "gone"], "is_used"].any()
    assert table.loc[["flat", "empty", "gone"], "coefficient"].isna().all()
    assert (table["status"] == FITTED).all()


def test_the_fit_and_backtest_do_not_depend_on_the_order_of_the_rows() -> None:
    # the warehouse hands terms over in any order: the same terms must give the same
    # coefficients, means and backtest to the bit
    rng = np.random.default_rng(11)
    n = 600
    x = rng.normal(size=n)
    g = rng.normal(size=n) * 3.0 + 10.0
    y = rng.random(n) < 1.0 / (1.0 + np.exp(-(0.8 * x - 0.3)))
    frame = _terms({"f": x, "g": g}, y)
    shuffled = frame.sample(frac=1.0, random_state=3).reset_index(drop=True)
    assert not frame["subscription_id"].equals(shuffled["subscription_id"])
    catalog = _catalog(("f", "g"))
    first = dag.fit_coefficients(frame, catalog, TRAIN_END).coefficients
    again = dag.fit_coefficients(shuffled, catalog, TRAIN_END).coefficients
    pd.testing.assert_frame_equal(first, again, check_exact=True)
    pd.testing.assert_frame_equal(dag.backtest_table(frame, catalog),
                                  dag.backtest_table(shuffled, catalog), check_exact=True)
