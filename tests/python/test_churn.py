"""The churn model on frames shaped like int_contract_term_features, with planted truth.

Feature values are the warehouse's (held to hand-worked cases by the dbt unit tests of
int_contract_term_features); here the fit, its one-hot encoding and the backtest are
checked on terms drawn from a planted logistic model.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from cx_value.churn import (
    CATEGORICAL,
    Feature,
    calibration_table,
    design_columns,
    encode,
    fit,
    grouped_cv,
    honest_backtest,
    risk_band,
    score,
    split_date,
    time_split,
    top_drivers,
)
from cx_value.churn.model import LABEL

START = date(2023, 1, 1)
PLANTED_INTERCEPT = -1.0
PLANTED_FEE = 0.8          # log-odds per unit of the standardised fee
PLANTED_METHOD = {"card": 0.0, "electronic_check": 1.2, "bank_transfer": -0.4}
METHOD_SHARES = {"card": 0.5, "electronic_check": 0.3, "bank_transfer": 0.2}


def planted_terms(n: int, seed: int = 1, churn_days: int = 720) -> pd.DataFrame:
    """``n`` terms of ``n // 2`` customers (two terms each) with a standard-normal ``fee``
    and a ``method``; churn ~ Bernoulli(logistic(planted log-odds)). Outcomes fall
    uniformly over ``churn_days`` days from START (all on one day when 1); each term is
    cut off 30 days before its outcome."""
    rng = np.random.default_rng(seed)
    fee = rng.normal(size=n)
    method = rng.choice(list(METHOD_SHARES), size=n, p=list(METHOD_SHARES.values()))
    log_odds = (PLANTED_INTERCEPT + PLANTED_FEE * fee
                + np.array([PLANTED_METHOD[m] for m in method]))
    p = 1.0 / (1.0 + np.exp(-log_odds))
    outcome = pd.to_datetime(START) + pd.to_timedelta(rng.integers(0, churn_days, size=n), "D")
    return pd.DataFrame({
        "subscription_id": [f"s{i}" for i in range(n)],
        "customer_id": [f"c{i // 2}" for i in range(n)],
        "end_date": outcome,
        "outcome_date": outcome,
        "cutoff_at": outcome - pd.Timedelta(days=30),
        "fee": fee,
        "method": method,
        "planted_p": p,
        LABEL: (rng.random(n) < p).astype(float),
    })


FEATURES = (Feature("fee"), Feature("method", CATEGORICAL))


# ------------------------------------------------------------------ one-hot encoding


def test_one_hot_against_the_most_frequent_category() -> None:
    train = pd.DataFrame({"m": ["b", "a", "b", None, "c", "b", "a"]})
    columns, references = design_columns(train, [Feature("m", CATEGORICAL)])
    assert references == {"m": "b"}  # 3 of 6 known values
    assert [(c.name, c.category) for c in columns] == [("m=a", "a"), ("m=c", "c")]
    later = pd.DataFrame({"m": ["a", "b", None, "never_seen"]})
    x = encode(later, columns)
    assert x["m=a"].tolist()[:2] == [1.0, 0.0] and x["m=c"].tolist()[:2] == [0.0, 0.0]
    # unknown: no value, so it contributes nothing; unseen: scored as the reference
    assert x.iloc[2].isna().all()
    assert x.iloc[3].tolist() == [0.0, 0.0]


def test_fit_recovers_the_planted_coefficients() -> None:
    """40,000 terms: each coefficient per sd of its column, divided by that sd, is the
    planted log-odds effect within 4 standard errors (the L2 penalty C = 1 is
    negligible at this size)."""
    terms = planted_terms(40_000)
    model = fit(terms, FEATURES)
    assert model.references == {"method": "card"}
    sd = model.pipeline.named_steps["scale"].scale_
    diagnostics = model.diagnostics
    assert diagnostics is not None and diagnostics.is_identified
    for i, name in enumerate(model.features):
        planted = PLANTED_FEE if name == "fee" else PLANTED_METHOD[name.split("=")[1]]
        per_unit = model.coefficients[i] / sd[i]
        assert abs(per_unit - planted) < 4 * diagnostics.coefficient_se[i] / sd[i], name
    assert set(model.features) == {"fee", "method=electronic_check", "method=bank_transfer"}


# ------------------------------------------------------------------ backtest


def test_time_split_when_churn_spreads_over_time() -> None:
    terms = planted_terms(6_000)
    result = honest_backtest(terms, FEATURES)
    assert result.status == "run" and result.method == "time_split" and result.reason is None
    split = split_date(terms)
    assert result.split_date == split
    train, test = time_split(terms, split)
    assert result.n_train == len(train) and result.n_test == len(test)
    # nothing learnt from is scored, and nothing learnt was decided after the split
    assert set(train["subscription_id"]).isdisjoint(test["subscription_id"])
    assert (pd.to_datetime(train["outcome_date"]) < pd.Timestamp(split)).all()
    assert (pd.to_datetime(test["cutoff_at"]) >= pd.Timestamp(split)).all()
    assert len(test) == pytest.approx(0.3 * len(terms), rel=0.05)
    # ranks nearly as well as the planted probabilities themselves
    planted_auc = roc_auc_score(test[LABEL], test["planted_p"])
    assert result.auc is not None and result.auc > planted_auc - 0.02
    base = result.base_rate
    assert base == pytest.approx(test[LABEL].mean())
    assert result.brier is not None and result.brier < base * (1 - base)
    cal = result.calibration
    assert cal is not None and len(cal) == 10 and cal["terms"].sum() == len(test)
    assert (cal["mean_predicted"] - cal["observed"]).abs().max() < 0.08


def test_grouped_cross_validation_when_churn_falls_in_one_window() -> None:
    """Every outcome on one day: a time split has nothing to learn from, so the terms
    are cross-validated in folds grouped by customer."""
    terms = planted_terms(4_000, churn_days=1)
    result = honest_backtest(terms, FEATURES)
    assert result.status == "run" and result.method == "grouped_cv"
    assert result.n_folds == 5 and result.n_test == len(terms)
    assert result.split_date is None
    planted_auc = roc_auc_score(terms[LABEL], terms["planted_p"])
    assert result.auc is not None and result.auc > planted_auc - 0.03
    assert np.isfinite([result.auc, result.brier, result.base_rate]).all()


def test_grouped_folds_keep_a_customer_together(monkeypatch: pytest.MonkeyPatch) -> None:
    """A model scoring a fold never trained on a customer of that fold."""
    terms = planted_terms(600, churn_days=1)
    seen: list[tuple[set[str], set[str]]] = []
    real_fit = fit

    def recording_fit(train: pd.DataFrame, features: object) -> object:
        seen.append((set(train["customer_id"]), set()))
        return real_fit(train, features)  # type: ignore[arg-type]

    import cx_value.churn.model as model_module
    monkeypatch.setattr(model_module, "fit", recording_fit)
    p = grouped_cv(terms, FEATURES)
    assert np.isfinite(p).all()
    assert len(seen) == 5
    scored_by_fold = [set(terms["customer_id"]) - trained for trained, _ in seen]
    # each customer is left out of exactly one training fold
    counts = pd.Series([c for fold in scored_by_fold for c in fold]).value_counts()
    assert (counts == 1).all() and len(counts) == terms["customer_id"].nunique()


def test_no_backtest_says_why() -> None:
    terms = planted_terms(20, churn_days=1)  # fewer than 10 churned
    result = honest_backtest(terms, FEATURES)
    assert result.status == "not_run" and result.method is None
    assert result.auc is None and result.brier is None
    assert result.reason is not None
    assert result.reason.startswith("no time split: the training window needs at least 10")
    assert "grouped cross-validation needs at least 10 churned" in result.reason
    empty = honest_backtest(terms.iloc[0:0], FEATURES)
    assert empty.status == "not_run" and empty.reason == "no labelled terms"


def test_unlabelled_terms_are_never_learnt_or_scored_in_the_backtest() -> None:
    terms = planted_terms(6_000)
    open_terms = terms.sample(500, random_state=0).index
    terms.loc[open_terms, [LABEL, "outcome_date"]] = [np.nan, pd.NaT]
    result = honest_backtest(terms, FEATURES)
    assert result.scored is not None
    assert not set(result.scored["subscription_id"]) & set(terms.loc[open_terms,
                                                                     "subscription_id"])


# ------------------------------------------------------------------ scoring helpers


def test_score_names_the_category_that_raises_the_risk() -> None:
    terms = planted_terms(20_000)
    model = fit(terms, FEATURES)
    one = pd.DataFrame({"subscription_id": ["x"], "fee": [0.0],
                        "method": ["electronic_check"]})
    scored = score(model, one)
    assert scored["driver_1"].iloc[0] == "method=electronic_check"


def test_risk_band_thresholds() -> None:
    bands = risk_band([0.0, 0.29, 0.30, 0.49, 0.50, 1.0])
    assert bands.tolist() == ["low", "low", "medium", "medium", "high", "high"]
    assert risk_band([0.2], (0.1, 0.15)).tolist() == ["high"]
    with pytest.raises(ValueError):
        risk_band([0.5], (0.6, 0.4))


def test_top_drivers_take_positive_contributions_only() -> None:
    contrib = np.array([[0.5, -0.2, 0.1, 0.9], [-0.1, -0.3, -0.2, -0.4]])
    drivers = top_drivers(contrib, ["a", "b", "c", "d"], k=3)
    assert drivers == [["d", "a", "c"], [None, None, None]]


def test_calibration_table_deciles() -> None:
    p = np.linspace(0.05, 0.95, 100)
    y = (p > 0.5).astype(float)
    cal = calibration_table(p, y, bins=10)
    assert cal["terms"].tolist() == [10] * 10
    assert cal["observed"].tolist() == [0.0] * 5 + [1.0] * 5
    assert np.isclose(cal["mean_predicted"].mean(), p.mean())


def test_split_date_holds_out_the_latest_terms() -> None:
    terms = pd.DataFrame({"cutoff_at": pd.date_range("2024-01-01", periods=10, freq="D")})
    assert split_date(terms, 0.3) == date(2024, 1, 8)
    assert split_date(terms, 0.3) - timedelta(days=7) == date(2024, 1, 1)
