"""Dirty rows: extra defective rows (one defect each) and in-place normalisations.

Every dirty row is recorded in a ledger with the reject reason staging is expected to
give it (or ``normalised`` / ``duplicate``). Added rows copy a clean row, get a new key
that no clean row uses, and then exactly one defect, so the expected reason is the
defect's own whatever the precedence of ``contract.REJECT_REASONS``. Two defects point at
other planted dirty rows: ``rejected_customer`` (a child row whose customer is a planted
rejected customer row) and ``rejected_order`` (a line whose order is a planted rejected
order row); ``unknown_customer`` / ``unknown_order`` rows point at ids that exist nowhere
(suffix ``x``). Tables are dirtied in dependency order (customers, then orders, then
order lines), so the rejected rows they point at are already in the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cx_value.generate.params import Currency
from cx_value.generate.text import DAY, HOUR, ID_WIDTHS, ids

IN_PLACE = ("id_whitespace_case", "timezone_offset")
# kinds whose row is not rejected, or cannot be referenced (no key)
NOT_REJECTED = ("duplicate", "id_whitespace_case", "timezone_offset", "missing_key")
# the planted rejected rows a defect points at: kind -> referenced table
POINTS_AT = {"rejected_customer": "customers", "rejected_order": "orders"}
OTHER_CURRENCIES = Currency().other_codes
EXPECTED_REASON = {
    "duplicate": "duplicate",
    "id_whitespace_case": "normalised",
    "timezone_offset": "normalised",
}
BAD_NUMBERS = ("n/a", "12,5€", "abc", "1.2.3", "--")
BAD_TIMESTAMPS = ("31/02/2025", "not a date", "2025-13-45", "2025-02-30 25:61:00", "yesterday")
TS_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class DirtSpec:
    """Which defects make sense for one raw table, and on which columns."""

    key: str
    prefix: str
    kinds: tuple[str, ...]
    id_columns: tuple[str, ...] = ()  # key/foreign keys that can get stray spaces/case
    tz_column: str = "loaded_at"
    required: tuple[str, ...] = ()
    numeric: tuple[str, ...] = ()
    timestamps: tuple[str, ...] = ()
    # (column, bad values) options; each dirty row gets one option at random
    invalid_value: tuple[tuple[str, tuple[str, ...]], ...] = ()
    out_of_range: tuple[tuple[str, tuple[str, ...]], ...] = ()
    future: str = ""
    inconsistent: tuple[str, str, str] | None = None  # (changed, reference, "ts"|"date")
    customer_column: str = ""
    order_column: str = ""
    currency_column: str = ""
    amount_column: str = ""  # other_currency only on rows that have an amount
    extra: dict[str, str] = field(default_factory=dict)


COMMON = ("duplicate", "id_whitespace_case", "timezone_offset", "missing_key",
          "missing_required")

SPECS: dict[str, DirtSpec] = {
    "customers": DirtSpec(
        key="customer_id", prefix="c",
        kinds=(*COMMON, "invalid_timestamp", "invalid_value", "future_timestamp"),
        id_columns=("customer_id",), tz_column="created_at",
        required=("customer_type", "segment", "created_at"), timestamps=("created_at",),
        invalid_value=(("customer_type", ("b2x", "business", "unknown")),),
        future="created_at",
    ),
    "contacts": DirtSpec(
        key="contact_id", prefix="p",
        kinds=(*COMMON, "invalid_timestamp", "invalid_value", "future_timestamp",
               "unknown_customer", "rejected_customer"),
        id_columns=("contact_id", "customer_id"), tz_column="created_at",
        required=("customer_id", "created_at"), timestamps=("created_at",),
        invalid_value=(("is_primary", ("maybe", "perhaps")),), future="created_at",
        customer_column="customer_id",
    ),
    "deals": DirtSpec(
        key="deal_id", prefix="d",
        kinds=(*COMMON, "invalid_number", "invalid_timestamp", "invalid_value",
               "other_currency", "out_of_range", "future_timestamp", "inconsistent_dates",
               "unknown_customer", "rejected_customer"),
        id_columns=("deal_id", "customer_id"), tz_column="created_at",
        required=("customer_id", "deal_type", "status", "created_at"), numeric=("amount",),
        timestamps=("created_at",),
        invalid_value=(("deal_type", ("webinar", "call", "pilot")),),
        out_of_range=(("amount", ("-100.00", "-2500.50")),), future="closed_at",
        inconsistent=("closed_at", "created_at", "ts"), customer_column="customer_id",
        currency_column="currency", amount_column="amount",
    ),
    "orders": DirtSpec(
        key="order_id", prefix="o",
        kinds=(*COMMON, "invalid_timestamp", "invalid_value", "other_currency",
               "future_timestamp", "unknown_customer", "rejected_customer"),
        id_columns=("order_id", "customer_id", "original_order_id", "subscription_id"),
        tz_column="ordered_at",
        required=("customer_id", "ordered_at", "status"), timestamps=("ordered_at",),
        invalid_value=(("status", ("shipped", "pending?", "lost")),
                       ("order_type", ("refund", "exchange", "invoice"))),
        future="ordered_at", customer_column="customer_id", currency_column="currency",
    ),
    "order_lines": DirtSpec(
        key="order_line_id", prefix="l",
        kinds=(*COMMON, "invalid_number", "out_of_range", "unknown_order", "rejected_order"),
        id_columns=("order_line_id", "order_id"), tz_column="loaded_at",
        required=("order_id", "quantity", "list_price", "realised_price"),
        numeric=("quantity", "list_price", "realised_price", "unit_cost"),
        # a negative quantity is a returned quantity, not out of range; 0 is
        out_of_range=(("quantity", ("0",)), ("realised_price", ("-4.99", "-120.00")),
                      ("list_price", ("-10.00",))),
        order_column="order_id",
    ),
    "subscriptions": DirtSpec(
        key="subscription_id", prefix="s",
        kinds=(*COMMON, "invalid_number", "invalid_timestamp", "other_currency",
               "out_of_range", "future_timestamp", "inconsistent_dates", "unknown_customer",
               "rejected_customer"),
        id_columns=("subscription_id", "customer_id"), tz_column="cancelled_at",
        required=("customer_id", "start_date", "end_date", "monthly_fee"),
        numeric=("monthly_fee",), timestamps=("start_date", "end_date"),
        out_of_range=(("monthly_fee", ("-49.00", "-10.50")),), future="cancelled_at",
        inconsistent=("end_date", "start_date", "date"), customer_column="customer_id",
        currency_column="currency",
    ),
    "tickets": DirtSpec(
        key="ticket_id", prefix="t",
        kinds=(*COMMON, "invalid_number", "invalid_timestamp", "invalid_value", "out_of_range",
               "future_timestamp", "inconsistent_dates", "unknown_customer",
               "rejected_customer"),
        id_columns=("ticket_id", "customer_id"), tz_column="opened_at",
        required=("customer_id", "channel", "is_complaint", "opened_at", "reopen_count"),
        numeric=("reopen_count", "agent_contacts"), timestamps=("opened_at",),
        invalid_value=(("is_complaint", ("maybe", "unknown")),),
        out_of_range=(("reopen_count", ("-1", "-2")),), future="resolved_at",
        inconsistent=("resolved_at", "opened_at", "ts"), customer_column="customer_id",
    ),
    "referrals": DirtSpec(
        key="referral_id", prefix="f",
        kinds=(*COMMON, "invalid_timestamp", "invalid_value", "future_timestamp",
               "unknown_customer", "rejected_customer"),
        id_columns=("referral_id", "referrer_customer_id", "referred_customer_id"),
        tz_column="referred_at",
        required=("referrer_customer_id", "referred_customer_id", "referred_at"),
        timestamps=("referred_at",), future="referred_at",
        customer_column="referrer_customer_id",
    ),
    "survey_responses": DirtSpec(
        key="response_id", prefix="r",
        kinds=(*COMMON, "invalid_number", "invalid_timestamp", "invalid_value", "out_of_range",
               "future_timestamp", "inconsistent_dates", "unknown_customer",
               "rejected_customer"),
        id_columns=("response_id", "customer_id"), tz_column="answered_at",
        required=("customer_id", "stage", "touchpoint", "question_type", "score",
                  "answered_at"),
        numeric=("score",), timestamps=("answered_at", "sent_at"),
        invalid_value=(("stage", ("delivery", "loyalty", "unknown")),),
        future="answered_at", inconsistent=("answered_at", "sent_at", "ts"),
        customer_column="customer_id",
    ),
    "events": DirtSpec(
        key="event_id", prefix="e",
        kinds=(*COMMON, "missing_identity", "invalid_timestamp", "invalid_value",
               "future_timestamp", "unknown_customer", "rejected_customer"),
        id_columns=("event_id",), tz_column="event_at",
        required=("event_type", "event_at"), timestamps=("event_at",),
        invalid_value=(("event_type", ("page_veiw", "click", "purchase")),),
        future="event_at",
        customer_column="user_id",
    ),
}

SCORE_OUT_OF_RANGE = {"nps": ("11", "-1", "12"), "csat": ("0", "6"), "ces": ("9", "0"),
                      "expectation": ("0", "6")}


@dataclass
class Ledger:
    """Dirty rows written so far, one entry per row."""

    table: list[str] = field(default_factory=list)
    key: list[pa.Array] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)

    def add(self, table: str, keys: pa.Array, kind: str) -> None:
        """Record ``keys`` (as written, null for an empty key) of one kind."""
        if len(keys):
            self.table.append(table)
            self.key.append(_arr(keys))
            self.kind.append(kind)
            self.counts.append(len(keys))

    def rejected_keys(self, table: str) -> pa.Array:
        """Keys of the rows of ``table`` planted so far that staging must reject."""
        keys = [k for t, k, kind in zip(self.table, self.key, self.kind, strict=True)
                if t == table and kind not in NOT_REJECTED]
        return pa.concat_arrays([k.cast(pa.string()) for k in keys]) if keys else \
            pa.array([], pa.string())

    def to_table(self) -> pa.Table:
        """The ledger as an Arrow table: table, key, kind, expected_reason."""
        n = self.counts
        kinds = [k for k, c in zip(self.kind, n, strict=True) for _ in range(c)]
        return pa.table({
            "table": pa.array([t for t, c in zip(self.table, n, strict=True) for _ in range(c)],
                              pa.string()),
            "key": pa.concat_arrays([k.cast(pa.string()) for k in self.key])
            if self.key else pa.array([], pa.string()),
            "kind": pa.array(kinds, pa.string()),
            "expected_reason": pa.array([EXPECTED_REASON.get(k, k) for k in kinds],
                                        pa.string()),
        })

    def summary(self) -> dict[str, dict[str, int]]:
        """Counts per table and kind."""
        out: dict[str, dict[str, int]] = {}
        for t, k, c in zip(self.table, self.kind, self.counts, strict=True):
            out.setdefault(t, {})
            out[t][k] = out[t].get(k, 0) + c
        return {t: dict(sorted(v.items())) for t, v in sorted(out.items())}


def allocate(total: int, kinds: tuple[str, ...]) -> dict[str, int]:
    """Split ``total`` dirty rows evenly over kinds (remainder to the first kinds)."""
    base, rest = divmod(total, len(kinds))
    return {k: base + (1 if i < rest else 0) for i, k in enumerate(kinds)}


def _strings(values: tuple[str, ...], rng: np.random.Generator, n: int) -> pa.Array:
    return pa.array(list(values), pa.string()).take(pa.array(rng.integers(0, len(values), n)))


def _parse_ts(col: pa.Array) -> np.ndarray:
    """Seconds of ``YYYY-MM-DD HH:MM:SS`` texts (null -> -1)."""
    parsed = pc.strptime(col, TS_FORMAT, "s")
    return pc.fill_null(parsed.cast(pa.int64()), -1).to_numpy()


def _ts_text(seconds: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(seconds.astype(np.int64), pa.timestamp("s")), pa.string())


def _arr(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks()
    return values


def _set(table: pa.Table, column: str, values: pa.Array | pa.ChunkedArray) -> pa.Table:
    i = table.schema.get_field_index(column)
    return table.set_column(i, column, _arr(values).cast(pa.string()))


def _set_rows(table: pa.Table, column: str, mask: np.ndarray,
              values: pa.Array | pa.ChunkedArray) -> pa.Table:
    """Replace ``column`` where ``mask`` with ``values`` (in row order)."""
    col = table.column(column).combine_chunks()
    new = pc.replace_with_mask(col, pa.array(mask), _arr(values).cast(pa.string()))
    return _set(table, column, new)


def _set_options(table: pa.Table, options: tuple[tuple[str, tuple[str, ...]], ...],
                 rng: np.random.Generator) -> pa.Table:
    """Give each row a bad value of one of the (column, bad values) options."""
    which = rng.integers(0, len(options), size=table.num_rows)
    for j, (column, values) in enumerate(options):
        mask = which == j
        if mask.any():
            table = _set_rows(table, column, mask, _strings(values, rng, int(mask.sum())))
    return table


class DirtyMaker:
    """Adds dirty rows to one table, possibly chunk by chunk (keys stay unique)."""

    def __init__(self, name: str, share: float, ledger: Ledger):
        self.name = name
        self.spec = SPECS[name]
        self.share = share
        self.ledger = ledger
        width = ID_WIDTHS[self.spec.prefix]
        self._next_key = 9 * 10 ** (width - 1)
        self._next_unknown = 1
        self._pools: dict[str, pa.Array] = {}

    def _new_keys(self, n: int) -> pa.Array:
        numbers = np.arange(self._next_key, self._next_key + n)
        self._next_key += n
        return ids(self.spec.prefix, numbers)

    def _unknown(self, prefix: str, n: int) -> pa.Array:
        numbers = np.arange(self._next_unknown, self._next_unknown + n)
        self._next_unknown += n
        return ids(prefix, numbers, suffix="x")

    def apply(self, clean: pa.Table, rng: np.random.Generator) -> pa.Table:
        """Return ``clean`` with in-place normalisations and the added dirty rows after it."""
        n = clean.num_rows
        total = round(self.share * n)
        if total == 0 or n == 0:
            return clean
        spec = self.spec
        counts = allocate(total, spec.kinds)
        used = np.zeros(n, dtype=bool)
        table = clean
        added: list[pa.Table] = []
        self._pools = {kind: self.ledger.rejected_keys(name)
                       for kind, name in POINTS_AT.items() if kind in spec.kinds}
        for kind in spec.kinds:
            want = counts[kind]
            if want == 0 or (kind in self._pools and len(self._pools[kind]) == 0):
                continue
            eligible = ~used
            if kind == "other_currency" and spec.amount_column:
                eligible &= pc.is_valid(clean.column(spec.amount_column)).to_numpy(
                    zero_copy_only=False)
            if kind == "timezone_offset":
                eligible &= pc.is_valid(clean.column(spec.tz_column)).to_numpy(
                    zero_copy_only=False)
            if kind == "inconsistent_dates" and spec.inconsistent:
                eligible &= pc.is_valid(clean.column(spec.inconsistent[1])).to_numpy(
                    zero_copy_only=False)
            candidates = np.flatnonzero(eligible)
            if candidates.size == 0:
                continue
            rows = np.sort(rng.choice(candidates, size=min(want, candidates.size),
                                      replace=False))
            used[rows] = True
            if kind in IN_PLACE:
                table = self._in_place(table, kind, rows, rng)
            else:
                added.append(self._added(clean.take(pa.array(rows)), kind, rng))
        return pa.concat_tables([table, *added]) if added else table

    # ------------------------------------------------------------------ in place
    def _in_place(self, table: pa.Table, kind: str, rows: np.ndarray,
                  rng: np.random.Generator) -> pa.Table:
        spec = self.spec
        mask = np.zeros(table.num_rows, dtype=bool)
        mask[rows] = True
        if kind == "id_whitespace_case":
            which = rng.integers(0, len(spec.id_columns), size=rows.size)
            # an empty optional id has nothing to normalise: the key gets it instead
            filled = np.stack([pc.is_valid(table.column(c).take(pa.array(rows))).to_numpy(
                zero_copy_only=False) for c in spec.id_columns])
            which = np.where(filled[which, np.arange(rows.size)], which, 0)
            for j, column in enumerate(spec.id_columns):
                sel = rows[which == j]
                if sel.size == 0:
                    continue
                m = np.zeros(table.num_rows, dtype=bool)
                m[sel] = True
                values = table.column(column).take(pa.array(sel))
                style = rng.integers(0, 3, size=sel.size)
                upper = pc.utf8_upper(values)
                left = pa.array(np.where(style == 2, "  ", " ").tolist(), pa.string())
                right = pa.array(np.where(style == 1, "", " ").tolist(), pa.string())
                new = pc.binary_join_element_wise(left, upper, right, "")
                table = _set_rows(table, column, m, new)
            self.ledger.add(self.name, table.column(spec.key).take(pa.array(rows)), kind)
            return table
        # timezone_offset: same instant, written in local time with an offset
        values = table.column(spec.tz_column).take(pa.array(rows))
        seconds = _parse_ts(values)
        offsets_h = np.array([1, 2, 3, -5, 5.5])
        pick = rng.integers(0, offsets_h.size, size=rows.size)
        off_s = (offsets_h[pick] * HOUR).astype(np.int64)
        local = pc.replace_substring(_ts_text(seconds + off_s), " ", "T")
        suffix = pa.array(["+01:00", "+02:00", "+03:00", "-05:00", "+05:30"], pa.string()).take(
            pa.array(pick))
        new = pc.binary_join_element_wise(local, suffix, "")
        table = _set_rows(table, spec.tz_column, mask, new)
        self.ledger.add(self.name, table.column(spec.key).take(pa.array(rows)), kind)
        return table

    # ------------------------------------------------------------------- added
    def _added(self, sub: pa.Table, kind: str, rng: np.random.Generator) -> pa.Table:
        spec = self.spec
        k = sub.num_rows
        if kind == "duplicate":
            later = rng.random(k) < 0.5
            loaded = _parse_ts(sub.column("loaded_at"))
            shifted = loaded + np.where(later, rng.integers(HOUR, 72 * HOUR, size=k), 0)
            sub = _set(sub, "loaded_at", _ts_text(shifted))
            self.ledger.add(self.name, sub.column(spec.key), kind)
            return sub
        if kind == "missing_key":
            sub = _set(sub, spec.key, pa.nulls(k, pa.string()))
            self.ledger.add(self.name, pa.nulls(k, pa.string()), kind)
            return sub
        sub = _set(sub, spec.key, self._new_keys(k))
        if kind == "missing_required":
            which = rng.integers(0, len(spec.required), size=k)
            for j, column in enumerate(spec.required):
                mask = which == j
                if mask.any():
                    sub = _set_rows(sub, column, mask, pa.nulls(int(mask.sum()), pa.string()))
        elif kind == "invalid_number":
            which = rng.integers(0, len(spec.numeric), size=k)
            for j, column in enumerate(spec.numeric):
                mask = which == j
                if mask.any():
                    sub = _set_rows(sub, column, mask, _strings(BAD_NUMBERS, rng, int(mask.sum())))
        elif kind == "invalid_timestamp":
            which = rng.integers(0, len(spec.timestamps), size=k)
            for j, column in enumerate(spec.timestamps):
                mask = which == j
                if mask.any():
                    sub = _set_rows(sub, column, mask,
                                    _strings(BAD_TIMESTAMPS, rng, int(mask.sum())))
        elif kind == "invalid_value":
            if self.name == "referrals":  # nobody refers themself
                sub = _set(sub, "referrer_customer_id", sub.column("referred_customer_id"))
            else:
                sub = _set_options(sub, spec.invalid_value, rng)
        elif kind == "other_currency":
            sub = _set(sub, spec.currency_column, _strings(OTHER_CURRENCIES, rng, k))
        elif kind == "out_of_range":
            if self.name == "survey_responses":
                qtype = sub.column("question_type").to_pylist()
                bad = [SCORE_OUT_OF_RANGE[q][int(rng.integers(0, len(SCORE_OUT_OF_RANGE[q])))]
                       for q in qtype]
                sub = _set(sub, "score", pa.array(bad, pa.string()))
            else:
                sub = _set_options(sub, spec.out_of_range, rng)
        elif kind == "future_timestamp":
            loaded = _parse_ts(sub.column("loaded_at"))
            future = loaded + rng.integers(30 * DAY, 400 * DAY, size=k)
            sub = _set(sub, spec.future, _ts_text(future))
        elif kind == "inconsistent_dates":
            assert spec.inconsistent is not None
            changed, reference, unit = spec.inconsistent
            if unit == "date":
                ref = pc.strptime(sub.column(reference), "%Y-%m-%d", "s").cast(pa.int64())
                days = ref.to_numpy() // DAY - rng.integers(1, 61, size=k)
                new = pc.cast(pa.array(days.astype(np.int32), pa.date32()), pa.string())
            else:
                ref = _parse_ts(sub.column(reference))
                new = _ts_text(ref - rng.integers(HOUR, 5 * DAY, size=k))
            sub = _set(sub, changed, new)
        elif kind == "unknown_customer":
            sub = _set(sub, spec.customer_column, self._unknown("c", k))
        elif kind == "unknown_order":
            sub = _set(sub, spec.order_column, self._unknown("o", k))
        elif kind == "rejected_customer":
            pool = self._pools[kind]
            sub = _set(sub, spec.customer_column, pool.take(pa.array(
                rng.integers(0, len(pool), size=k))))
        elif kind == "rejected_order":
            pool = self._pools[kind]
            sub = _set(sub, spec.order_column, pool.take(pa.array(
                rng.integers(0, len(pool), size=k))))
        elif kind == "missing_identity":
            sub = _set(sub, "anonymous_id", pa.nulls(k, pa.string()))
            sub = _set(sub, "user_id", pa.nulls(k, pa.string()))
        else:  # pragma: no cover
            raise ValueError(kind)
        self.ledger.add(self.name, sub.column(spec.key), kind)
        return sub
