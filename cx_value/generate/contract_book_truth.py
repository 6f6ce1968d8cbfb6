"""Truth of the generated contract book, computed from its planted events.

Nothing here reads the written files or any warehouse code: every figure comes from
the planted chains of :mod:`cx_value.generate.contract_book`. ``as_of`` is the export
day; the grace period is 0 days. Files in ``_truth/``:

- ``contract_book.json`` (layout below),
- ``contract_book_customers.parquet``: one row per customer,
- ``contract_book_churned.parquet``: one row per customer churned under ``notice``
  dating (a superset of those churned under ``end`` dating).

**Churn of a customer.** Only a customer's last known term can be unrenewed (every
earlier term has a successor starting the day after its end). A churner is a customer
whose churn term started on or before ``as_of``; its *last term end* is that term's
``end_date`` and its *lapse date* ``last term end + 1 day``. The *notice date* is the
date of ``cancelled_at`` when the notice is in the export (dated on or before
``as_of``).

- ``notice`` dating (the spec's default): churned when the notice date is on or before
  ``as_of`` (churn date = notice date), else when ``last term end < as_of`` (churn date =
  lapse date).
- ``end`` dating: churned when ``last term end < as_of`` (churn date = lapse date).

``churned_customers_by_month[dating]["YYYY-MM"]`` counts customers by the calendar month
of their churn date, for every month from the first term's month to ``as_of``'s month
(zeros included).

**Planted durations** (per plan, the sBG sample of the planting, in terms):
``is_churned_by_end`` as above; ``decided_terms`` = the churn term for those, else the
number of the customer's terms that ended before ``as_of`` (renewals decided so far;
a renewal signed ahead is not counted, so censoring never depends on the outcome).

**Trailing 12-month fees** of a churned customer: every term is billed monthly, billing
month k starting on ``start_date + k months`` (k = 0 .. term_months - 1, day clipped to
the month's length); ``trailing_12m_fees_cents`` sums the monthly fee of the customer's
billing months starting in ``[lapse - 12 months, lapse)`` (the lower bound's day
clipped likewise), whether billed yet or not; ``billed_by_as_of_cents`` only those
starting on or before ``as_of`` (the invoices in the export with ``--bill-subscriptions``).
Both equal for a customer churned under ``end`` dating. Amounts are also given as
decimal strings with two decimals.

**MRR** per calendar month: the sum of the monthly fees of the terms covering the
month's last day (``as_of`` for ``as_of``'s month), a term covering the days from its
``start_date`` to its ``end_date``; ``active_customers`` counts their customers.

JSON keys: ``generator`` (arguments), ``as_of``, ``export_at``, ``absent_tables``,
``definitions``, ``plans`` (per plan: ``term_months``, ``alpha``, ``beta``,
``mean_churn_per_term``, ``customers``, ``acquisition_years``,
``base_monthly_fee_cents``, ``realised``), ``attributes``, ``notice``, ``row_counts``,
``signed_ahead_terms``, ``churned_customers_by_month``, ``churned_customers_total``,
``trailing_12m_fees`` (``total_cents`` per dating and ``customers``: customer id ->
``plan``, ``lapse_date``, ``churn_date_notice``, ``churn_date_end``, ``cents``,
``amount``, ``billed_by_as_of_cents``, ``billed_by_as_of_amount``), ``mrr_by_month``
(month -> ``month_end``, ``mrr_cents``, ``mrr``, ``active_customers``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from cx_value.generate.contract_book import (
    ABSENT_TABLES,
    EXPORT_HOUR,
    LONG_NOTICE_DAYS,
    NOTICE_DAYS,
    NOTICE_SHARE,
    PAYMENT_METHODS,
    PLANS,
    SIGNED_AHEAD_DAYS,
    SIGNED_AHEAD_SHARE,
    Book,
    add_months,
    billing_months,
    month_index,
)
from cx_value.generate.text import DAY

DEFINITIONS = {
    "as_of": "the export day; rows are exported at or before export_at; grace 0 days",
    "lapse_date": "last term end_date + 1 day of a churner (its churn term started on or "
                  "before as_of)",
    "notice_date": "date of cancelled_at, present in the export only when on or before as_of",
    "churn_date_notice": "notice_date if the notice is in the export, else lapse_date if "
                         "the last term's end_date < as_of, else not churned",
    "churn_date_end": "lapse_date if the last term's end_date < as_of, else not churned",
    "billing_month": "billing month k of a term starts on start_date + k months (day "
                     "clipped), k = 0 .. term_months - 1",
    "trailing_12m_fees": "monthly fee of each billing month of the customer starting in "
                         "[lapse_date - 12 months, lapse_date); billed_by_as_of: those "
                         "starting on or before as_of",
    "mrr": "sum of monthly fees of terms with start_date <= d <= end_date, d = the "
           "month's last day or as_of in as_of's month",
    "decided_terms": "sBG duration in terms: the churn term when churned under end "
                     "dating, else the terms that ended before as_of",
}


def _iso(day: int) -> str:
    return str(np.datetime64(int(day), "D"))


def _month_label(month: int) -> str:
    return str(np.datetime64(int(month), "M"))


def _amount(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _dates(days: np.ndarray, valid: np.ndarray) -> pa.Array:
    return pa.array(np.where(valid, days, 0).astype(np.int32), pa.date32(), mask=~valid)


def _customer_outcomes(book: Book) -> dict[str, np.ndarray]:
    """Per customer: lapse, notice and churn dates under both datings, sBG duration."""
    as_of = book.as_of_day
    in_export = book.churn_in_export
    last_end = book.term_end(book.churn_term - 1)
    notice_day = np.where(book.notice_s >= 0, book.notice_s // DAY, -1)
    notice_seen = in_export & (book.notice_s >= 0) & (notice_day <= as_of)
    ended = in_export & (last_end < as_of)
    churned_notice = notice_seen | ended
    return {
        "in_export": in_export,
        "last_end": last_end,
        "lapse": last_end + 1,
        "notice_day": notice_day,
        "notice_seen": notice_seen,
        "churned_end": ended,
        "churned_notice": churned_notice,
        "churn_notice": np.where(notice_seen, notice_day, last_end + 1),
        "churn_end": last_end + 1,
        "decided": np.where(ended, book.churn_term, book.started_terms - 1),
    }


def _fees(book: Book, out: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per customer: trailing 12-month fees and those billed by as_of, in cents."""
    bills = billing_months(book)
    cust = book.terms.customer[bills.term]
    lapse = out["lapse"][cust]
    window = (bills.start >= add_months(lapse, -12)) & (bills.start < lapse)
    sel = window & out["churned_notice"][cust]
    fee = book.fee_cents[cust]
    total = np.bincount(cust[sel], weights=fee[sel], minlength=book.n)
    billed = sel & (bills.start <= book.as_of_day)
    by_as_of = np.bincount(cust[billed], weights=fee[billed], minlength=book.n)
    return np.rint(total).astype(np.int64), np.rint(by_as_of).astype(np.int64)


