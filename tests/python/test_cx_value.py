"""The CX-value marts against the generator's planted truth, on 20,000 generated customers.

The session fixture `journey_warehouse` generates the data (seed 7) and builds every
journey model and `+marts.cx_value`, with the default window (the 12 months ending with
the observation date); this module then rebuilds the CX-value models with the window
pinned to the generator's outcome window (truth "calendar"), so that the mart and the planted truth
use the same 12 months. The checks use numbers the marts did not produce: the planted and
realised spend ratio and renewal rates of `_truth/truth.json`, and numpy on the mart's
own per-customer input for the arithmetic of the SQL macros.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest
from conftest import ROOT, GeneratedWarehouse, query_rows

from cx_value.publish import working_path

pytestmark = pytest.mark.integration

Z95 = 1.959963984540054
BANDS = ("worst", "middle", "best")


@dataclass(frozen=True)
class CxValueWarehouse:
    """The generated warehouse with the CX-value marts, and what the default build saw."""

    warehouse: GeneratedWarehouse
    truth: dict[str, Any]
    default_window: tuple[str, str]
    default_as_of: str
    database: Path  # the working database the pinned build wrote (dbt, not published)


def _build_with_vars(
    warehouse: GeneratedWarehouse, select: str, dbt_vars: dict[str, str], scratch: Path
) -> subprocess.CompletedProcess[str]:
    """dbt itself with vars, as an analytics engineer runs it: the same environment as
    `cx-value build --raw-dir`, into the working database (which a plain dbt run writes;
    nothing is validated or published)."""
    env = {
        **os.environ,
        "CX_DUCKDB_WORK_PATH": str(working_path(warehouse.database, from_env=False)),
        "CX_RAW_MODE": "files",
        "CX_RAW_DIR": str(warehouse.raw_dir.resolve()),
        "CX_RAW_FORMAT": "parquet",
        "DBT_TARGET_PATH": str(scratch / "target"),
        "DBT_LOG_PATH": str(scratch / "logs"),
        "DBT_INDIRECT_SELECTION": "cautious",
    }
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from cx_value.dbt_runner import run_dbt\n"
        "sys.exit(0 if run_dbt(sys.argv[2:], Path(sys.argv[1])) else 1)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code, str(ROOT), "build", "--select", select,
         "--vars", json.dumps(dbt_vars)],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )


@pytest.fixture(scope="module")
def cx_value_warehouse(
    journey_warehouse: GeneratedWarehouse, tmp_path_factory: pytest.TempPathFactory
) -> CxValueWarehouse:
    w = journey_warehouse  # built through +marts.cx_value as well
    scratch = tmp_path_factory.mktemp("cx_value")
    (start, end), = query_rows(
        w.database,
        "select distinct cast(window_start_date as varchar), cast(window_end_date as varchar)"
        " from marts.mart_cx_value",
    )
    (as_of,), = query_rows(
        w.database, "select cast(as_of_date as varchar) from intermediate.int_observation_date"
    )
    truth = json.loads((w.truth_dir / "truth.json").read_text())
    pinned = _build_with_vars(
        w, "int_customers_cx_banded+",
        {"cx_cx_value_window_start": truth["calendar"]["outcome_window_start"]}, scratch,
    )
    assert pinned.returncode == 0, pinned.stdout[-5000:]
    return CxValueWarehouse(w, truth, (start, end), as_of, working_path(w.database, from_env=False))


def _mart(cx: CxValueWarehouse, customer_type: str) -> dict[str, dict[str, Any]]:
    with duckdb.connect(str(cx.database), read_only=True) as con:
        rows = con.sql(
            f"select * from marts.mart_cx_value where customer_type = '{customer_type}'"
        ).df().to_dict("records")
    return {row["cx_band"]: row for row in rows}


def _customers(cx: CxValueWarehouse) -> Any:
    with duckdb.connect(str(cx.database), read_only=True) as con:
        return con.sql("select * from intermediate.int_customers_cx_banded").df()


def test_default_window_is_the_12_months_ending_with_the_observation_date(
    cx_value_warehouse: CxValueWarehouse,
) -> None:
    start, end = cx_value_warehouse.default_window
    as_of = np.datetime64(cx_value_warehouse.default_as_of)
    assert np.datetime64(end) == as_of + np.timedelta64(1, "D")
    assert start == str(np.datetime64(end, "M") - np.timedelta64(12, "M")) + end[7:]


def test_pinned_window_is_the_generators_outcome_window(
    cx_value_warehouse: CxValueWarehouse,
) -> None:
    calendar = cx_value_warehouse.truth["calendar"]
    rows = query_rows(
        cx_value_warehouse.database,
        "select distinct cast(window_start_date as varchar), cast(window_end_date as varchar)"
        " from marts.mart_cx_value",
    )
    assert rows == [(calendar["outcome_window_start"], calendar["outcome_window_end_exclusive"])]


def test_planted_spend_uplift_lies_in_the_interval(cx_value_warehouse: CxValueWarehouse) -> None:
    """HBR transactional: the best band spends 2.4 x the worst (+140 %), b2c customers.

    The mart bands only customers with a relationship answer (about 60 %); the generator's
    ratio is over every eligible b2c customer by latent band. Response is independent of
    spend, so the respondents' ratio estimates the same quantity, and both the planted
    target and the ratio realised on the whole population must lie in the 95 % interval.
    """
    spend = cx_value_warehouse.truth["spend_uplift"]
    row = _mart(cx_value_warehouse, "b2c")["best"]
    print(
        f"\nspend ratio best/worst: mart {row['spend_ratio_best_worst']:.3f} "
        f"[{row['spend_ratio_lower']:.3f}, {row['spend_ratio_upper']:.3f}] "
        f"(uplift {row['spend_uplift_pct']:.1f} % [{row['spend_uplift_lower_pct']:.1f}, "
        f"{row['spend_uplift_upper_pct']:.1f}]); planted {spend['target_ratio_best_worst']}, "
        f"realised {spend['realised_ratio_best_worst']}"
    )
    for planted in (spend["target_ratio_best_worst"], spend["realised_ratio_best_worst"]):
        assert row["spend_ratio_lower"] <= planted <= row["spend_ratio_upper"]
    # the interval must be informative: it excludes "no uplift"
    assert row["spend_ratio_lower"] > 1


def test_band_mean_spend_matches_the_generators_population(
    cx_value_warehouse: CxValueWarehouse,
) -> None:
    """Each band's mean window spend realised on the generator's whole population lies in
    the mart's interval of the respondents' mean. Three intervals at once: family-wise
    95 % (Bonferroni, 98.33 % each, z = 2.394)."""
    spend = cx_value_warehouse.truth["spend_uplift"]
    mart = _mart(cx_value_warehouse, "b2c")
    z = 2.393979879  # scipy.stats.norm.ppf(1 - 0.05 / 6)
    for band in BANDS:
        row = mart[band]
        planted = spend["mean_window_spend_eur_by_band"][band]
        se = row["spend_sd"] / math.sqrt(row["customers"])
        print(
            f"{band}: mart {row['mean_spend']:.2f} € [{row['mean_spend_lower']:.2f}, "
            f"{row['mean_spend_upper']:.2f}] n={row['customers']}; generator {planted:.2f} €"
        )
        assert abs(row["mean_spend"] - planted) <= z * se


def test_banded_population_is_the_respondents_of_the_generators_population(
    cx_value_warehouse: CxValueWarehouse,
) -> None:
    """The generator's spend population is the b2c customers created before the
    relationship survey; the mart bands those of them who answered it before the window
    (60 % planted response rate), and the answer class is the band (25/50/25)."""
    truth = cx_value_warehouse.truth
    mart = _mart(cx_value_warehouse, "b2c")
    population = truth["spend_uplift"]["customers"]
    banded = mart["best"]["banded_customers"]
    rate = truth["bands"]["relationship_survey"]["response_rate"]
    print(f"\nb2c banded {banded} of the generator's {population} (response rate {rate})")
    assert banded <= population
    assert abs(banded / population - rate) <= 4 * math.sqrt(rate * (1 - rate) / population)
    for band, share in truth["bands"]["planted_shares"].items():
        assert abs(mart[band]["customers"] / banded - share) <= 4 * math.sqrt(
            share * (1 - share) / banded
        )


RENEWAL_FEATURES_SQL = """
with terms as (
    select terms.customer_id, terms.start_date, terms.end_date, banded.cx_band
    from intermediate.int_subscription_terms_renewed as terms
    inner join intermediate.int_customers_cx_banded as banded
        on terms.customer_id = banded.customer_id
    where
        banded.cx_band is not null
        and terms.end_date >= banded.window_start_date
        and terms.end_date < banded.window_end_date
        and terms.grace_end_date <= terms.as_of_date
)
select
    cx_band,
    exists (
        select 1 from staging.stg_surveys__survey_responses as answers
        where answers.customer_id = terms.customer_id and answers.question_type = 'nps'
            and answers.score <= 6 and answers.answered_at >= terms.start_date
            and answers.answered_at < terms.end_date + interval 1 day
    ) as is_detractor,
    exists (
        select 1 from staging.stg_crm__tickets as tickets
        where tickets.customer_id = terms.customer_id and tickets.is_complaint
            and tickets.opened_at >= terms.start_date
            and tickets.opened_at < terms.end_date + interval 1 day
            and (tickets.resolved_at is null
                 or tickets.resolved_at >= terms.end_date + interval 1 day)
    ) as has_unresolved_complaint
