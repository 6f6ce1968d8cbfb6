"""Survey-score helpers against the hand-worked cases shared with the SQL macros.

The expected values in ``seeds/fixtures/score_cases.csv`` were worked out by hand
(arithmetic in ``docs/score_cases.md``); the dbt test
``assert_score_macros_match_hand_cases`` holds the macros to the same file.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest, norm

from cx_value import scores

ROOT = Path(__file__).resolve().parents[2]
CASES_CSV = ROOT / "seeds" / "fixtures" / "score_cases.csv"
RTOL = 1e-9  # the expected values carry 15 significant digits
ATOL = 1e-9  # for expected zeros


@pytest.fixture(scope="module")
def cases() -> pd.DataFrame:
    frame = pd.read_csv(CASES_CSV)
    # empty input cells are missing counts: NaN, which the helpers treat as null
    return frame.set_index("case_id")


def _close(actual: object, expected: object) -> None:
    actual_arr = np.asarray(actual, dtype=np.float64)
    expected_arr = np.asarray(expected, dtype=np.float64)
    np.testing.assert_allclose(actual_arr, expected_arr, rtol=RTOL, atol=ATOL, equal_nan=True)


def test_cases_cover_the_edges(cases: pd.DataFrame) -> None:
    assert {
        "empty",
        "all_promoters",
        "all_detractors",
        "typical_mixed",
        "small_sample",
        "change_not_significant",
        "change_significant",
    } <= set(cases.index)
    counted = cases["promoters"] + cases["passives"] + cases["detractors"]
    assert (counted == cases["respondents"]).all()
    prior = cases.dropna(subset=["prior_respondents"])
    assert (
        prior["prior_promoters"] + prior["prior_passives"] + prior["prior_detractors"]
        == prior["prior_respondents"]
    ).all()


def test_nps_and_variance(cases: pd.DataFrame) -> None:
    _close(scores.nps(cases.promoters, cases.detractors, cases.respondents), cases.expected_nps)
    _close(
        scores.nps_variance(cases.promoters, cases.detractors, cases.respondents),
        cases.expected_nps_variance,
    )


def test_nps_interval(cases: pd.DataFrame) -> None:
    interval = scores.nps_interval(cases.promoters, cases.detractors, cases.respondents, 0.95)
    _close(interval.nps_adjusted, cases.expected_nps_adjusted)
    _close(interval.lower, cases.expected_nps_lower)
    _close(interval.upper, cases.expected_nps_upper)


def test_nps_interval_is_clipped_to_the_nps_range(cases: pd.DataFrame) -> None:
    # unclipped, all promoters (n = 50) would reach 102.03 and all detractors -103.12
    row = cases.loc["all_promoters"]
    assert scores.nps_interval(row.promoters, row.detractors, row.respondents).upper == 100.0
    row = cases.loc["all_detractors"]
    assert scores.nps_interval(row.promoters, row.detractors, row.respondents).lower == -100.0


def test_nps_change(cases: pd.DataFrame) -> None:
    change = scores.nps_change_z(
        cases.promoters,
        cases.detractors,
        cases.respondents,
        cases.prior_promoters,
        cases.prior_detractors,
        cases.prior_respondents,
    )
    _close(change.z, cases.expected_nps_change_z)
    np.testing.assert_array_equal(change.is_significant, cases.expected_is_nps_change_significant)


def test_csat_ces_shares_and_means(cases: pd.DataFrame) -> None:
    _close(
        scores.csat_share(cases.csat_satisfied, cases.csat_respondents), cases.expected_csat_share
    )
    _close(
        scores.score_mean(cases.csat_score_sum, cases.csat_respondents), cases.expected_csat_mean
    )
    _close(scores.ces_share(cases.ces_easy, cases.ces_respondents), cases.expected_ces_share)
    _close(scores.score_mean(cases.ces_score_sum, cases.ces_respondents), cases.expected_ces_mean)


def test_wilson_interval(cases: pd.DataFrame) -> None:
    interval = scores.wilson_interval(cases.csat_satisfied, cases.csat_respondents, 0.95)
    _close(interval.lower, cases.expected_csat_wilson_lower)
    _close(interval.upper, cases.expected_csat_wilson_upper)


def test_wilson_interval_matches_scipy() -> None:
    """An independent implementation: scipy's binomtest Wilson interval (no correction)."""
    for successes, n in [(160, 200), (7, 10), (0, 30), (50, 50), (1, 3)]:
        for confidence in (0.8, 0.9, 0.95, 0.99):
            ours = scores.wilson_interval(successes, n, confidence)
            theirs = binomtest(successes, n).proportion_ci(
                confidence_level=confidence, method="wilson"
            )
            _close([ours.lower, ours.upper], [100 * theirs.low, 100 * theirs.high])