def _months(book: Book) -> tuple[np.ndarray, np.ndarray]:
    """Month indices from the first term's month to as_of's and each one's reference day."""
    first = int(month_index(book.anchor.min()))
    last = int(month_index(book.as_of_day))
    months = np.arange(first, last + 1)
    next_first = (months + 1).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    return months, np.minimum(next_first - 1, book.as_of_day)


def _mrr(book: Book, months: np.ndarray, ref_day: np.ndarray) -> dict[str, Any]:
    t = book.terms
    fee = book.fee_cents[t.customer]
    first = np.searchsorted(ref_day, t.start, side="left")
    last = np.searchsorted(ref_day, t.end, side="right") - 1
    covers = first <= last
    mrr = np.zeros(months.size + 1)
    active = np.zeros(months.size + 1)
    np.add.at(mrr, first[covers], fee[covers])
    np.add.at(mrr, last[covers] + 1, -fee[covers])
    np.add.at(active, first[covers], 1)
    np.add.at(active, last[covers] + 1, -1)
    mrr_c = np.rint(np.cumsum(mrr)[:-1]).astype(np.int64)
    active_c = np.rint(np.cumsum(active)[:-1]).astype(np.int64)
    return {_month_label(m): {"month_end": _iso(d), "mrr_cents": int(c), "mrr": _amount(int(c)),
                              "active_customers": int(a)}
            for m, d, c, a in zip(months, ref_day, mrr_c, active_c, strict=True)}