from terms
"""


def _planted_renewal_probability(
    renewal: dict[str, Any], band: str, is_detractor: bool, has_complaint: bool
) -> float:
    """The generator's P(renew) of one term: sigmoid(intercept[band] + betas . features).
    Whether web activity fell is not observable in the warehouse; it is averaged out
    with the band's planted share of such terms (independent of survey response)."""
    betas, planted = renewal["betas"], renewal["by_band"][band]
    base = (planted["intercept"] + betas["detractor"] * is_detractor
            + betas["unresolved_complaint"] * has_complaint)
    share = planted["web_fell_share"]

    def sigmoid(x: float) -> float:
        return 1 / (1 + math.exp(-x))

    return share * sigmoid(base + betas["web_activity_fell"]) + (1 - share) * sigmoid(base)


def _wilson(successes: float, n: float, z: float) -> tuple[float, float]:
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def test_planted_renewal_rates_are_recovered(cx_value_warehouse: CxValueWarehouse) -> None:
    """HBR subscription: terms ending in the window renew 0.74 / 0.60 / 0.43 by band.

    The generator's by-band rates are over every term of the latent band; the mart can
    band only customers who answered the relationship survey, and that answer is itself
    a planted renewal driver (a detractor answer in the term: -0.8 on the logit). Every
    worst-band respondent is a detractor in that term, against about 81 % of the whole
    worst band, so the respondents' rate is planted lower than 0.43 (about 0.39 on
    seed 7), and the best band's slightly higher. The comparison that holds the mart to
    the planted model is therefore the planted probability averaged over the mart's own
    terms (features recomputed from staging with the generator's definitions), which must
    lie in the mart's Wilson interval; three bands at once, so family-wise 95 %
    (Bonferroni, z = 2.394). The population's realised rates are printed beside it.
    """
    renewal = cx_value_warehouse.truth["renewal"]
    mart = _mart(cx_value_warehouse, "b2b")
    features = query_rows(cx_value_warehouse.database, RENEWAL_FEATURES_SQL)
    z = 2.393979879  # scipy.stats.norm.ppf(1 - 0.05 / 6)
    print()
    for band in BANDS:
        row, planted = mart[band], renewal["by_band"][band]
        probabilities = [
            _planted_renewal_probability(renewal, band, bool(det), bool(complaint))
            for term_band, det, complaint in features if term_band == band
        ]
        expected = float(np.mean(probabilities))
        lower, upper = _wilson(row["terms_renewed"], row["terms_decided"], z)
        print(
            f"renewal {band}: mart {row['renewal_rate']:.3f} [{row['renewal_rate_lower']:.3f}, "
            f"{row['renewal_rate_upper']:.3f}] n={row['terms_decided']}; planted model on the "
            f"mart's terms {expected:.3f}; generator target {planted['target']}, realised on "
            f"the whole band {planted['realised_rate']} (n={planted['terms_ending_in_window']})"
        )
        assert len(probabilities) == row["terms_decided"]
        assert lower <= expected <= upper
    rates = [mart[band]["renewal_rate"] for band in BANDS]
    assert rates == sorted(rates)


