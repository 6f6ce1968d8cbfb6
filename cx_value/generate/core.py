"""The generator's entry point: simulate, write the raw tables and the planted truth."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from cx_value.contract import TABLES
from cx_value.generate import tables as tb
from cx_value.generate import text
from cx_value.generate import truth as tr
from cx_value.generate.dirty import DirtyMaker, Ledger
from cx_value.generate.params import BANDS, Params
from cx_value.generate.returns import DAY_KEY, day_key, sorted_unique
from cx_value.generate.simulate import World, simulate
from cx_value.generate.subscriptions import MAX_TERMS
from cx_value.generate.text import DAY
from cx_value.generate.timeline import Timeline
from cx_value.generate.web import CustomerWeb, customer_chunk, visitor_chunk
from cx_value.generate.writer import RawTableWriter, as_table

EVENT_CHUNK_CUSTOMERS = 50_000
# dirty rows get key numbers from 9 * 10^(width - 1) up; clean keys stay below that
MAX_CUSTOMERS = 5_000_000
TRUTH_DIR = "_truth"


@dataclass
class GenerationSummary:
    """What one generation wrote."""

    out_dir: Path
    rows: dict[str, int]
    clean_rows: dict[str, int]
    dirty_rows: dict[str, int]
    seconds: float
    paths: dict[str, Path] = field(default_factory=dict)
    truth_path: Path | None = None


def _progress(enabled: bool) -> Any:
    if not enabled:
        return nullcontext(None)
    return Progress(TextColumn("{task.description:<18}"), BarColumn(),
                    TextColumn("{task.completed:>,.0f}/{task.total:,.0f}"), TimeElapsedColumn())


def prepare_output_dir(out_dir: Path) -> Path:
    """Make ``out_dir`` ready for a fresh export: an empty truth folder (returned) and no
    raw file of any contract table left from an earlier run, so a table this run does
    not write cannot be read as if it had."""
    out_dir.mkdir(parents=True, exist_ok=True)
    truth_dir = out_dir / TRUTH_DIR
    if truth_dir.exists():
        shutil.rmtree(truth_dir)
    truth_dir.mkdir()
    for t in TABLES:
        for ext in ("csv", "parquet"):
            (out_dir / f"{t.name}.{ext}").unlink(missing_ok=True)
    return truth_dir


def generate(out_dir: Path, customers: int = 2000, seed: int = 42,
             fmt: Literal["csv", "parquet"] = "parquet", dirty_share: float = 0.02,
             as_of: date = date(2026, 6, 30), progress: bool = False,
             bill_subscriptions: bool = False) -> GenerationSummary:
    """Generate a deterministic demo raw-data set with a planted truth.

    Writes one file per raw table (``<table>.csv`` or ``<table>.parquet``, every column as
    text, columns in contract order) into ``out_dir`` and the planted truth into
    ``out_dir/_truth`` (``truth.json`` plus Parquet tables). The same arguments always
    give byte-identical files. ``bill_subscriptions`` adds one ``contract_billing`` order
    per month of each contract term (see ``params.Billing``).
    """
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"format must be csv or parquet, not {fmt!r}")
    if not 1 <= customers <= MAX_CUSTOMERS:
        raise ValueError(f"customers must be within [1, {MAX_CUSTOMERS:,}]")
    if not 0.0 <= dirty_share <= 0.5:
        raise ValueError("dirty_share must be within [0, 0.5]")
    started = time.perf_counter()
    out_dir = Path(out_dir)
    truth_dir = prepare_output_dir(out_dir)

    params = Params()
    if bill_subscriptions:
        params = replace(params, billing=replace(params.billing, bill_subscriptions=True))
    timeline = Timeline.build(as_of, params.history_years, params.acquisition_years)
    ledger = Ledger()
    rows: dict[str, int] = {}
    clean: dict[str, int] = {}
    paths: dict[str, Path] = {}
    currencies: dict[str, dict[str, int]] = {}

    with _progress(progress) as bar:
        task = bar.add_task("simulating", total=1) if bar else None
        world = simulate(customers, seed, (params, timeline))
        if bar:
            bar.update(task, completed=1)
        fmt_rng = world.rngs["format"]
        dirty_rng = world.rngs["dirty"]
        terms = tb.term_rows(world)
        srows = tb.survey_rows(world)
        builders: list[tuple[str, Callable[[], tb.Columns]]] = [
            ("customers", lambda: tb.customers(world, fmt_rng)),
            ("contacts", lambda: tb.contacts(world, fmt_rng)),
            ("deals", lambda: tb.deals(world, fmt_rng)),
            ("orders", lambda: tb.orders(world, fmt_rng)),
            ("order_lines", lambda: tb.order_lines(world, fmt_rng)),
            ("subscriptions", lambda: tb.subscriptions(world, terms, fmt_rng)),
            ("tickets", lambda: tb.tickets(world, fmt_rng)),
            ("referrals", lambda: tb.referrals(world, fmt_rng)),
            ("survey_responses", lambda: tb.survey_responses(world, srows, fmt_rng)),
        ]
        table_task = bar.add_task("tables", total=len(builders)) if bar else None
        for name, build in builders:
            if bar:
                bar.update(table_task, description=name)
            clean_table = as_table(name, build())
            clean[name] = clean_table.num_rows
            if "currency" in clean_table.column_names:
                currencies[name] = _currency_counts(clean_table.column("currency"))
            dirty = DirtyMaker(name, dirty_share, ledger).apply(clean_table, dirty_rng)
            with RawTableWriter(out_dir, name, fmt) as writer:
                writer.write_table(dirty)
                rows[name] = writer.rows
                paths[name] = writer.path
            if bar:
                bar.advance(table_task)
        web_truth = _write_events(world, out_dir, fmt, dirty_share, ledger, dirty_rng, bar,
                                  rows, clean, paths)
        arguments = dict(customers=customers, seed=seed, format=fmt, dirty_share=dirty_share,
                         as_of=as_of.isoformat(), bill_subscriptions=bill_subscriptions)
        _write_truth(world, truth_dir, terms, srows, ledger, web_truth, rows, clean,
                     currencies, arguments)
    seconds = time.perf_counter() - started
    dirty_counts = {t: rows[t] - clean[t] for t in rows}
    return GenerationSummary(out_dir=out_dir, rows=rows, clean_rows=clean,
                             dirty_rows=dirty_counts, seconds=round(seconds, 3), paths=paths,
                             truth_path=truth_dir / "truth.json")


def _customer_web(world: World, lo: int, hi: int) -> CustomerWeb:
    pop, s, r = world.pop, world.schedule, world.renewal
    idx = np.arange(lo, hi)
    row_of = s.row_of(pop.n)[idx]
    fell_start = np.full((idx.size, MAX_TERMS), -1, dtype=np.int64)
    fell_end = np.full((idx.size, MAX_TERMS), -1, dtype=np.int64)
    sub = row_of >= 0
    rows = row_of[sub]
    active = r.realised[rows] & s.web_fell[rows]
    end = (s.end[rows] + 1) * DAY
    start = end - world.params.renewal.web_fell_days * DAY
    fell_start[sub] = np.where(active, start, -1)
    fell_end[sub] = np.where(active, end, -1)
    dropout = world.one_off.dropout_at[idx]
    dormant = np.where(dropout >= 0, dropout + world.params.web.b2c_dormant_after_days * DAY, -1)
    return CustomerWeb(index=idx, created=pop.created[idx], until=pop.alive_until[idx],
                       is_b2b=pop.is_b2b[idx], band=pop.band[idx], dormant_from=dormant,
                       fell_start=fell_start, fell_end=fell_end)


def _write_events(world: World, out_dir: Path, fmt: Literal["csv", "parquet"],
                  dirty_share: float, ledger: Ledger, dirty_rng: np.random.Generator,
                  bar: Any, rows: dict[str, int], clean: dict[str, int],
                  paths: dict[str, Path]) -> dict[str, Any]:
    """Generate and write web events chunk by chunk; return the web truth."""
    pop, plan, tl, params = world.pop, world.web_plan, world.timeline, world.params
    n = pop.n
    bounds = [*list(range(0, n, EVENT_CHUNK_CUSTOMERS)), n]
    n_chunks = len(bounds) - 1
    chunk_rngs = [np.random.default_rng(s) for s in
                  np.random.SeedSequence(int(world.rngs["web"].integers(2**63))).spawn(
                      n_chunks + 1)]
    task = bar.add_task("events", total=n_chunks + 1) if bar else None
    maker = DirtyMaker("events", dirty_share, ledger)
    sessions = np.zeros(n, np.int64)
    awareness = np.zeros(n, np.int64)
    logged = np.zeros(n, np.int64)
    events = np.zeros(n, np.int64)
    n_dev = int(plan.n_devices.sum())
    identified = np.zeros(n_dev, dtype=bool)
    next_id = 1
    pending: Future[None] | None = None
    with RawTableWriter(out_dir, "events", fmt) as writer, \
            ThreadPoolExecutor(max_workers=1) as pool:
        for c in range(n_chunks):
            lo, hi = bounds[c], bounds[c + 1]
            res = customer_chunk(_customer_web(world, lo, hi), plan, params, tl.start_s,
                                 tl.end_s, tl.export_cap_s, next_id, chunk_rngs[c])
            next_id += res.n_events
            sessions[lo:hi] = res.sessions
            awareness[lo:hi] = res.awareness
            logged[lo:hi] = res.logged_in
            events[lo:hi] = res.events
            d0 = int(plan.device_start[lo])
            identified[d0:d0 + res.device_identified.size] = res.device_identified
            pending = _submit(pool, pending, writer, maker, as_table("events", res.columns),
                              dirty_rng, bar, task)
        cols, n_v, visitor_sessions = visitor_chunk(plan, n_dev, params, tl.start_s, tl.end_s,
                                                    tl.export_cap_s, next_id, chunk_rngs[-1])
        next_id += n_v
        pending = _submit(pool, pending, writer, maker, as_table("events", cols), dirty_rng,
                          bar, task)
        pending.result()
        rows["events"] = writer.rows
        paths["events"] = writer.path
    clean["events"] = next_id - 1
    owner = np.repeat(np.arange(n), plan.n_devices)
    return {
        "sessions": sessions, "awareness": awareness, "logged_in": logged, "events": events,
        "device_owner": owner, "device_identified": identified,
        "visitor_sessions": visitor_sessions, "visitor_events": n_v,
    }


def _submit(pool: ThreadPoolExecutor, pending: Future[None] | None, writer: RawTableWriter,
            maker: DirtyMaker, table: pa.Table, rng: np.random.Generator, bar: Any,
            task: Any) -> Future[None]:
    """Add dirty rows to and write one chunk in the background, one chunk at a time.

    Waiting for the previous chunk first keeps the order (and so the bytes) fixed and
    holds at most two chunks in memory.
    """
    if pending is not None:
        pending.result()

    def work() -> None:
        writer.write_table(maker.apply(table, rng))
        if bar:
            bar.advance(task)

    return pool.submit(work)


def _currency_counts(column: pa.ChunkedArray) -> dict[str, int]:
    """Clean rows per written currency value (empty left out)."""
    counts = pc.value_counts(column.combine_chunks()).to_pylist()
    return {c["values"]: c["counts"] for c in sorted(
        counts, key=lambda c: str(c["values"])) if c["values"] is not None}


def _write_truth(world: World, truth_dir: Path, terms: tb.TermRows, srows: tb.SurveyRows,
                 ledger: Ledger, web: dict[str, Any], rows: dict[str, int],
                 clean: dict[str, int], currencies: dict[str, dict[str, int]],
                 arguments: dict[str, Any]) -> None:
    pop, tl, plan = world.pop, world.timeline, world.web_plan
    n = pop.n
    cust_ids = text.ids("c", np.arange(1, n + 1))

    # per-customer truth
    spend = world.window_spend
    pq.write_table(pa.table({
        "customer_id": cust_ids,
        "customer_type": text.pick(("b2c", "b2b"), pop.is_b2b.astype(np.int8)),
        "band": text.pick(BANDS, pop.band),
        "relationship_survey_eligible": pa.array(pop.created < tl.survey_s),
        "window_spend_eur_bgnbd": pa.array(np.where(pop.is_b2b, np.nan, spend / 100.0)),
        "relationship_end": text.timestamps(pop.alive_until, pop.alive_until < tl.end_s),
        "planted_sessions": pa.array(web["sessions"]),
        "planted_awareness_sessions": pa.array(web["awareness"]),
        "planted_logged_in_sessions": pa.array(web["logged_in"]),
        "planted_events": pa.array(web["events"]),
    }), truth_dir / "customers.parquet")

    # identities: every anonymous id and the customer it belongs to
    n_dev = web["device_owner"].size
    owner = web["device_owner"]
    ident = web["device_identified"]
    anon_all = plan.anon_number
    dev_ids = text.ids("a", anon_all)
    owner_all = np.concatenate((owner, np.full(plan.n_visitors, -1)))
    ident_all = np.concatenate((ident, np.zeros(plan.n_visitors, dtype=bool)))
    order = np.argsort(anon_all, kind="stable")
    ids_tbl = pa.table({
        "anonymous_id": dev_ids.take(pa.array(order)),
        "customer_id": _masked_ids(owner_all[order], ident_all[order]),
        "owner_customer_id": _masked_ids(owner_all[order], owner_all[order] >= 0),
        "identified": pa.array(ident_all[order]),
    })
    pq.write_table(ids_tbl, truth_dir / "identities.parquet")

    f = world.referrals
    pq.write_table(pa.table({
        "referrer_customer_id": text.ids("c", f.referrer + 1),
        "referred_customer_id": text.ids("c", f.referred + 1),
        "referrer_band": text.pick(BANDS, pop.band[f.referrer]),
    }), truth_dir / "referrals.parquet")

    s, r = world.schedule, world.renewal
    row, k = terms.row, terms.k
    pq.write_table(pa.table({
        "subscription_id": text.ids("s", terms.number),
        "customer_id": text.ids("c", s.customer[row] + 1),
        "band": text.pick(BANDS, pop.band[s.customer[row]]),
        "term_index": pa.array(k.astype(np.int64)),
        "ends_in_window": pa.array(r.in_window[row, k]),
        "decided": pa.array(r.decided[row, k]),
        "detractor": pa.array(r.detractor[row, k]),
        "unresolved_complaint": pa.array(r.complaint[row, k]),
        "web_activity_fell": pa.array(s.web_fell[row, k]),
        "renewal_probability": pa.array(np.round(r.probability[row, k], 6)),
        "renewed": pa.array(r.renewed[row, k]),
    }), truth_dir / "terms.parquet")

    pq.write_table(ledger.to_table(), truth_dir / "dirty_rows.parquet")

    # revenue per customer, the way the warehouse computes it from the clean rows
    values = tr.line_values(world)
    cr = tr.customer_revenue(world, values)
    has_day = cr["purchase_days"] > 0
    pq.write_table(pa.table({
        "customer_id": cust_ids,
        "customer_type": text.pick(("b2c", "b2b"), pop.is_b2b.astype(np.int8)),
        "gross_cents": pa.array(cr["gross"]),
        "returns_cents": pa.array(cr["returns"]),
        "net_cents": pa.array(cr["net"]),
        "contract_billing_cents": pa.array(cr["billing"]),
        "net_purchase_days": pa.array(cr["purchase_days"]),
        "repeat_purchase_days": pa.array(np.maximum(cr["purchase_days"] - 1, 0),
                                         mask=~has_day),
        "first_purchase_date": _dates(cr["first_day"], has_day),
        "last_purchase_date": _dates(cr["last_day"], has_day),
        "bgnbd_planted_order_days": pa.array(_bgnbd_days(world), mask=pop.is_b2b),
    }), truth_dir / "customer_revenue.parquet")

    o = world.orders
    pr = tr.planted_returns(world, values)
    doc, credited = pr["doc"], pr["credited"]
    pq.write_table(pa.table({
        "order_id": text.ids("o", doc + 1),
        "customer_id": text.ids("c", o.customer[doc] + 1),
        "kind": text.pick(("partial_return", "same_day_cancellation"), pr["kind"]),
        "order_type": text.pick(("order", "return", "credit_note", "contract_billing"),
                                o.order_type[doc]),
        "ordered_at": text.timestamps(o.at[doc]),
        "credited_order_id": text.ids("o", credited + 1),
        "credited_ordered_at": text.timestamps(o.at[credited]),
        "linked": pa.array(pr["linked"]),
        "negative_quantities": pa.array(pr["negative"]),
        "returned_cents": pa.array(pr["returned_cents"]),
        "credited_gross_cents": pa.array(pr["credited_gross_cents"]),
    }), truth_dir / "returns.parquet")

    truth = {
        "generator": arguments,
        "calendar": tl.as_dict(),
        "row_counts": {"written": rows, "clean": clean,
                       "dirty": {t: rows[t] - clean[t] for t in rows}},
        "bands": tr.bands(world),
        "spend_uplift": tr.spend(world),
        "bgnbd": tr.bgnbd(world),
        "renewal": tr.renewal(world, terms.number),
        "stage_nps": tr.stage_nps(world),
        "expectation_gap": tr.expectation_gaps(world),
        "ces": tr.ces(world, srows),
        "service": tr.service(world),
        "discounts": tr.discounts(world),
        "returns": tr.returns(world, values, cr),
        "currency": {
            "reporting": world.params.currency.reporting,
            "clean_rows_with_explicit_code": currencies,
            "rule": "empty or the reporting code in any letter case is the reporting "
                    "currency; rows in other currencies are planted dirty rows only "
                    "(expected reason other_currency)",
        },
        "referrals": {
            "referred_customers": int(f.referred.size),
            "share": round(f.referred.size / max(n, 1), 6),
            "referrer_band_weight": world.params.referrer_band_weight,
            "referrals_by_referrer_band": {b: int((pop.band[f.referrer] == i).sum())
                                           for i, b in enumerate(BANDS)},
        },
        "deals": {
            "b2b_sales_cycle_median_days": world.params.b2b_sales_cycle_median_days,
            "b2c_sales_cycle_median_days": world.params.b2c_sales_cycle_median_days,
            "realised_b2b_sales_cycle_median_days": _won_cycle_median(world, True),
            "realised_b2c_sales_cycle_median_days": _won_cycle_median(world, False),
            "open_deals": int((world.deals.status == 0).sum()),
        },
        "web": {
            "planted_sessions_total": int(web["sessions"].sum()),
            "planted_visitor_sessions": web["visitor_sessions"],
            "customer_events": int(web["events"].sum()),
            "visitor_events": web["visitor_events"],
            "customer_anonymous_ids": int(n_dev),
            "identified_anonymous_ids": int(ident.sum()),
            "visitor_anonymous_ids": int(plan.n_visitors),
            "min_session_start_gap_hours": world.params.web.min_session_start_gap_hours,
            "max_event_gap_seconds": world.params.web.max_event_gap_seconds,
            "sessions_per_customer_by_band": {
                b: round(float(web["sessions"][pop.band == i].mean()), 6)
                if (pop.band == i).any() else None for i, b in enumerate(BANDS)},
            "social_events_factor_by_band": world.params.web.social_factor,
        },
        "dirty": {"share": arguments["dirty_share"], "counts": ledger.summary()},
        "parameters": asdict(world.params),
    }
    (truth_dir / "truth.json").write_text(json.dumps(truth, indent=2, sort_keys=False) + "\n",
                                          encoding="utf-8")


def _dates(days: np.ndarray, valid: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(valid), text.dates(np.maximum(days, 0)), text.blank(days.size))


def _bgnbd_days(world: World) -> np.ndarray:
    """Per customer: distinct UTC days of the planted BG/NBD purchases."""
    one = world.one_off
    keys = sorted_unique(day_key(one.customer, one.at))
    return np.bincount(keys // DAY_KEY, minlength=world.pop.n)


def _masked_ids(owner: np.ndarray, valid: np.ndarray) -> pa.Array:
    ids = text.ids("c", np.maximum(owner, 0) + 1)
    return pc.if_else(pa.array(valid), ids, text.blank(len(ids)))


def _won_cycle_median(world: World, b2b: bool) -> float | None:
    d = world.deals
    sel = (d.status == 1) & (world.pop.is_b2b[d.customer] == b2b)
    if not sel.any():
        return None
    return round(float(np.median((d.closed[sel] - d.created[sel]) / DAY)), 4)



