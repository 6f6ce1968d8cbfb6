"""Retention per group: sBG fitted per retention group (term length plus segment columns),
the pooled fallback of a small group, Kaplan-Meier with its 95 % interval beside each
fit, and renewal probability and DERL per group.

The planted truth is simulated here from the sBG story itself (theta ~ Beta(alpha, beta)
per customer, churn at the end of every term with probability theta, customers observed
for a random number of months), independently of the fitting code.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cx_value.clv import (
    SBGParams,
    dag,
    fit_sbg_durations,
    kaplan_meier,
    sbg_conditional_survival,
    sbg_renewal_probability,
)
from cx_value.fit_status import FITTED, NOT_ENOUGH_DATA

AS_OF = date(2026, 7, 1)

# plan -> (term months, alpha, beta). The month-to-month basic plan churns most: a mean
# of alpha / (alpha + beta) = 25 % a month; the two-year plan 12.5 % per two-year term
# (1 - 4.2/4.8), with more heterogeneity (small alpha) so that five observed terms
# identify it. Every bound below is a 95 % interval, so a different seed can fail one
# check in twenty by chance; the seed is fixed to keep the test deterministic.
PLANTED: dict[str, tuple[int, float, float]] = {
    "monthly_basic": (1, 1.0, 3.0),
    "monthly_plus": (1, 0.8, 6.0),
    "annual": (12, 1.5, 5.0),
    "biennial": (24, 0.6, 4.2),
}
CUSTOMERS_PER_PLAN = 4000
MAX_AGE_MONTHS = 120


def _key(plan: str, term_months: int) -> str:
    """The group key as int_customer_contract_durations writes it."""
    return f"term_months={term_months}, plan_name={plan}"


def _simulate(plan: str, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Durations of ``n`` customers of a plan, observed for 0..MAX_AGE_MONTHS months."""
    term_months, alpha, beta = PLANTED[plan]
    theta = rng.beta(alpha, beta, size=n)
    lifetime = rng.geometric(theta)  # T: the term at whose end the customer churns
    decided = rng.integers(0, MAX_AGE_MONTHS + 1, size=n) // term_months
    churned = lifetime <= decided
    duration = np.where(churned, lifetime, decided)
    return _frame(plan, term_months, duration, churned)


def _frame(plan: str, term_months: int, duration: np.ndarray,
           churned: np.ndarray) -> pd.DataFrame:
    n = duration.size
    return pd.DataFrame({
        "customer_id": [f"{plan}-{i}" for i in range(n)],
        "retention_group": _key(plan, term_months),
        "period_months": term_months,
        "duration_periods": duration.astype("int64"),
        "is_churned": churned,
        "is_censored": ~churned,
        "renewals": (duration - churned).astype("int64"),
        "plan_name": plan,
    })


@pytest.fixture(scope="module")
def book() -> pd.DataFrame:
    rng = np.random.default_rng(20261129)
    return pd.concat([_simulate(plan, CUSTOMERS_PER_PLAN, rng) for plan in PLANTED],
                     ignore_index=True)


@pytest.fixture(scope="module")
def parameters(book: pd.DataFrame) -> pd.DataFrame:
    return dag.sbg_parameter_table(book, AS_OF)


def test_every_group_recovers_its_planted_parameters(parameters: pd.DataFrame) -> None:
    assert parameters.columns.tolist()[:3] == ["retention_group", "term_months", "plan_name"]
    assert len(parameters) == 2 * len(PLANTED)
    assert (parameters["status"] == FITTED).all()
    assert (parameters["fit_scope"] == "group").all() and parameters["is_identified"].all()
    assert not parameters["is_pooled_fallback"].any()
    for plan, (term_months, alpha, beta) in PLANTED.items():
        rows = parameters[parameters["plan_name"] == plan].set_index("parameter")
        assert (rows["term_months"] == term_months).all()
        for name, planted in (("alpha", alpha), ("beta", beta)):
            estimate, se = rows.loc[name, "estimate"], rows.loc[name, "standard_error"]
            assert abs(estimate - planted) <= 1.96 * se, (plan, name, estimate, se)


def test_sbg_survival_at_12_and_24_months_inside_the_km_interval(
        book: pd.DataFrame, parameters: pd.DataFrame) -> None:
    curve = dag.survival_curve_table(book, parameters)
    assert {"months", "km_lower_95", "km_upper_95", "sbg_survival"} <= set(curve.columns)
    assert (curve["months"] == curve["period"] * curve["term_months"]).all()
    checked = 0
    for plan, (term_months, _, _) in PLANTED.items():
        rows = curve[curve["plan_name"] == plan].set_index("months")
        for months in (12, 24):
            if months % term_months:
                continue
            row = rows.loc[months]
            assert row["km_lower_95"] <= row["sbg_survival"] <= row["km_upper_95"], (plan, months)
            checked += 1
    # 12 and 24 months of the two monthly plans, years 1 and 2 of the annual plan, and
    # the first two-year term of the biennial plan
    assert checked == 7


