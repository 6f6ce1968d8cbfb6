"""Returns, cancellations and credit notes net out, to the cent, and never raise CLV.

The demo data plants partial returns weeks after their orders (linked or not, with
negative or positive quantities) and large orders cancelled the same day
(`_truth/returns.parquet`, `truth.json` "returns", `_truth/customer_revenue.parquet`).
`make test` builds the demo warehouse into CX_DUCKDB_PATH before these run. A further
build adds a customer whose every purchase was reversed.
"""

from __future__ import annotations

import csv
import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
from conftest import ROOT, run_cx_value

pytestmark = pytest.mark.integration

DEMO = ROOT / "seeds" / "demo"
TRUTH = DEMO / "_truth"


@pytest.fixture(scope="module")
def returns_truth() -> dict[str, Any]:
    with open(TRUTH / "truth.json", encoding="utf-8") as handle:
        return json.load(handle)["returns"]


def _cents(value: Decimal | None) -> int:
    assert value is not None
    cents = value * 100
    assert cents == cents.to_integral_value(), f"{value} is not a whole number of cents"
    return int(cents)


def test_gross_returns_and_net_per_month_to_the_cent(
    demo_db: duckdb.DuckDBPyConnection, returns_truth: dict[str, Any]
) -> None:
    """mart_cx_roi_monthly, summed over segments, against the planted months."""
    rows = demo_db.execute(
        """
        select strftime(month_start_date, '%Y-%m'), sum(gross_revenue),
            sum(returned_revenue), sum(net_revenue), sum(margin)
        from marts.mart_cx_roi_monthly
        group by 1
        """
    ).fetchall()
    mart = {month: values for month, *values in rows}
    planted = returns_truth["by_month"]
    print(f"{len(planted)} planted months; totals {returns_truth['totals']}")
    for month, truth in planted.items():
        gross, returned, net, margin = mart[month]
        assert (_cents(gross), _cents(returned), _cents(net), _cents(margin)) == (
            truth["gross_cents"], truth["returns_cents"], truth["net_cents"],
            truth["net_margin_cents"],
        ), month
    # months the mart adds to its grid hold no revenue
    for month in set(mart) - set(planted):
        assert mart[month][0] == 0 and mart[month][1] == 0, month
    totals = returns_truth["totals"]
    assert sum(_cents(v[1]) for v in mart.values()) == totals["returns_cents"]
    assert sum(_cents(v[2]) for v in mart.values()) == totals["net_cents"]


def test_gross_returns_and_net_per_customer_to_the_cent(
    demo_db: duckdb.DuckDBPyConnection,
) -> None:
    planted = {
        row["customer_id"]: row
        for row in pq.read_table(TRUTH / "customer_revenue.parquet").to_pylist()
    }
    rows = demo_db.execute(
        "select customer_id, gross_revenue, returned_revenue, net_revenue"
        " from marts.fct_customer_revenue"
    ).fetchall()
    assert len(rows) == len(planted)
    with_returns = 0
    for customer_id, gross, returned, net in rows:
        truth = planted[customer_id]
        assert (_cents(gross), _cents(returned), _cents(net)) == (
            truth["gross_cents"], truth["returns_cents"], truth["net_cents"]
        ), customer_id
        with_returns += truth["returns_cents"] > 0
    print(f"{len(rows)} customers to the cent, {with_returns} with returns")
    assert with_returns > 50


def test_returns_do_not_change_the_planted_purchase_histories(
    demo_db: duckdb.DuckDBPyConnection,
) -> None:
    """Every one-off buyer's net purchase days are the planted ones: a same-day full
    cancellation adds no purchase, a partial return keeps its day."""
    planted = {
        row["customer_id"]: row
        for row in pq.read_table(TRUTH / "customer_revenue.parquet").to_pylist()
        if row["bgnbd_planted_order_days"] is not None
    }
    rows = demo_db.execute(
        "select customer_id, frequency, cast(first_purchase_date as varchar),"
        " cast(last_purchase_date as varchar)"
        " from intermediate.int_customer_purchase_histories"
    ).fetchall()
    histories = {customer_id: rest for customer_id, *rest in rows}
    assert set(histories) == set(planted)
    for customer_id, truth in planted.items():
        frequency, first, last = histories[customer_id]
        assert frequency + 1 == truth["bgnbd_planted_order_days"], customer_id
        assert (first, last) == (truth["first_purchase_date"], truth["last_purchase_date"])


def _demo_export(folder: Path) -> Path:
    """The demo seeds as a raw CSV export in ``folder``/raw, to alter and build."""
    raw = folder / "raw"
    shutil.copytree(DEMO, raw, ignore=shutil.ignore_patterns("_truth", "*.yml"))
    return raw


def _build_clv(raw: Path, database: Path, scratch: Path) -> None:
    """`cx-value build` of the CLV models and everything they read, on ``raw``."""
    built = run_cx_value(
        ["build", "--raw-dir", str(raw), "--format", "csv", "--select", "+fct_customer_clv",
         "--exclude", "test_type:unit"],
        {"CX_DUCKDB_PATH": str(database)}, scratch,
    )
    assert built.returncode == 0, built.stdout[-4000:]