def _by_month(months: np.ndarray, days: np.ndarray) -> dict[str, int]:
    counts = np.bincount(month_index(days) - months[0], minlength=months.size)
    return {_month_label(m): int(c) for m, c in zip(months, counts, strict=True)}


def _plans(book: Book, out: dict[str, np.ndarray]) -> dict[str, Any]:
    plans: dict[str, Any] = {}
    for code, p in enumerate(PLANS):
        sel = book.plan == code
        plans[p.name] = {
            "term_months": p.term_months,
            "alpha": p.alpha,
            "beta": p.beta,
            "mean_churn_per_term": round(p.mean_churn, 6),
            "customers": int(sel.sum()),
            "acquisition_years": p.acquisition_years,
            "base_monthly_fee_cents": p.base_fee_cents,
            "realised": {
                "mean_theta": round(float(book.theta[sel].mean()), 6) if sel.any() else None,
                "churned_by_end": int((out["churned_end"] & sel).sum()),
                "churned_by_notice": int((out["churned_notice"] & sel).sum()),
                "censored_by_end": int((~out["churned_end"] & sel).sum()),
                "decided_terms_total": int(out["decided"][sel].sum()),
            },
        }
    return plans


def _attributes(book: Book) -> dict[str, Any]:
    return {
        "drawn_from": "u = Beta CDF of theta in the customer's plan (uniform on (0, 1)), so "
                      "each plan's theta stays Beta(alpha, beta)",
        "payment_method": {
            "type": "categorical",
            "levels": list(PAYMENT_METHODS),
            "probability": {"electronic_check": "0.10 + 0.60 u", "card": "0.45 - 0.30 u",
                            "bank_transfer": "0.45 - 0.30 u"},
            "sign": {"electronic_check": 1, "card": -1, "bank_transfer": -1},
            "customers": {m: int((book.payment_method == i).sum())
                          for i, m in enumerate(PAYMENT_METHODS)},
        },
        "data_usage_gb": {
            "type": "numeric",
            "formula": "usage_p * exp(-1.6 (u - 0.5) + N(0, 0.35))",
            "usage_p": {p.name: p.usage_gb for p in PLANS},
            "sign": -1,
        },
        "sign_meaning": "+1: more of it goes with a higher churn probability theta",
    }


