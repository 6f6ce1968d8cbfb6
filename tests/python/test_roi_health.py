"""The ROI and customer-health marts on the demo warehouse against the generator's truth.

`make test` builds the demo data into CX_DUCKDB_PATH before these run. The discount
cost and revenue of `mart_cx_roi_monthly`, summed over every month and segment, must
equal the generator's figures to the cent, and every month-by-segment NPS must equal an
NPS computed here from the staged survey answers.
"""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from collections.abc import Iterator
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
def demo_db() -> Iterator[duckdb.DuckDBPyConnection]:
    path = Path(os.environ.get("CX_DUCKDB_PATH", ROOT / ".data/cx_value.duckdb"))
    if not path.exists():
        pytest.fail(f"{path} does not exist: run dbt build first (make test does)")
    con = duckdb.connect(str(path), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def discounts_truth() -> dict[str, Any]:
    with open(DEMO_TRUTH / "truth.json", encoding="utf-8") as handle:
        return json.load(handle)["discounts"]


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
            sum(discount_cost_eur) as discount_cost_eur,
            sum(revenue_eur) as revenue_eur,
            sum(list_value_eur) as list_value_eur,
            sum(margin_eur) as margin_eur,
            sum(all_lines_discount_cost_eur) as all_lines_discount_cost_eur,
            sum(all_lines_realised_value_eur) as all_lines_realised_value_eur,
            sum(all_lines_list_value_eur) as all_lines_list_value_eur
        from marts.mart_cx_roi_monthly
        """
    )
    names = [d[0] for d in cursor.description]
    row = cursor.fetchone()
    assert row is not None
    return dict(zip(names, row, strict=True))


def test_staged_order_lines_are_the_clean_lines(
    demo_db: duckdb.DuckDBPyConnection, discounts_truth: dict[str, Any]
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
    assert staged is not None and staged[0] == discounts_truth["lines"]
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
    demo_db: duckdb.DuckDBPyConnection, discounts_truth: dict[str, Any]
) -> None:
    """The mart's headline columns are over completed orders: truth's
    completed_orders_only block."""
    totals = _mart_totals(demo_db)
    truth = discounts_truth["completed_orders_only"]
    print(
        f"completed: discount cost mart {totals['discount_cost_eur']} vs truth "
        f"{truth['discount_cost_eur']}; revenue mart {totals['revenue_eur']} vs truth "
        f"{truth['revenue_eur']}; margin mart {totals['margin_eur']} vs truth "
        f"{truth['margin_eur']}"
    )
    assert totals["completed_order_lines"] == truth["lines"]
    assert _cents(totals["discount_cost_eur"]) == truth["discount_cost_cents"]
    assert _cents(totals["revenue_eur"]) == truth["revenue_cents"]
    assert _cents(totals["list_value_eur"]) == round(truth["list_value_eur"] * 100)
    # every demo line has a unit cost, so the null-safe margin covers all revenue
    assert _cents(totals["margin_eur"]) == round(truth["margin_eur"] * 100)


def test_all_line_totals_equal_truth_to_the_cent(
    demo_db: duckdb.DuckDBPyConnection, discounts_truth: dict[str, Any]
) -> None:
    """The all_lines_ columns keep cancelled and returned orders: truth's top block."""
    totals = _mart_totals(demo_db)
    print(
        f"all lines: discount cost mart {totals['all_lines_discount_cost_eur']} vs truth "
        f"{discounts_truth['discount_cost_eur']}; realised mart "
        f"{totals['all_lines_realised_value_eur']} vs truth {discounts_truth['revenue_eur']}"
    )
    assert totals["order_lines"] == discounts_truth["lines"]
    assert _cents(totals["all_lines_discount_cost_eur"]) == discounts_truth["discount_cost_cents"]
    assert _cents(totals["all_lines_realised_value_eur"]) == discounts_truth["revenue_cents"]
    assert _cents(totals["all_lines_list_value_eur"]) == round(
        discounts_truth["list_value_eur"] * 100
    )


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