def _remove_documents(raw: Path, order_ids: set[str]) -> int:
    """Drop these orders and their lines from the raw CSV files; return the rows dropped."""
    dropped = 0
    for name in ("orders.csv", "order_lines.csv"):
        path = raw / name
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        kept = [row for row in rows if row["order_id"].strip().lower() not in order_ids]
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]), quoting=csv.QUOTE_ALL,
                                    lineterminator="\n")
            writer.writeheader()
            writer.writerows(kept)
        dropped += len(rows) - len(kept)
    return dropped


def test_a_large_order_cancelled_the_same_day_leaves_clv_unchanged(
    demo_db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """The counterfactual: the demo export without the planted same-day cancellations
    (each large order and its credit note removed) gives every customer the same CLV,
    and the same fitted parameters, as the export with them."""
    pairs = [
        row for row in pq.read_table(TRUTH / "returns.parquet").to_pylist()
        if row["kind"] == "same_day_cancellation"
    ]
    assert pairs
    removed = {row["order_id"] for row in pairs} | {row["credited_order_id"] for row in pairs}
    raw = _demo_export(tmp_path)
    assert _remove_documents(raw, removed) > 0
    database = tmp_path / "without_cancellations.duckdb"
    _build_clv(raw, database, tmp_path)
    query = (
        "select customer_id, expected_clv_12m, frequency, recency_weeks, t_weeks"
        " from marts.fct_customer_clv order by customer_id"
    )
    with duckdb.connect(str(database), read_only=True) as con:
        without = con.execute(query).fetchall()
        parameters_without = con.execute(
            "select parameter, estimate from marts.clv_bgnbd_parameters order by 1"
        ).fetchall()
    with_cancellations = demo_db.execute(query).fetchall()
    parameters_with = demo_db.execute(
        "select parameter, estimate from marts.clv_bgnbd_parameters order by 1"
    ).fetchall()
    assert parameters_with == parameters_without
    # same histories, same fit; DuckDB's parallel sums may differ in the last digit
    assert [row[0] for row in with_cancellations] == [row[0] for row in without]
    for kept, removed in zip(with_cancellations, without, strict=True):
        assert kept[2:] == removed[2:], kept[0]
        assert kept[1] == pytest.approx(removed[1], rel=1e-12), kept[0]
    cancelled_customers = {row["customer_id"] for row in pairs}
    clv = {row[0]: row[1] for row in with_cancellations}
    print(
        f"{len(pairs)} same-day cancellations of {len(cancelled_customers)} customers; "
        f"their CLV: {[round(clv[c], 2) for c in sorted(cancelled_customers)]}"
    )


def _append(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open(newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    with path.open("a", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, quoting=csv.QUOTE_ALL,
                                lineterminator="\n")
        for row in rows:
            writer.writerow({column: row.get(column, "") for column in header})


def test_a_fully_reversed_customer_has_clv_zero(tmp_path: Path) -> None:
    """A consumer whose first order was cancelled the same day by a linked credit note
    and whose second was returned in full weeks later by an unlinked return (negative
    quantities) kept nothing: no purchase history, CLV 0."""
    raw = _demo_export(tmp_path)
    _append(raw / "customers.csv", [{
        "customer_id": "c_reversed", "customer_type": "b2c", "segment": "consumer",
        "created_at": "2025-03-01 09:00:00", "loaded_at": "2025-03-01 10:00:00",
    }])
    stamp = {"status": "completed", "channel": "web"}
    _append(raw / "orders.csv", [
        {"order_id": "o_rev_1", "customer_id": "c_reversed",
         "ordered_at": "2025-03-01 09:00:00", "loaded_at": "2025-03-01 10:00:00", **stamp},
        {"order_id": "cn_rev_1", "customer_id": "c_reversed", "order_type": "credit_note",
         "original_order_id": "o_rev_1", "ordered_at": "2025-03-01 09:30:00",
         "loaded_at": "2025-03-01 10:00:00", **stamp},
        {"order_id": "o_rev_2", "customer_id": "c_reversed",
         "ordered_at": "2025-04-10 12:00:00", "loaded_at": "2025-04-10 13:00:00", **stamp},
        {"order_id": "r_rev_2", "customer_id": "c_reversed",
         "ordered_at": "2025-05-02 12:00:00", "loaded_at": "2025-05-02 13:00:00", **stamp},
    ])
    price = {"list_price": "40.00", "realised_price": "40.00", "unit_cost": "25.00",
             "loaded_at": "2025-05-03 00:00:00"}
    _append(raw / "order_lines.csv", [
        {"order_line_id": "l_rev_1", "order_id": "o_rev_1", "quantity": "3", **price},
        {"order_line_id": "l_cn_1", "order_id": "cn_rev_1", "quantity": "3", **price},
        {"order_line_id": "l_rev_2", "order_id": "o_rev_2", "quantity": "2", **price},
        {"order_line_id": "l_r_2", "order_id": "r_rev_2", "quantity": "-2", **price},
    ])
    database = tmp_path / "warehouse.duckdb"
    _build_clv(raw, database, tmp_path)
    with duckdb.connect(str(database), read_only=True) as con:
        row = con.execute(
            "select expected_clv_12m, is_fully_reversed, frequency, p_alive"
            " from marts.fct_customer_clv where customer_id = 'c_reversed'"
        ).fetchone()
        days = con.execute(
            "select count(*), sum(net_revenue) from intermediate.int_customer_purchase_days"
            " where customer_id = 'c_reversed'"
        ).fetchone()
    assert row == (0.0, True, None, None)
    assert days == (2, Decimal("0.0000"))