def test_mart_statistics_equal_numpy_on_the_customers(
    cx_value_warehouse: CxValueWarehouse,
) -> None:
    """The SQL sums-based mean, sd, normal interval and log-delta ratio interval equal
    numpy on the per-customer rows the mart aggregates."""
    customers = _customers(cx_value_warehouse)
    mart = _mart(cx_value_warehouse, "b2c")
    b2c = customers[(customers.customer_type == "b2c") & customers.cx_band.notna()]
    stats = {}
    for band in BANDS:
        x = b2c.loc[b2c.cx_band == band, "window_revenue"].to_numpy()
        mean, se = x.mean(), x.std(ddof=1) / math.sqrt(x.size)
        stats[band] = (mean, se)
        assert mart[band]["customers"] == x.size
        assert mart[band]["mean_spend"] == pytest.approx(mean, rel=1e-9)
        assert mart[band]["spend_sd"] == pytest.approx(x.std(ddof=1), rel=1e-9)
        assert mart[band]["mean_spend_lower"] == pytest.approx(mean - Z95 * se, rel=1e-9)
    (mb, sb), (mw, sw) = stats["best"], stats["worst"]
    half = Z95 * math.sqrt((sb / mb) ** 2 + (sw / mw) ** 2)
    assert mart["best"]["spend_ratio_lower"] == pytest.approx(mb / mw * math.exp(-half), rel=1e-9)
    assert mart["worst"]["spend_ratio_upper"] == pytest.approx(mb / mw * math.exp(half), rel=1e-9)
    assert mart["worst"]["spend_at_stake"] == pytest.approx(
        (stats["middle"][0] - mw) * mart["worst"]["customers"], rel=1e-9
    )


