"""Referral value (CRV) of the engagement-value mart against the demo's planted referrals.

Needs the demo warehouse: `make test` builds it into CX_DUCKDB_PATH before the
integration tests run. The expected numbers come from the generator's truth
(`seeds/demo/_truth/referrals.parquet`), the raw referrals file, the dirty-row ledger
and staging's rejected rows; the referred customers' CLV is recomputed here from
fct_customer_clv and fct_customer_retention, not read from the mart's intermediate.
"""

from __future__ import annotations

import calendar
import csv
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from cx_value.clv import SBGParams, sbg_survival

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "seeds" / "demo"
TRUTH = DEMO / "_truth"
NOT_REJECTED = {"duplicate", "normalised"}
MONTHLY_DISCOUNT_RATE = 0.01  # var cx_clv_monthly_discount_rate in dbt_project.yml
REFERRAL_SHARE = 1.0  # var cx_cev_referral_attribution_share, default
HORIZON_MONTHS = 12


def _norm(value: str) -> str:
    """Ids as staging normalises them (var cx_id_case: lower)."""
    return value.strip().lower()


def _add_months(day: date, months: int) -> date:
    """Calendar month arithmetic, the day clamped to the month's end (as dbt.dateadd)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _rejected_referral_ids(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Referral rows planted dirty enough to reject, which staging must have rejected."""
    ledger = pq.read_table(TRUTH / "dirty_rows.parquet").to_pylist()
    planted = {
        _norm(row["key"]) for row in ledger
        if row["table"] == "referrals" and row["expected_reason"] not in NOT_REJECTED
    }
    staged_rejects = {
        _norm(key) for (key,) in con.execute(
            "select raw_key from staging.stg_crm__referrals_rejected where raw_key is not null"
        ).fetchall()
    }
    # a referral can also be rejected for a customer whose own row was rejected
    return planted | staged_rejects


def _expected_referrals(con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    """Planted (referrer -> referred customers), less the pairs whose every raw row was rejected."""
    planted = pq.read_table(TRUTH / "referrals.parquet").to_pylist()
    rejected = _rejected_referral_ids(con)
    kept_pairs: set[tuple[str, str]] = set()
    with (DEMO / "referrals.csv").open(newline="") as raw:
        for row in csv.DictReader(raw):
            if not row["referral_id"] or _norm(row["referral_id"]) in rejected:
                continue
            if row["referrer_customer_id"] and row["referred_customer_id"]:
                kept_pairs.add(
                    (_norm(row["referrer_customer_id"]), _norm(row["referred_customer_id"]))
                )
    expected: dict[str, set[str]] = defaultdict(set)
    for row in planted:
        pair = (_norm(row["referrer_customer_id"]), _norm(row["referred_customer_id"]))
        if pair in kept_pairs:
            expected[pair[0]].add(pair[1])
    return expected


def _clv_12m(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """12-month CLV per customer: one-off BG/NBD CLV plus the contract's expected fees.

    A month k = 1..12 after the observation date is paid for sure while the current term
    runs (it starts before the term's end); after notice nothing is paid after the end;
    otherwise it is paid if the customer renews at every decision up to it, with the sBG
    survival S(n + j) / S(n) of the customer's retention group (j: one decision at the
    term's end, then one per period); discounted by (1 + d)^k.
    """
    clv: Counter[str] = Counter()
    for customer_id, value in con.execute(
        "select customer_id, expected_clv_12m from marts.fct_customer_clv"
    ).fetchall():
        clv[customer_id] += value
    rows = con.execute(
        """select c.customer_id, o.as_of_date, coalesce(r.monthly_fee, c.current_monthly_fee),
                  r.renewals, r.period_months, r.sbg_alpha, r.sbg_beta,
                  c.subscription_status, c.current_term_end_date
           from marts.dim_customers as c
           cross join intermediate.int_observation_date as o
           left join marts.fct_customer_retention as r on r.customer_id = c.customer_id
           where c.subscription_status in ('active', 'notice_given', 'in_grace')"""
    ).fetchall()
    for customer_id, as_of, fee, renewals, period, alpha, beta, status, term_end in rows:
        contracted = 0
        for k in range(1, HORIZON_MONTHS + 1):
            if status in ("active", "notice_given") and _add_months(as_of, k - 1) < term_end:
                paid = 1.0
                contracted += 1
            elif status == "notice_given":
                paid = 0.0
            else:
                decisions = 1 + (k - 1 - contracted) // period
                params = SBGParams(alpha=alpha, beta=beta)
                paid = float(sbg_survival(params, renewals + decisions)
                             / sbg_survival(params, renewals))
            clv[customer_id] += float(fee) * paid / (1 + MONTHLY_DISCOUNT_RATE) ** k
    return clv


def _mart(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, float]]:
    rows = con.execute(
        "select customer_id, referred_customers, crv from marts.fct_customer_engagement_value"
    ).fetchall()
    return {customer_id: (referred, crv) for customer_id, referred, crv in rows}


def test_planted_referrals_survive_staging(demo_db: duckdb.DuckDBPyConnection) -> None:
    """Every planted referral is staged unless its row was rejected, and nothing else is."""
    expected = _expected_referrals(demo_db)
    staged = {
        (referrer, referred) for referrer, referred in demo_db.execute(
            "select referrer_customer_id, referred_customer_id from staging.stg_crm__referrals"
        ).fetchall()
    }
    planted = {
        (referrer, referred) for referrer, referreds in expected.items() for referred in referreds
    }
    assert staged == planted
    assert len(planted) > 0


def test_referred_customers_equal_the_planted_counts(demo_db: duckdb.DuckDBPyConnection) -> None:
    expected = _expected_referrals(demo_db)
    mart = _mart(demo_db)
    for referrer, referreds in expected.items():
        assert mart[referrer][0] == len(referreds), referrer
    others = {c: v for c, v in mart.items() if c not in expected}
    assert all(referred == 0 for referred, _ in others.values())
    assert sum(referred for referred, _ in mart.values()) == sum(map(len, expected.values()))


def test_crv_is_the_clv_of_the_referred_customers(demo_db: duckdb.DuckDBPyConnection) -> None:
    expected = _expected_referrals(demo_db)
    clv = _clv_12m(demo_db)
    mart = _mart(demo_db)
    assert any(clv[r] > 0 for referreds in expected.values() for r in referreds)
    for referrer, referreds in expected.items():
        want = REFERRAL_SHARE * sum(clv[r] for r in referreds)
        assert mart[referrer][1] == pytest.approx(want, rel=1e-9, abs=1e-6), referrer


def test_customers_without_a_planted_referral_have_no_crv(
    demo_db: duckdb.DuckDBPyConnection,
) -> None:
    expected = _expected_referrals(demo_db)
    mart = _mart(demo_db)
    assert len(mart) == demo_db.execute("select count(*) from marts.dim_customers").fetchone()[0]
    without = [crv for customer_id, (_, crv) in mart.items() if customer_id not in expected]
    assert without and all(crv == 0 for crv in without)
