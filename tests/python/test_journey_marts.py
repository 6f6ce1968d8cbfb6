"""The journey marts against the generator's planted truth, on 20,000 generated customers.

The session fixture `journey_warehouse` generates the data (seed 7) and builds every
model through `+tag:journey`. The checks use numbers the marts did not produce: the
planted stage NPS and expectation gaps of `_truth/truth.json`, the values realised on the
generator's clean rows, and `cx_value.scores` for the interval.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pytest

from cx_value import scores

if TYPE_CHECKING:
    from conftest import GeneratedWarehouse

pytestmark = pytest.mark.integration

STAGES = ("awareness", "consideration", "purchase", "onboarding", "usage", "service", "renewal")


def _truth(warehouse: GeneratedWarehouse) -> dict[str, Any]:
    return json.loads((warehouse.truth_dir / "truth.json").read_text())


def _query(warehouse: GeneratedWarehouse, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(warehouse.database), read_only=True) as con:
        return con.sql(sql).fetchall()


def _stage_counts(warehouse: GeneratedWarehouse) -> dict[str, tuple[int, int, int]]:
    """(promoters, detractors, respondents) per stage, summed over months and segments."""
    rows = _query(
        warehouse,
        """select stage, sum(promoters), sum(detractors), sum(nps_respondents)
        from marts.mart_stage_scores group by stage""",
    )
    return {stage: (int(p), int(d), int(n)) for stage, p, d, n in rows}


def test_planted_stage_nps_lies_in_the_adjusted_wald_interval(
    journey_warehouse: GeneratedWarehouse,
) -> None:
    """The planted stage NPS lies inside the mart's adjusted-Wald interval, every stage.

    Seven intervals are tested at once. At 95 % each, a correct mart fails this test
    with probability 1 - 0.95**7 = 30 %; on seed 7 onboarding's realised NPS lies 2.0
    standard errors below the planted value (and the next test shows the mart equals
    the realised NPS of the clean answers exactly, so that is sampling, not a
    definition mismatch). The assertion therefore uses family-wise 95 % intervals
    (Bonferroni: 1 - 0.05/7 = 99.29 % each); the 95 % intervals are printed beside them.
    """
    truth = _truth(journey_warehouse)["stage_nps"]
    counts = _stage_counts(journey_warehouse)
    family_confidence = 1 - 0.05 / len(STAGES)
    report = []
    for stage in STAGES:
        promoters, detractors, n = counts[stage]
        # the mart answers the question the generator asked: the same respondents
        assert n == truth[stage]["n"], (stage, n, truth[stage]["n"])
        single = scores.nps_interval(promoters, detractors, n, confidence=0.95)
        family = scores.nps_interval(promoters, detractors, n, confidence=family_confidence)
        report.append((
            stage, n, truth[stage]["planted"], float(scores.nps(promoters, detractors, n)),
            float(single.lower), float(single.upper), float(family.lower), float(family.upper),
        ))
    print("\nstage, n, planted, mart NPS, 95 % interval, family-wise 95 % interval")
    for row in report:
        print(
            f"{row[0]:>13} {row[1]:>6} {row[2]:>8.3f} {row[3]:>8.3f}"
            f" [{row[4]:.3f}, {row[5]:.3f}] [{row[6]:.3f}, {row[7]:.3f}]"
        )
    outside = [row for row in report if not row[6] <= row[2] <= row[7]]
    assert not outside, outside
    # and most stages must sit inside the plain 95 % interval too: with 7 stages, two or
    # more misses has probability 4 % for a correct mart
    misses = [row[0] for row in report if not row[4] <= row[2] <= row[5]]
    assert len(misses) <= 1, misses


def test_stage_nps_equals_the_nps_realised_on_clean_answers(
    journey_warehouse: GeneratedWarehouse,
) -> None:
    # staging removes every dirty row, so the mart's NPS is the clean rows' NPS
    truth = _truth(journey_warehouse)["stage_nps"]
    for stage, (promoters, detractors, n) in _stage_counts(journey_warehouse).items():
        assert float(scores.nps(promoters, detractors, n)) == pytest.approx(
            truth[stage]["realised"], abs=1e-3
        ), stage


def test_expectation_gap_per_touchpoint(journey_warehouse: GeneratedWarehouse) -> None:
    truth = _truth(journey_warehouse)["expectation_gap"]
    mart = {
        name: (mean, int(n))
        for name, mean, n in _query(
            journey_warehouse,
            """select touchpoint_name, expectation_gap_mean, expectation_gap_respondents
            from marts.mart_touchpoint_friction
            where touchpoint_type = 'survey' and expectation_gap_respondents > 0""",
        )
    }
    spread = {
        name: float(sd)
        for name, sd in _query(
            journey_warehouse,
            """select touchpoint_name, stddev_samp(expectation_gap)
            from marts.fct_journey_touchpoints
            where expectation_gap is not null group by touchpoint_name""",
        )
    }
    assert set(mart) == set(truth)
    for touchpoint, planted in truth.items():
        mean, n = mart[touchpoint]
        assert n == planted["n"], touchpoint
        # realised on the generator's clean rows: staging drops only dirty rows, so
        # the two agree up to the truth file's rounding (6 decimals)
        assert mean == pytest.approx(planted["realised"], abs=1e-5), touchpoint
        # planted = the expected gap given the respondents' bands; the realised mean
        # scatters around it with standard error sd / sqrt(n) (about 0.01 here).
        # Four standard errors: a false alarm once in 16,000 touchpoints, while a
        # definition error (a sign, a wrong pair of answers) moves the mean by far more.
        tolerance = 4 * spread[touchpoint] / np.sqrt(n)
        print(
            f"\n{touchpoint}: n {n}, mart {mean:.4f}, realised {planted['realised']:.4f},"
            f" planted {planted['planted']:.4f}, tolerance {tolerance:.4f}"
        )
        assert abs(mean - planted["planted"]) <= tolerance, (touchpoint, mean, planted, tolerance)


def test_every_touchpoint_customer_is_in_dim_customers(
    journey_warehouse: GeneratedWarehouse,
) -> None:
    (orphans,) = _query(
        journey_warehouse,
        """select count(*) from marts.fct_journey_touchpoints as t
        where not exists (
            select 1 from marts.dim_customers as c where c.customer_id = t.customer_id
        )""",
    )[0]
    assert orphans == 0
    (touchpoints,) = _query(
        journey_warehouse, "select count(*) from marts.fct_journey_touchpoints"
    )[0]
    assert touchpoints > 0


def test_touchpoint_numbers_are_contiguous_per_customer(
    journey_warehouse: GeneratedWarehouse,
) -> None:
    (broken,) = _query(
        journey_warehouse,
        """select count(*) from (
            select customer_id from marts.fct_journey_touchpoints
            group by customer_id
            having max(customer_touchpoint_number) <> count(*)
                or count(distinct customer_touchpoint_number) <> count(*)
        )""",
    )[0]
    assert broken == 0