def test_a_two_year_customer_of_a_low_churn_group_renews_more_likely(
        book: pd.DataFrame, parameters: pd.DataFrame) -> None:
    customers = pd.concat([
        _frame("biennial", 24, np.array([1]), np.array([False])).assign(customer_id="two_year"),
        _frame("monthly_basic", 1, np.array([1]), np.array([False])).assign(customer_id="monthly"),
    ], ignore_index=True)
    scores = dag.retention_prediction_table(customers, parameters, 0.10).set_index("customer_id")
    # planted next-renewal probability after one renewal: (beta + 1) / (alpha + beta + 1)
    assert scores.loc["two_year", "renewal_probability"] == pytest.approx(5.2 / 5.8, abs=0.03)
    assert scores.loc["monthly", "renewal_probability"] == pytest.approx(4 / 5, abs=0.03)
    assert scores.loc["two_year", "renewal_probability"] > scores.loc["monthly",
                                                                      "renewal_probability"]
    # 10 % a year is 21 % per two-year period and 0.797 % per month
    assert scores.loc["two_year", "period_discount_rate"] == pytest.approx(0.21)
    assert scores.loc["monthly", "period_discount_rate"] == pytest.approx(1.1 ** (1 / 12) - 1)
    assert scores["period_months"].tolist() == [24, 1]


def test_a_small_group_falls_back_to_the_pooled_term_length_with_a_flag(
        book: pd.DataFrame) -> None:
    tiny = _frame("monthly_promo", 1, np.array([1, 2, 3, 1, 2, 4, 0, 5]),
                  np.array([True, False, True, False, True, False, False, True]))
    alone = _frame("six_month", 6, np.array([1, 2, 1, 3]), np.array([True, False, False, True]))
    table = dag.sbg_parameter_table(pd.concat([book, tiny, alone], ignore_index=True), AS_OF)

    promo = table[table["plan_name"] == "monthly_promo"].set_index("parameter")
    assert (promo["status"] == FITTED).all()
    assert (promo["fit_scope"] == "pooled_term_length").all() and promo["is_pooled_fallback"].all()
    assert (promo["group_customers"] == 7).all()
    assert promo["fallback_reason"].iloc[0].startswith("needs at least 20 customers")
    assert promo["warning"].iloc[0].startswith(
        "sBG of group term_months=1, plan_name=monthly_promo fitted on every 1-month customer")
    # the pooled fit: every 1-month customer, both monthly plans and the promo
    monthly = pd.concat([book[book["period_months"] == 1], tiny])
    pooled = fit_sbg_durations(monthly["duration_periods"], monthly["is_churned"])
    assert promo.loc["alpha", "estimate"] == pytest.approx(pooled.alpha, rel=1e-9)
    assert promo.loc["beta", "estimate"] == pytest.approx(pooled.beta, rel=1e-9)
    assert (promo["n_customers"] == round(pooled.n_customers)).all()

    # no other 6-month group to pool with: not fitted, NULL estimates, the reason given
    six = table[table["plan_name"] == "six_month"]
    assert (six["status"] == NOT_ENOUGH_DATA).all() and six["estimate"].isna().all()
    assert six["fit_scope"].isna().all() and not six["is_pooled_fallback"].any()
    assert six["warning"].iloc[0].startswith("sBG (term_months=6, plan_name=six_month) not fitted")

    # the groups fitted on their own are unchanged by the newcomers
    basic = table[(table["plan_name"] == "monthly_basic")]
    assert (basic["fit_scope"] == "group").all() and (basic["group_customers"]
                                                      == basic["n_customers"]).all()
    scores = dag.retention_prediction_table(pd.concat([tiny, alone]), table, 0.10)
    assert scores.loc[scores["retention_group"].str.contains("promo"),
                      "renewal_probability"].notna().all()
    assert scores.loc[scores["retention_group"].str.contains("six_month"),
                      "renewal_probability"].isna().all()


def test_no_subscribers_leave_a_placeholder_group_not_fitted(book: pd.DataFrame) -> None:
    table = dag.sbg_parameter_table(book.iloc[:0], AS_OF)
    assert table["parameter"].tolist() == ["alpha", "beta"]
    assert (table["retention_group"] == dag.NO_SUBSCRIBERS).all()
    assert (table["status"] == NOT_ENOUGH_DATA).all() and (table["n_customers"] == 0).all()
    assert dag.survival_curve_table(book.iloc[:0], table).empty


def test_kaplan_meier_interval_by_hand() -> None:
    """Ten customers: two churn after period 1 and one is censored there; one of the
    seven left churns after period 2; six are censored at 3.

    S(1) = 8/10, Greenwood sum 2/(10·8) = 0.025; S(2) = 0.8·6/7, sum 0.025 + 1/(7·6).
    Log-log bounds S^exp(±1.96·sqrt(sum)/|log S|), worked out with a calculator:
    (0.408691, 0.945873) and (0.304585, 0.887148).
    """
    durations = [1, 1, 1, 2, 3, 3, 3, 3, 3, 3]
    churned = [True, True, False, True] + [False] * 6
    km = kaplan_meier(durations, churned)
    lower, upper = km.interval_at([0, 1, 2, 3])
    np.testing.assert_allclose(lower, [1.0, 0.408691, 0.304585, 0.304585], atol=1e-6)
    np.testing.assert_allclose(upper, [1.0, 0.945873, 0.887148, 0.887148], atol=1e-6)


def test_conditional_survival_matches_the_hand_cases() -> None:
    """The cases the SQL macros are held to (seed sbg_survival_cases)."""
    cases = pd.read_csv(Path(__file__).resolve().parents[2] / "seeds" / "fixtures"
                        / "sbg_survival_cases.csv")
    for row in cases.itertuples():
        params = SBGParams(alpha=row.alpha, beta=row.beta)
        assert sbg_renewal_probability(params, row.renewals) == pytest.approx(
            row.expected_renewal_probability, abs=1e-9), row.case_id
        assert sbg_conditional_survival(params, row.renewals, row.decisions) == pytest.approx(
            row.expected_conditional_survival, abs=1e-9), row.case_id
