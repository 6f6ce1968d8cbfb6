"""Contract churn, fees paid and MRR on a generated telecom-style contract book.

The book (`cx-value generate --profile contracts`) holds month-to-month, one-year and
two-year contracts, notices given before the end (some in the export's last month on
terms that run past it) and a monthly invoice per billing month. Its truth
(`_truth/contract_book.json`) is counted by the generator from the events it planted.
The warehouse is built twice: with the invoices, and with orders declared absent.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from decimal import Decimal

import pytest
from conftest import ROOT, ContractBook, query_rows

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("build", ["with_invoices", "without_invoices"])
def test_churned_customers_per_month_equal_the_truth(contract_book: ContractBook,
                                                     build: str) -> None:
    """Churn dated by notice (the default): every month's count equals the planted one,
    the export's last month included, where notices on terms that still run are."""
    truth = contract_book.truth["churned_customers_by_month"]["notice"]
    rows = query_rows(getattr(contract_book, build),
                  "select strftime(month_start_date, '%Y-%m'), sum(churned_customers)"
                  " from marts.mart_cx_roi_monthly group by 1")
    measured = {month: int(n) for month, n in rows if n}
    expected = {month: n for month, n in truth.items() if n}
    last_month = contract_book.truth["as_of"][:7]
    print(f"{build}: last month {last_month}: {measured.get(last_month)} churned "
          f"(truth {expected.get(last_month)}); total {sum(measured.values())}")
    assert contract_book.truth["notice"]["notice_in_final_month_term_ends_after_as_of"] > 0
    assert expected[last_month] > 0
    assert measured == expected


@pytest.mark.parametrize("build", ["with_invoices", "without_invoices"])
def test_churned_trailing_fees_equal_the_truth_to_the_cent(contract_book: ContractBook,
                                                           build: str) -> None:
    """Per churned customer, the fees paid in the 12 months before the lapse equal the
    planted billing months of that window to the cent, whether the export carries the
    invoices or not (they are never added on top of the fees)."""
    truth = contract_book.truth["trailing_12m_fees"]["customers"]
    rows = query_rows(getattr(contract_book, build),
                  "select customer_id, fee_revenue_12m, revenue_12m, paid_months_12m"
                  " from intermediate.int_churned_terms_valued")
    measured = {customer: fee for customer, fee, _, _ in rows}
    assert all(revenue == fee for _, fee, revenue, _ in rows)  # no one-off orders here
    expected = {customer: Decimal(item["cents"]) / 100 for customer, item in truth.items()}
    differing = {c: (measured.get(c), expected.get(c))
                 for c in set(measured) | set(expected) if measured.get(c) != expected.get(c)}
    print(f"{build}: {len(measured)} churned customers, fees "
          f"{sum(measured.values())} (truth {sum(expected.values())})")
    assert not differing, list(differing.items())[:5]
    months = Counter(paid for *_, paid in rows)
    assert months[12] > 0 and sum(n for m, n in months.items() if m < 12) > 0


def test_mrr_equals_the_truth_every_month(contract_book: ContractBook) -> None:
    """MRR at each month's end (the observation date in the last month) equals the
    planted fees of the terms covering that day, and the movement adds up."""
    truth = contract_book.truth["mrr_by_month"]
    rows = query_rows(contract_book.without_invoices,
                  "select strftime(month_start_date, '%Y-%m'), sum(mrr_end),"
                  " sum(mrr_start + mrr_new + mrr_reactivation + mrr_expansion"
                  " - mrr_contraction - mrr_churned)"
                  " from marts.mart_cx_roi_monthly group by 1")
    measured = {month: end for month, end, _ in rows}
    assert all(end == moved for _, end, moved in rows)
    expected = {month: Decimal(item["mrr_cents"]) / 100 for month, item in truth.items()}
    common = set(expected) & set(measured)
    assert len(common) >= 24
    differing = {m: (measured[m], expected[m]) for m in common if measured[m] != expected[m]}
    assert not differing, sorted(differing.items())[:5]


def test_summary_reports_mrr_and_the_last_complete_month_churn(
        contract_book: ContractBook) -> None:
    """`cx-value summary` states the MRR on the observation date and the churn of the last
    complete month, as planted."""
    truth = contract_book.truth
    last = truth["as_of"][:7]
    previous = max(m for m in truth["churned_customers_by_month"]["notice"] if m < last)
    mrr = Decimal(truth["mrr_by_month"][last]["mrr_cents"]) / 100
    churned = truth["churned_customers_by_month"]["notice"][previous]
    run = subprocess.run(
        [sys.executable, "-m", "cx_value.cli", "summary"], cwd=ROOT, capture_output=True,
        text=True, check=False, env={**os.environ,
                                     "CX_DUCKDB_PATH": str(contract_book.without_invoices),
                                     "COLUMNS": "300"})
    text = " ".join(run.stdout.split())
    assert f"MRR EUR {mrr:,.2f} on the observation date" in text, text[-2000:]
    assert f"churned in {previous}: {churned:,} customers" in text
