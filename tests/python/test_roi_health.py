"""The ROI and customer-health marts on the demo warehouse against the generator's truth.

`make test` builds the demo data into CX_DUCKDB_PATH before these run. The discount
cost and revenue of `mart_cx_roi_monthly`, summed over every month and segment, must
equal the generator's figures to the cent, and every month-by-segment NPS must equal an
NPS computed here from the staged survey answers.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DEMO_TRUTH = ROOT / "seeds" / "demo" / "_truth"
CENT = Decimal("0.01")


@pytest.fixture(scope="module")
def discounts_truth() -> dict[str, Any]:
    with open(DEMO_TRUTH / "truth.json", encoding="utf-8") as handle:
        return json.load(handle)["discounts"]


@pytest.fixture(scope="module")
def returns_truth() -> dict[str, Any]:
    with open(DEMO_TRUTH / "truth.json", encoding="utf-8") as handle:
        return json.load(handle)["returns"]


def _cents(value: Decimal) -> int:
    """Euros (an exact decimal from the mart) as whole cents; fails on sub-cent amounts."""
    cents = value * 100
    assert cents == cents.to_integral_value(), f"{value} is not a whole number of cents"
    return int(cents)


def _mart_totals(con: duckdb.DuckDBPyConnection) -> dict[str, Decimal]:
    cursor = con.execute(
        """
        select
            sum(completed_order_lines) as completed_order_lines,
            sum(order_lines) as order_lines,
            sum(discount_cost) as discount_cost,
            sum(gross_revenue) as gross_revenue,
            sum(returned_revenue) as returned_revenue,
            sum(net_revenue) as net_revenue,
            sum(list_value) as list_value,
            sum(margin) as margin,
            sum(all_lines_discount_cost) as all_lines_discount_cost,
            sum(all_lines_realised_value) as all_lines_realised_value,
            sum(all_lines_list_value) as all_lines_list_value
        from marts.mart_cx_roi_monthly
        """
    )
    names = [d[0] for d in cursor.description]
    row = cursor.fetchone()
    assert row is not None
    return dict(zip(names, row, strict=True))


def test_staged_order_lines_are_the_clean_lines(
    demo_db: duckdb.DuckDBPyConnection, returns_truth: dict[str, Any]
) -> None:
    """Truth counts the generator's clean lines; the raw file adds dirty rows. Staging
    must drop every one of them: rejected rows leave, and a planted duplicate keeps one
    copy, so the staged lines are exactly the clean ones."""
    ledger = [
        row for row in pq.read_table(DEMO_TRUTH / "dirty_rows.parquet").to_pylist()
        if row["table"] == "order_lines"
    ]
    kinds = Counter(row["kind"] for row in ledger)
    print(f"order_lines dirty rows: {dict(kinds)}")
    staged = demo_db.execute(
        "select count(*) from staging.stg_crm__order_lines"
    ).fetchone()
    # sale lines and return lines (returns and credit notes are staged, not rejected)
    assert staged is not None and staged[0] == returns_truth["lines_by_kind"]["all"]
    duplicate_keys = [row["key"] for row in ledger if row["kind"] == "duplicate"]
    assert duplicate_keys
    copies = demo_db.execute(
        "select order_line_id, count(*) from staging.stg_crm__order_lines"
        " where order_line_id in (select unnest(?)) group by order_line_id",
        [duplicate_keys],
    ).fetchall()
    assert sorted(key for key, _ in copies) == sorted(duplicate_keys)
    assert all(n == 1 for _, n in copies)
    rejected_keys = {
        row["key"] for row in ledger if row["expected_reason"] not in {"duplicate", "normalised"}
    }
    rejected_keys.discard(None)
    leaked = demo_db.execute(
        "select count(*) from staging.stg_crm__order_lines"
        " where order_line_id in (select lower(trim(unnest(?))))",
        [sorted(rejected_keys)],
    ).fetchone()
    assert leaked is not None and leaked[0] == 0


def test_completed_order_totals_equal_truth_to_the_cent(
    demo_db: duckdb.DuckDBPyConnection,
    discounts_truth: dict[str, Any],
    returns_truth: dict[str, Any],
) -> None:
    """The mart's headline columns are over completed documents, net of returns: gross
    equals truth's completed sale lines (completed_orders_only), the rest its returns
    totals. The net list value is the gross one less what the returned units listed at
    (their revenue plus their discount)."""
    totals = _mart_totals(demo_db)
    sales = discounts_truth["completed_orders_only"]
    returned = returns_truth["totals"]
    print(
        f"completed: gross mart {totals['gross_revenue']} vs truth {sales['revenue_eur']}; "
        f"returns mart {totals['returned_revenue']} vs truth {returned['returns_cents'] / 100}; "
        f"net mart {totals['net_revenue']}; margin mart {totals['margin']}"
    )
    assert totals["completed_order_lines"] == sales["lines"]
    assert _cents(totals["gross_revenue"]) == sales["revenue_cents"] == returned["gross_cents"]
    assert _cents(totals["returned_revenue"]) == returned["returns_cents"]
    assert _cents(totals["net_revenue"]) == returned["net_cents"]
    assert _cents(totals["discount_cost"]) == returned["net_discount_cents"]
    assert _cents(totals["list_value"]) == round(sales["list_value_eur"] * 100) - (
        returned["returns_cents"] + returned["returns_discount_cents"]
    )
    # every demo line has a unit cost, so the null-safe margin covers all revenue
    assert _cents(totals["margin"]) == returned["net_margin_cents"]


def test_all_line_totals_equal_truth_to_the_cent(
    demo_db: duckdb.DuckDBPyConnection,
    discounts_truth: dict[str, Any],
    returns_truth: dict[str, Any],
) -> None:
    """The all_lines_ columns keep cancelled and returned orders: truth's top block (sale
    lines of every status) less the return lines, which the generator issues completed."""
    totals = _mart_totals(demo_db)
    returned = returns_truth["totals"]
    print(
        f"all lines: discount cost mart {totals['all_lines_discount_cost']} vs truth "
        f"{discounts_truth['discount_cost_eur']}; realised mart "
        f"{totals['all_lines_realised_value']} vs truth {discounts_truth['revenue_eur']}"
    )
    assert totals["order_lines"] == returns_truth["lines_by_kind"]["all"]
    assert _cents(totals["all_lines_discount_cost"]) == (
        discounts_truth["discount_cost_cents"] - returned["returns_discount_cents"]
    )
    assert _cents(totals["all_lines_realised_value"]) == (
        discounts_truth["revenue_cents"] - returned["returns_cents"]
    )
    assert _cents(totals["all_lines_list_value"]) == round(
        discounts_truth["list_value_eur"] * 100
    ) - (returned["returns_cents"] + returned["returns_discount_cents"])


def test_monthly_nps_equals_an_independent_computation(
    demo_db: duckdb.DuckDBPyConnection,
) -> None:
    """NPS per calendar month of the answer by the customer's segment, counted here in
    Python from the staged answers, equals the mart on every row of its grid."""
    answers = demo_db.execute(
        """
        select survey_responses.answered_at, customers.segment, survey_responses.score
        from staging.stg_surveys__survey_responses as survey_responses
        inner join staging.stg_crm__customers as customers
            on survey_responses.customer_id = customers.customer_id
        where survey_responses.question_type = 'nps'
        """
    ).fetchall()
    counts: dict[tuple[Any, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for answered_at, segment, score in answers:
        cell = counts[(answered_at.date().replace(day=1), segment)]
        cell[0] += 1
        cell[1] += score >= 9
        cell[2] += score <= 6
    rows = demo_db.execute(
        "select month_start_date, segment, nps_respondents, promoters, nps"
        " from marts.mart_cx_roi_monthly"
    ).fetchall()
    assert sum(n for _, _, n, _, _ in rows) == len(answers) > 0
    assert {(month, segment) for month, segment, n, _, _ in rows if n > 0} == set(counts)
    checked = 0
    for month, segment, respondents, promoters, nps in rows:
        n, p, d = counts.get((month, segment), [0, 0, 0])
        assert respondents == n, (month, segment)
        assert promoters == p, (month, segment)
        if n == 0:
            assert nps is None, (month, segment)
        else:
            assert nps == pytest.approx(100 * (p - d) / n, abs=1e-9), (month, segment)
            checked += 1
    print(f"NPS checked on {checked} month-by-segment cells with answers, {len(rows)} rows")


def test_monthly_churned_customers_equal_an_independent_computation(
    demo_db: duckdb.DuckDBPyConnection,
) -> None:
    """Churned contract customers per churn month, recomputed here from the staged
    subscriptions with the default rules: a term is renewed when a term pointing at it
    starts within 30 days (cx_renewal_gap_days) of its end; one that is not is churned
    in the month of its notice (cancelled_at, known by the observation date), or else in
    the month of the day after its end once that day has come (cx_churn_grace_days 0).
    The observation date is the last loaded date of the subscriptions."""
    terms = demo_db.execute(
        "select subscription_id, customer_id, end_date, cancelled_at, loaded_at"
        " from staging.stg_crm__subscriptions"
    ).fetchall()
    segments = dict(demo_db.execute(
        "select customer_id, segment from staging.stg_crm__customers"
    ).fetchall())
    as_of = max(loaded_at for *_, loaded_at in terms).date()
    renewal_starts: dict[str, list[Any]] = defaultdict(list)
    for row in demo_db.execute(
        "select previous_subscription_id, start_date from staging.stg_crm__subscriptions"
        " where previous_subscription_id is not null"
    ).fetchall():
        renewal_starts[row[0]].append(row[1])
    expected: Counter[tuple[Any, str]] = Counter()
    for subscription_id, customer_id, end_date, cancelled_at, _ in terms:
        gap_end = end_date + timedelta(days=30)
        if any(start <= gap_end for start in renewal_starts[subscription_id]):
            continue
        notice = cancelled_at.date() if cancelled_at is not None else None
        if notice is not None and notice <= as_of:
            expected[(notice.replace(day=1), segments[customer_id])] += 1
        elif end_date + timedelta(days=1) <= as_of:
            expected[((end_date + timedelta(days=1)).replace(day=1), segments[customer_id])] += 1
    rows = demo_db.execute(
        "select month_start_date, segment, churned_customers from marts.mart_cx_roi_monthly"
        " where churned_customers > 0"
    ).fetchall()
    measured = Counter({(month, segment): n for month, segment, n in rows})
    print(f"churned contract customers: mart {sum(measured.values())}, "
          f"recomputed {sum(expected.values())}")
    assert sum(expected.values()) > 0
    assert measured == expected


def test_health_score_is_the_reweighted_mean_of_its_components(
    demo_db: duckdb.DuckDBPyConnection,
) -> None:
    """One row per customer; the score recomputed from the shown components with the
    default weights. The components are shown rounded to 4 decimals and the score is
    rounded to 4 decimals, so the two can differ by at most 5e-5 + 5e-5: 1e-4."""
    weights = {"nps": 0.25, "ces": 0.15, "complaint": 0.20, "usage": 0.15, "survival": 0.25}
    cursor = demo_db.execute(
        "select customer_id, health_score, health_band, "
        + ", ".join(f"{name}_component" for name in weights)
        + " from marts.mart_customer_health"
    )
    rows = cursor.fetchall()
    customers = demo_db.execute("select count(*) from marts.dim_customers").fetchone()
    assert customers is not None and len(rows) == customers[0]
    assert len({row[0] for row in rows}) == len(rows)
    for customer_id, score, band, *components in rows:
        known = [(w, c) for w, c in zip(weights.values(), components, strict=True)
                 if c is not None]
        recomputed = sum(w * c for w, c in known) / sum(w for w, _ in known)
        assert score == pytest.approx(recomputed, abs=1e-4), customer_id
        assert band == ("green" if score >= 70 else "amber" if score >= 40 else "red")


def test_one_off_buyers_below_the_p_alive_threshold_are_churned(
    demo_db: duckdb.DuckDBPyConnection,
) -> None:
    flags = demo_db.execute(
        """
        select health.is_churned, clv.p_alive < 0.5
        from marts.mart_customer_health as health
        inner join marts.fct_customer_clv as clv
            on health.customer_id = clv.customer_id
        where health.customer_type = 'b2c'
        """
    ).fetchall()
    assert flags
    assert all(flag == expected for flag, expected in flags)
    print(f"one-off buyers churned by P(alive) < 0.5: {sum(f for f, _ in flags)} of {len(flags)}")