def test_nps_outcomes_correlations_equal_numpy(cx_value_warehouse: CxValueWarehouse) -> None:
    customers = _customers(cx_value_warehouse)
    with duckdb.connect(str(cx_value_warehouse.database), read_only=True) as con:
        rows = con.sql("select * from marts.mart_nps_outcomes").df()
    for customer_type in ("b2b", "b2c"):
        scored = customers[
            (customers.customer_type == customer_type) & customers.mean_nps_score.notna()
        ]
        row = rows[rows.customer_type == customer_type].iloc[0]
        assert row["correlation_customers"] == len(scored)
        for column, outcome in (
            ("nps_margin_correlation", "window_margin"),
            ("nps_orders_correlation", "window_orders"),
            ("nps_revenue_correlation", "window_revenue"),
        ):
            expected = np.corrcoef(scored.mean_nps_score, scored[outcome].astype(float))[0, 1]
            assert row[column] == pytest.approx(expected, abs=1e-9)


def test_promoters_buy_again_more_than_detractors(cx_value_warehouse: CxValueWarehouse) -> None:
    """NPS predicts repurchase on the generated data, where the band drives window spend:
    the b2c promoters' repurchase interval lies above the detractors'."""
    with duckdb.connect(str(cx_value_warehouse.database), read_only=True) as con:
        rows = con.sql(
            "select nps_class, customers, repurchase_rate, repurchase_rate_lower,"
            " repurchase_rate_upper, referral_rate, nps_revenue_correlation"
            " from marts.mart_nps_outcomes where customer_type = 'b2c'"
        ).df().set_index("nps_class")
    print("\n" + rows.to_string())
    promoters, detractors = rows.loc["promoter"], rows.loc["detractor"]
    assert promoters["repurchase_rate_lower"] > detractors["repurchase_rate_upper"]
    assert rows.loc["promoter", "nps_revenue_correlation"] > 0
