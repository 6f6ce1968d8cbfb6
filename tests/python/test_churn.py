"""Churn-risk features and model on generated data with planted renewal drivers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from cx_value.churn import (
    FEATURE_DESCRIPTIONS,
    FEATURES,
    Backtest,
    Timing,
    backtest,
    calibration_table,
    features_from_raw_files,
    latest_training_end,
    raw_file_views,
    risk_band,
    term_features,
    time_split,
    top_drivers,
    typed_raw_views,
)
from cx_value.generate import generate

CUSTOMERS = 40_000
SEED = 42
PLANTED_DRIVERS = {"is_detractor_in_term", "has_unresolved_complaint", "web_sessions_drop"}


@dataclass(frozen=True)
class Data:
    raw_dir: Path
    history_start: date
    test_start: date
    test_end: date
    features: pd.DataFrame
    terms: pd.DataFrame
    result: Backtest
    test: pd.DataFrame


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Data:
    raw_dir = tmp_path_factory.mktemp("churn_raw")
    generate(raw_dir, customers=CUSTOMERS, seed=SEED, fmt="parquet", dirty_share=0.0)
    calendar = json.loads((raw_dir / "_truth" / "truth.json").read_text())["calendar"]
    history_start = date.fromisoformat(calendar["history_start"])
    test_start = date.fromisoformat(calendar["outcome_window_start"])
    test_end = date.fromisoformat(calendar["outcome_window_end_exclusive"])
    features = features_from_raw_files(raw_dir, history_start, test_end)
    train, test = time_split(features, history_start, latest_training_end(test_start),
                             test_start, test_end)
    return Data(
        raw_dir=raw_dir, history_start=history_start, test_start=test_start,
        test_end=test_end, features=features,
        terms=pd.read_parquet(raw_dir / "_truth" / "terms.parquet"),
        result=backtest(train, test), test=test,
    )


# ------------------------------------------------------------------ features


def test_one_row_per_term_with_every_feature(data: Data) -> None:
    f = data.features
    assert f["subscription_id"].is_unique
    assert set(FEATURES) <= set(f.columns)
    assert set(FEATURE_DESCRIPTIONS) == set(FEATURES)
    decided = data.terms[data.terms["decided"]]
    assert set(f["subscription_id"]) == set(decided["subscription_id"])
    for flag in ("is_detractor_in_term", "has_unresolved_complaint", "is_churned"):
        assert set(f[flag].unique()) <= {0, 1}
    assert f["fcr_share"].dropna().between(0, 1).all()
    assert f["latest_nps"].dropna().between(0, 10).all()
    assert f["csat_mean"].dropna().between(1, 5).all()
    assert f["ces_mean"].dropna().between(1, 7).all()
    assert f["discount_depth"].dropna().between(0, 1).all()


def test_label_is_the_planted_renewal(data: Data) -> None:
    m = data.features.merge(data.terms, on="subscription_id", validate="one_to_one")
    assert (m["is_churned"] == (~m["renewed"]).astype(int)).all()


def test_features_recover_the_planted_drivers(data: Data) -> None:
    """The planted flags are measured at the term's end, the features 30 days earlier."""
    m = data.features.merge(data.terms, on="subscription_id", validate="one_to_one")
    detractor = m["is_detractor_in_term"].astype(bool)
    assert not (detractor & ~m["detractor"]).any()  # an answer before the cut-off is in term
    assert (detractor == m["detractor"]).mean() > 0.97
    assert (m["has_unresolved_complaint"].astype(bool) == m["unresolved_complaint"]).mean() > 0.98
    auc_web = roc_auc_score(m["web_activity_fell"], m["web_sessions_drop"])
    assert auc_web > 0.65


def test_features_use_nothing_after_the_cut_off(data: Data) -> None:
    """Deleting every row stamped after day D leaves the features of terms cut off by D."""
    cut = data.test_start
    cut_ts = f"timestamp '{cut.isoformat()} 00:00:00'"
    con = duckdb.connect()
    try:
        typed = typed_raw_views(con, raw_file_views(con, data.raw_dir))
        truncated = {
            "subscriptions": typed["subscriptions"],
            "survey_responses": f"(select * from {typed['survey_responses']} "
                                f"where answered_at < {cut_ts})",
            "tickets": f"(select * replace (case when resolved_at < {cut_ts} then resolved_at "
                       f"end as resolved_at) from {typed['tickets']} "
                       f"where opened_at < {cut_ts})",
            "events": f"(select * from {typed['events']} where event_at < {cut_ts})",
            "orders": f"(select * from {typed['orders']} where ordered_at < {cut_ts})",
            "order_lines": typed["order_lines"],
        }
        window = (cut - timedelta(days=120), cut + timedelta(days=29))
        full = term_features(con, typed, *window)
        short = term_features(con, truncated, *window)
    finally:
        con.close()
    full = full[full["cutoff_at"] <= pd.Timestamp(cut)].reset_index(drop=True)
    short = short[short["cutoff_at"] <= pd.Timestamp(cut)].reset_index(drop=True)
    assert len(full) > 500
    columns = [*FEATURES, "web_sessions_recent", "web_sessions_baseline"]
    pd.testing.assert_frame_equal(full[columns], short[columns])


