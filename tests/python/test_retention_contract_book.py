"""Retention per plan on a generated contract book with planted per-plan sBG retention.

The book (`cx-value generate --profile contracts`) plants, per plan, theta ~ Beta(alpha,
beta) and churn at the end of every term with probability theta, on 1-, 12- and
24-month terms; the warehouse is built with `cx_retention_group_by: [plan_name]` (the
shared contract-book fixture). Expected values come from the generator's truth
(`_truth/contract_book.json`), never from the fit.
"""

from __future__ import annotations

import pytest
from conftest import ContractBook, query_rows

pytestmark = pytest.mark.integration


def test_every_plan_recovers_its_planted_alpha_and_beta(contract_book: ContractBook) -> None:
    plans = contract_book.truth["plans"]
    rows = query_rows(contract_book.with_invoices,
                  "select plan_name, term_months, parameter, estimate, standard_error, status,"
                  " fit_scope from marts.retention_sbg_parameters")
    assert {row[0] for row in rows} == set(plans)
    for plan, term_months, parameter, estimate, se, status, scope in rows:
        assert status == "fitted" and scope == "group", plan
        assert term_months == plans[plan]["term_months"], plan
        planted = plans[plan][parameter]
        print(f"{plan} {parameter}: {estimate:.3f} (SE {se:.3f}), planted {planted}")
        assert abs(estimate - planted) <= 1.96 * se, (plan, parameter, estimate, se, planted)


def test_sbg_survival_at_12_and_24_months_inside_the_km_interval(
        contract_book: ContractBook) -> None:
    rows = query_rows(contract_book.with_invoices,
                  "select plan_name, months, km_lower_95, km_upper_95, sbg_survival"
                  " from marts.retention_survival_curve where months in (12, 24)")
    seen = set()
    for plan, months, lower, upper, sbg in rows:
        assert lower <= sbg <= upper, (plan, months, lower, sbg, upper)
        seen.add((plan, months))
    # the two-year plan has no point at 12 months: its first decision is at 24
    assert seen == {("monthly_basic", 12), ("monthly_basic", 24), ("monthly_plus", 12),
                    ("monthly_plus", 24), ("annual", 12), ("annual", 24), ("biennial", 24)}


def test_a_two_year_customer_renews_more_likely_than_a_month_to_month_one(
        contract_book: ContractBook) -> None:
    """The two-year plan churns less per term (planted mean 0.043) than the basic
    month-to-month plan per month (0.091): at the first renewal the planted
    probabilities are 3.35 / 3.5 = 0.957 and 8 / 8.8 = 0.909."""
    plans = contract_book.truth["plans"]
    planted = {name: p["beta"] / (p["alpha"] + p["beta"]) for name, p in plans.items()}
    assert planted["biennial"] > planted["monthly_basic"]
    rows = dict(query_rows(contract_book.with_invoices,
                       "select d.plan_name, avg(r.renewal_probability)"
                       " from marts.fct_customer_retention as r"
                       " inner join intermediate.int_customer_contract_durations as d"
                       "   on r.customer_id = d.customer_id"
                       " where r.renewals = 0 group by 1"))
    assert rows["biennial"] > rows["monthly_basic"]
    for plan in ("biennial", "monthly_basic"):
        assert rows[plan] == pytest.approx(planted[plan], abs=0.03), plan