def write_truth(book: Book, truth_dir: Path, arguments: dict[str, Any],
                rows: dict[str, int]) -> Path:
    """Write the truth files into ``truth_dir``; return the JSON's path."""
    out = _customer_outcomes(book)
    total, by_as_of = _fees(book, out)
    months, ref_day = _months(book)
    n = book.n
    ids = np.array([f"c{i:07d}" for i in range(1, n + 1)])
    plan_names = np.array([p.name for p in PLANS])[book.plan]
    churned = np.flatnonzero(out["churned_notice"])
    final_month = month_index(book.as_of_day)
    notice_final = (out["notice_seen"] & (month_index(out["notice_day"]) == final_month)
                    & (out["last_end"] > book.as_of_day))
    t = book.terms

    pq.write_table(pa.table({
        "customer_id": pa.array(ids),
        "plan": pa.array(plan_names),
        "term_months": pa.array(book.term_months),
        "theta": pa.array(book.theta),
        "theta_quantile": pa.array(book.theta_quantile),
        "churn_term": pa.array(book.churn_term),
        "started_terms": pa.array(book.started_terms),
        "terms_in_export": pa.array(np.bincount(t.customer, minlength=n)),
        "decided_terms": pa.array(out["decided"]),
        "is_churned_by_end": pa.array(out["churned_end"]),
        "is_churned_by_notice": pa.array(out["churned_notice"]),
        "monthly_fee_cents": pa.array(book.fee_cents),
        "payment_method": pa.array(np.array(PAYMENT_METHODS)[book.payment_method]),
        "data_usage_gb": pa.array(book.usage_centi_gb / 100.0),
        "gives_notice": pa.array(book.gives_notice & out["in_export"]),
        "planted_notice_date": _dates(out["notice_day"], out["in_export"]
                                      & (book.notice_s >= 0)),
        "notice_date": _dates(out["notice_day"], out["notice_seen"]),
        "last_term_end": _dates(out["last_end"], out["in_export"]),
        "lapse_date": _dates(out["lapse"], out["in_export"]),
        "churn_date_notice": _dates(out["churn_notice"], out["churned_notice"]),
        "churn_date_end": _dates(out["churn_end"], out["churned_end"]),
    }), truth_dir / "contract_book_customers.parquet")
    pq.write_table(pa.table({
        "customer_id": pa.array(ids[churned]),
        "plan": pa.array(plan_names[churned]),
        "lapse_date": _dates(out["lapse"][churned], np.ones(churned.size, bool)),
        "churn_date_notice": _dates(out["churn_notice"][churned], np.ones(churned.size, bool)),
        "churn_date_end": _dates(out["churn_end"][churned], out["churned_end"][churned]),
        "trailing_12m_fees_cents": pa.array(total[churned]),
        "billed_by_as_of_cents": pa.array(by_as_of[churned]),
    }), truth_dir / "contract_book_churned.parquet")

    fees = {
        str(ids[i]): {
            "plan": str(plan_names[i]),
            "lapse_date": _iso(out["lapse"][i]),
            "churn_date_notice": _iso(out["churn_notice"][i]),
            "churn_date_end": _iso(out["churn_end"][i]) if out["churned_end"][i] else None,
            "cents": int(total[i]), "amount": _amount(int(total[i])),
            "billed_by_as_of_cents": int(by_as_of[i]),
            "billed_by_as_of_amount": _amount(int(by_as_of[i])),
        } for i in churned
    }
    truth = {
        "generator": arguments,
        "as_of": book.as_of.isoformat(),
        "export_at": f"{book.as_of.isoformat()} {EXPORT_HOUR:02d}:00:00",
        "absent_tables": [*ABSENT_TABLES,
                          *(() if arguments.get("bill_subscriptions") else
                            ("orders", "order_lines"))],
        "definitions": DEFINITIONS,
        "plans": _plans(book, out),
        "attributes": _attributes(book),
        "notice": {
            "share_of_churners": NOTICE_SHARE,
            "days_before_end": {f"{p.term_months}_month_terms":
                                list(NOTICE_DAYS.get(p.term_months, LONG_NOTICE_DAYS))
                                for p in PLANS},
            "churners_with_notice_in_export": int(out["notice_seen"].sum()),
            "notice_in_final_month_term_ends_after_as_of": int(notice_final.sum()),
        },
        "row_counts": rows,
        "signed_ahead_terms": {"terms": int(t.signed_ahead.sum()), "share": SIGNED_AHEAD_SHARE,
                               "window_days": SIGNED_AHEAD_DAYS},
        "churned_customers_by_month": {
            "notice": _by_month(months, out["churn_notice"][out["churned_notice"]]),
            "end": _by_month(months, out["churn_end"][out["churned_end"]]),
        },
        "churned_customers_total": {"notice": int(out["churned_notice"].sum()),
                                    "end": int(out["churned_end"].sum())},
        "trailing_12m_fees": {
            "total_cents": {
                "notice": int(total[out["churned_notice"]].sum()),
                "end": int(total[out["churned_end"]].sum()),
                "notice_billed_by_as_of": int(by_as_of[out["churned_notice"]].sum()),
            },
            "customers": fees,
        },
        "mrr_by_month": _mrr(book, months, ref_day),
    }
    path = truth_dir / "contract_book.json"
    path.write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
    return path