# ------------------------------------------------------------------ model


def test_time_split_does_not_overlap(data: Data) -> None:
    r = data.result
    assert r.train_terms > 3000
    assert r.test_terms > 6000
    assert latest_training_end(data.test_start) == data.test_start - timedelta(days=60)
    with pytest.raises(ValueError):
        time_split(data.features, data.history_start, data.test_end, data.test_start,
                   data.test_end)


def test_held_out_auc_close_to_the_planted_model(data: Data) -> None:
    """The planted probabilities are the best any model can do on these terms.

    They know the latent CX band and the drivers at the term's end; the features see
    only survey answers (the band shows through NPS for 60 %) and stop 30 days earlier.
    Across seeds the gap is 0.03-0.04.
    """
    held_out = data.test.merge(data.terms, on="subscription_id", validate="one_to_one")
    planted_auc = roc_auc_score(held_out["is_churned"], 1.0 - held_out["renewal_probability"])
    assert planted_auc > 0.65
    assert data.result.auc >= planted_auc - 0.05
    assert data.result.auc > 0.6


def test_brier_beats_the_base_rate(data: Data) -> None:
    r = data.result
    assert r.brier < r.observed_rate * (1.0 - r.observed_rate) - 0.005


def test_calibrated_on_the_held_out_window(data: Data) -> None:
    r = data.result
    assert abs(r.mean_predicted - r.observed_rate) < 0.03
    cal = r.calibration
    assert len(cal) == 10
    assert cal["terms"].sum() == r.test_terms
    assert (cal["mean_predicted"] - cal["observed"]).abs().max() < 0.08
    assert cal["observed"].iloc[-1] > cal["observed"].iloc[0] + 0.25


def test_planted_drivers_rank_first(data: Data) -> None:
    """The three planted drivers are the strongest churn-raising coefficients.

    The CX band also moves renewal (through the intercept), but only through proxies
    (latest NPS, CSAT, CES) that overlap with the detractor flag; those take negative
    or small coefficients. On seven seeds the planted three were always the top three;
    the assertion allows one proxy among them.
    """
    ranking = data.result.drivers
    positive = ranking[ranking["coefficient"] > 0]
    assert set(positive["feature"].head(4)) >= PLANTED_DRIVERS
    assert positive["feature"].iloc[0] in PLANTED_DRIVERS


def test_scored_rows_have_probability_band_and_drivers(data: Data) -> None:
    s = data.result.scored
    assert s["churn_probability"].between(0, 1).all()
    assert set(s["risk_band"]) == {"low", "medium", "high"}
    high = s[s["risk_band"] == "high"]
    low = s[s["risk_band"] == "low"]
    assert high["is_churned"].mean() > low["is_churned"].mean() + 0.2
    assert s["driver_1"].notna().mean() > 0.9
    assert s["driver_1"].dropna().isin(data.result.model.features).all()
    # no churn-raising feature at all: no risk above that of the average term
    average_risk = 1.0 / (1.0 + np.exp(-data.result.model.intercept))
    assert (s.loc[s["driver_1"].isna(), "churn_probability"] <= average_risk + 1e-12).all()
    # a term with an unresolved complaint names it among its drivers
    complained = data.test["has_unresolved_complaint"].to_numpy() == 1
    named = s[["driver_1", "driver_2", "driver_3"]].eq("has_unresolved_complaint").any(axis=1)
    assert named[complained].all()


def test_backtest_is_deterministic(data: Data) -> None:
    train, test = time_split(data.features, data.history_start,
                             latest_training_end(data.test_start), data.test_start,
                             data.test_end)
    again = backtest(train, test)
    assert again.auc == data.result.auc
    assert again.brier == data.result.brier
    np.testing.assert_array_equal(again.scored["churn_probability"],
                                  data.result.scored["churn_probability"])


# ------------------------------------------------------------------ pure helpers


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


def test_timing_is_validated() -> None:
    with pytest.raises(ValueError):
        Timing(lead_days=-1)
    with pytest.raises(ValueError):
        Timing(web_days=0)