def test_too_small(cases: pd.DataFrame) -> None:
    np.testing.assert_array_equal(
        scores.is_too_small(cases.respondents), cases.expected_is_too_small
    )
    assert scores.is_too_small(30) == np.False_
    assert scores.is_too_small(29) == np.True_
    assert scores.is_too_small(99, minimum=100) == np.True_


def test_scalars_give_the_same_numbers_as_arrays(cases: pd.DataFrame) -> None:
    row = cases.loc["typical_mixed"]
    assert scores.nps(90, 50, 200) == pytest.approx(row.expected_nps, rel=RTOL)
    assert isinstance(scores.nps(90, 50, 200), float)
    lower = scores.nps_interval(90, 50, 200).lower
    assert lower == pytest.approx(row.expected_nps_lower, rel=RTOL)
    assert np.isnan(scores.nps(0, 0, 0))
    assert np.isnan(scores.nps_interval(0, 0, 0).upper)
    assert np.isnan(scores.wilson_interval(0, 0).lower)


def test_counts_from_answers_reproduce_the_typical_case(cases: pd.DataFrame) -> None:
    row = cases.loc["typical_mixed"]
    # 90 promoters (50 tens, 40 nines), 60 passives, 50 detractors, and two unanswered
    answers = np.array(
        [10] * 50 + [9] * 40 + [8] * 30 + [7] * 30 + [6] * 20 + [0] * 30 + [np.nan] * 2
    )
    counts = scores.nps_counts(answers)
    assert counts == scores.NpsCounts(90, 60, 50, 200)
    assert scores.nps(counts.promoters, counts.detractors, counts.n) == row.expected_nps

    # CSAT: 60 fives + 100 fours = 160 satisfied; 40 threes; sum 300 + 400 + 120 = 820
    result = scores.csat([5] * 60 + [4] * 100 + [3] * 40)
    assert result == scores.ShareAndMean(row.expected_csat_share, row.expected_csat_mean, 200)
    # CES: 100 sixes + 30 fives = 130 easy (600 + 150); 40 fours + 30 threes (160 + 90); sum 1000
    ces_answers = [6] * 100 + [5] * 30 + [4] * 40 + [3] * 30
    assert sum(ces_answers) == row.ces_score_sum
    result = scores.ces(ces_answers)
    assert result == scores.ShareAndMean(row.expected_ces_share, row.expected_ces_mean, 200)


def test_out_of_scale_answers_are_refused() -> None:
    with pytest.raises(ValueError, match="NPS"):
        scores.nps_counts([11])
    with pytest.raises(ValueError, match="CSAT"):
        scores.csat([0, 5])
    with pytest.raises(ValueError, match="CES"):
        scores.ces([7.5])


def test_z_values_and_the_sql_lookup_agree() -> None:
    assert scores.z_value(0.95) == 1.959963984540054
    macro = (ROOT / "macros" / "scores" / "cx_scores.sql").read_text()
    lookup = dict(re.findall(r"'(0\.\d+)': ([0-9.]+),", macro))
    assert set(lookup) == {"0.8", "0.9", "0.95", "0.99"}
    for confidence, z in lookup.items():
        assert float(z) == pytest.approx(norm.ppf(0.5 + float(confidence) / 2), rel=1e-15)
        assert float(z) == pytest.approx(scores.z_value(float(confidence)), rel=1e-15)
    with pytest.raises(ValueError):
        scores.z_value(1.0)
