"""A corpus of bad raw input: generated data with one defect per kind, and what must happen.

Every kind starts from the project's own generated data (``cx_value.generate``, clean,
small and deterministic) and plants one defect. Its expected outcome is one of:

- ``rejected``: the defective row lands in the rejected rows with ``reason`` (its raw key
  identifies it), the build stays green and the counts reconcile;
- ``accepted``: the value is read, and the staged value equals ``values`` (computed by
  hand here, never by the code under test);
- ``refused``: ``cx-value check`` (and ``cx-value build --raw-dir``) exit 2 before dbt, with
  a message holding every one of ``message`` (file, column or line, cause).

Row-level kinds add one row each (a copy of a clean row under a new key, so no clean row
changes and no two defects meet) to one shared raw folder; file-level kinds each damage
one copy of a small clean folder. CSV is written here, byte for byte, so that text-level
defects (an empty string against an empty field, a stray space) reach the loader as such.
"""

from __future__ import annotations

import csv
import gzip
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.parquet as pq

Outcome = Literal["rejected", "accepted", "refused"]
Row = dict[str, str | None]

SEED = 7
ROW_CUSTOMERS = 250  # the shared row-level folder (one build)
FILE_CUSTOMERS = 20  # the small folder each file-level kind damages a copy of
# loaded_at of rows whose timestamps a kind sets itself: after every planted time
LOADED_AT = "2025-03-10 00:00:00"

# the staged model and key column of each raw table
STAGED = {
    "customers": ("stg_crm__customers", "customer_id"),
    "deals": ("stg_crm__deals", "deal_id"),
    "orders": ("stg_crm__orders", "order_id"),
    "order_lines": ("stg_crm__order_lines", "order_line_id"),
    "subscriptions": ("stg_crm__subscriptions", "subscription_id"),
    "tickets": ("stg_crm__tickets", "ticket_id"),
    "referrals": ("stg_crm__referrals", "referral_id"),
    "survey_responses": ("stg_surveys__survey_responses", "response_id"),
    "events": ("stg_web__events", "event_id"),
}


class RawRows:
    """The generated CSV files of one folder as rows of text; None is an empty field."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.header: dict[str, list[str]] = {}
        self.rows: dict[str, list[Row]] = {}
        self._used: dict[str, int] = {}
        for path in sorted(folder.glob("*.csv")):
            with path.open(newline="", encoding="utf-8") as handle:
                reader = csv.reader(handle)
                header = next(reader)
                self.header[path.stem] = header
                self.rows[path.stem] = [
                    {c: (v if v != "" else None) for c, v in zip(header, line, strict=True)}
                    for line in reader
                ]

    def source(self, table: str, where: Callable[[Row], bool] = lambda row: True) -> Row:
        """A clean row no other kind has copied yet (the next one that satisfies where)."""
        rows = self.rows[table]
        start = self._used.get(table, 0)
        for i in range(start, len(rows)):
            if where(rows[i]):
                self._used[table] = i + 1
                return dict(rows[i])
        raise LookupError(f"no more clean {table} rows for the corpus")

    def add(self, table: str, row: Row) -> None:
        self.rows[table].append(row)

    def write(self, folder: Path | None = None) -> None:
        """Write every table back as CSV: text quoted, an empty field left empty."""
        folder = folder or self.folder
        for table, header in self.header.items():
            lines = [",".join(_quote(c) for c in header)]
            lines += [",".join(_field(row[c]) for c in header) for row in self.rows[table]]
            (folder / f"{table}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _field(value: str | None) -> str:
    return "" if value is None else _quote(value)


@dataclass(frozen=True)
class Kind:
    """One kind of bad input and the outcome it must have."""

    name: str
    table: str
    description: str
    outcome: Outcome
    # row kinds: plant the defect into the rows, return the raw key of the defective row
    plant: Callable[[RawRows], str] | None = None
    # file kinds: damage the file(s) of a clean folder
    damage: Callable[[Path], None] | None = None
    reason: str | None = None  # rejected
    values: dict[str, object] = field(default_factory=dict)  # accepted: staged column values
    message: tuple[str, ...] = ()  # refused: fragments of the message
    fmt: str = "csv"  # file kinds: the format of the folder damaged

    @property
    def level(self) -> str:
        return "row" if self.plant is not None else "file"


# ------------------------------------------------------------------ row-level helpers

def _key(name: str) -> str:
    return f"zz_{name}"


def _copy(table: str, name: str, changes: Row, where: Callable[[Row], bool] = lambda r: True,
          key: str | None = None) -> Callable[[RawRows], str]:
    """Plant: a clean row of ``table`` under a new key with ``changes``."""

    def plant(raw: RawRows) -> str:
        row = raw.source(table, where)
        primary = raw.header[table][0]
        row[primary] = key if key is not None else _key(name)
        row.update(changes)
        raw.add(table, row)
        return row[primary] or ""

    return plant


def _question(kind: str) -> Callable[[Row], bool]:
    return lambda row: row["question_type"] == kind


def _timed_answer(name: str, answered_at: str, **changes: str | None) -> Callable[[RawRows], str]:
    # no sent_at, and a loaded_at after the answer: only the planted time is in question
    return _copy("survey_responses", name,
                 {"sent_at": None, "answered_at": answered_at, "loaded_at": LOADED_AT, **changes})


def _term(name: str, start: str, end: str = "2026-03-03", **changes: str | None
          ) -> Callable[[RawRows], str]:
    return _copy("subscriptions", name, {"start_date": start, "end_date": end,
                                         "cancelled_at": None, "loaded_at": LOADED_AT,
                                         **changes},
                 where=lambda r: r["previous_subscription_id"] is None)


def _duplicate(table: str, changes: Row) -> Callable[[RawRows], str]:
    """Plant: a second copy of a clean row, same key, with ``changes`` (none: identical)."""

    def plant(raw: RawRows) -> str:
        row = raw.source(table)
        copy = {**row, **changes}
        raw.add(table, copy)
        return row[raw.header[table][0]] or ""

    return plant


def _rejected(name: str, table: str, reason: str, description: str,
              plant: Callable[[RawRows], str]) -> Kind:
    return Kind(name, table, description, "rejected", plant=plant, reason=reason)


def _accepted(name: str, table: str, description: str, plant: Callable[[RawRows], str],
              **values: object) -> Kind:
    return Kind(name, table, description, "accepted", plant=plant, values=values)


CYRILLIC_C = "\u0441"  # looks like a Latin c

ROW_KINDS: tuple[Kind, ...] = (
    # --- integers: whole numbers only
    _rejected("integer_3_5", "tickets", "invalid_number", "reopen_count 3.5",
              _copy("tickets", "integer_3_5", {"reopen_count": "3.5"})),
    _rejected("integer_1_5", "order_lines", "invalid_number", "quantity 1.5",
              _copy("order_lines", "integer_1_5", {"quantity": "1.5"})),
    _rejected("integer_hex", "tickets", "invalid_number", "reopen_count 0x1",
              _copy("tickets", "integer_hex", {"reopen_count": "0x1"})),
    _rejected("integer_underscore", "order_lines", "invalid_number", "quantity 1_0",
              _copy("order_lines", "integer_underscore", {"quantity": "1_0"})),
    _rejected("integer_exponent", "tickets", "invalid_number", "agent_contacts 1e1",
              _copy("tickets", "integer_exponent", {"agent_contacts": "1e1"})),
    _accepted("integer_zero_decimals", "survey_responses",
              "NPS written 9.0 (as spreadsheets write whole numbers) is 9",
              _copy("survey_responses", "integer_zero_decimals", {"score": "9.0"},
                    where=_question("nps")), score=9),
    # --- survey scores
    _accepted("integer_padded", "survey_responses", "NPS ' 10 ' (padded) is 10",
              _copy("survey_responses", "integer_padded", {"score": " 10 "},
                    where=_question("nps")), score=10),
    _rejected("nps_7_5", "survey_responses", "invalid_number", "NPS 7.5",
              _copy("survey_responses", "nps_7_5", {"score": "7.5"}, where=_question("nps"))),
    _rejected("nps_11", "survey_responses", "out_of_range", "NPS 11 (scale 0-10)",
              _copy("survey_responses", "nps_11", {"score": "11"}, where=_question("nps"))),
    _rejected("nps_minus_1", "survey_responses", "out_of_range", "NPS -1",
              _copy("survey_responses", "nps_minus_1", {"score": "-1"}, where=_question("nps"))),
    _rejected("nps_text", "survey_responses", "invalid_number", "NPS 'seven'",
              _copy("survey_responses", "nps_text", {"score": "seven"}, where=_question("nps"))),
    _rejected("ces_8", "survey_responses", "out_of_range", "CES 8 (scale 1-7)",
              _copy("survey_responses", "ces_8", {"score": "8"}, where=_question("ces"))),
    _rejected("ces_0", "survey_responses", "out_of_range", "CES 0 (scale 1-7)",
              _copy("survey_responses", "ces_0", {"score": "0"}, where=_question("ces"))),
    # An unlabelled inverted CES scale (1 = very easy, scale_direction left standard) cannot
    # be told from a standard one by any single row: only the label is checkable.
    _rejected("ces_unknown_direction", "survey_responses", "invalid_value",
              "CES with scale_direction 'inverted' (the contract knows standard/reversed)",
              _copy("survey_responses", "ces_unknown_direction",
                    {"scale_direction": "inverted"}, where=_question("ces"))),
    _accepted("ces_reversed", "survey_responses",
              "CES 2 on a reversed scale (1 = very easy) is 6 on the standard one (1+7-2)",
              _copy("survey_responses", "ces_reversed",
                    {"score": "2", "scale_direction": "reversed"}, where=_question("ces")),
              score=6, raw_score=2),
    _rejected("reversed_nps", "survey_responses", "invalid_value",
              "an NPS answer labelled reversed (only CES is ever reversed)",
              _copy("survey_responses", "reversed_nps", {"scale_direction": "reversed"},
                    where=_question("nps"))),
    _rejected("csat_6", "survey_responses", "out_of_range", "CSAT 6 (scale 1-5)",
              _copy("survey_responses", "csat_6", {"score": "6"}, where=_question("csat"))),
    _rejected("csat_0", "survey_responses", "out_of_range", "CSAT 0 (scale 1-5)",
              _copy("survey_responses", "csat_0", {"score": "0"}, where=_question("csat"))),
    _rejected("unknown_question", "survey_responses", "invalid_value",
              "question_type 'ces2' (not in the vocabulary)",
              _copy("survey_responses", "unknown_question", {"question_type": "ces2"})),
    # --- timestamps and zones
    _rejected("zone_cest", "survey_responses", "invalid_timestamp",
              "answered_at with the abbreviation CEST (not a zone name)",
              _timed_answer("zone_cest", "2025-03-04 10:00:00 CEST")),
    _rejected("zone_est", "survey_responses", "invalid_timestamp",
              "answered_at with the abbreviation EST (ambiguous: US Eastern winter time, "
              "often written in summer too; Australia)",
              _timed_answer("zone_est", "2025-03-04 10:00:00 EST")),
    _accepted("zone_helsinki_winter", "survey_responses",
              "answered_at 10:00 Europe/Helsinki in March (UTC+2) is 08:00 UTC",
              _timed_answer("zone_helsinki_winter", "2025-03-04 10:00:00 Europe/Helsinki"),
              answered_at=datetime(2025, 3, 4, 8, 0)),
    _accepted("zone_helsinki_summer", "survey_responses",
              "answered_at 12:00 Europe/Helsinki in July (UTC+3) is 09:00 UTC",
              _timed_answer("zone_helsinki_summer", "2024-07-01 12:00:00 Europe/Helsinki"),
              answered_at=datetime(2024, 7, 1, 9, 0)),
    _accepted("offset_plus_0530", "survey_responses",
              "answered_at 10:00+05:30 is 04:30 UTC",
              _timed_answer("offset_plus_0530", "2025-03-04T10:00:00+05:30"),
              answered_at=datetime(2025, 3, 4, 4, 30)),
    _accepted("utc_z", "survey_responses", "answered_at 2025-03-04T10:00:00Z is 10:00 UTC",
              _timed_answer("utc_z", "2025-03-04T10:00:00Z"),
              answered_at=datetime(2025, 3, 4, 10, 0)),
    _rejected("timestamp_us_format", "survey_responses", "invalid_timestamp",
              "answered_at 03/04/2025 10:00 (March 4th or April 3rd: never guessed)",
              _timed_answer("timestamp_us_format", "03/04/2025 10:00:00")),
    _rejected("date_slashes_day_first", "subscriptions", "invalid_timestamp",
              "start_date 03/04/2025 (ambiguous day/month order)",
              _term("date_slashes_day_first", "03/04/2025")),
    _rejected("date_dotted", "subscriptions", "invalid_timestamp",
              "start_date 04.03.2025 (European dotted)", _term("date_dotted", "04.03.2025")),
    _rejected("date_compact", "subscriptions", "invalid_timestamp",
              "start_date 20250304 (no separators)", _term("date_compact", "20250304")),
    _rejected("date_month_name", "subscriptions", "invalid_timestamp",
              "start_date '4 March 2025'", _term("date_month_name", "4 March 2025")),
    _accepted("date_year_first_slashes", "subscriptions",
              "start_date 2025/03/04 (year first: unambiguous) is 4 March 2025",
              _term("date_year_first_slashes", "2025/03/04"), start_date=date(2025, 3, 4)),
    _accepted("date_unpadded", "subscriptions", "start_date 2025-3-4 is 4 March 2025",
              _term("date_unpadded", "2025-3-4"), start_date=date(2025, 3, 4)),
    _rejected("date_1900", "subscriptions", "invalid_timestamp",
              "start_date 1900-01-01 (a placeholder, before var cx_min_timestamp)",
              _term("date_1900", "1900-01-01")),
    _rejected("created_1900", "customers", "invalid_timestamp",
              "a customer created 1900-01-01 00:00:00",
              _copy("customers", "created_1900", {"created_at": "1900-01-01 00:00:00"})),
    _rejected("answered_2099", "survey_responses", "future_timestamp",
              "answered_at 2099-01-01 (after its own export time)",
              _timed_answer("answered_2099", "2099-01-01 00:00:00")),
    _rejected("loaded_at_9999", "events", "invalid_timestamp",
              "loaded_at 9999-12-31 (after the build's clock)",
              _copy("events", "loaded_at_9999", {"loaded_at": "9999-12-31 00:00:00"})),
    _rejected("resolved_before_opened", "tickets", "inconsistent_dates",
              "a ticket resolved a day before it was opened",
              _copy("tickets", "resolved_before_opened",
                    {"opened_at": "2025-03-04 10:00:00", "first_response_at": None,
                     "resolved_at": "2025-03-03 10:00:00", "loaded_at": LOADED_AT})),
    # --- ids
    _rejected("unknown_customer", "survey_responses", "unknown_customer",
              "an answer of customer c9999999, who is not in the CRM export",
              _copy("survey_responses", "unknown_customer", {"customer_id": "c9999999"})),
    _accepted("id_whitespace_upper", "survey_responses",
              "key '  ZZ_ID_WHITESPACE_UPPER ' and customer ' C0000003 ' match after trim "
              "and lower-case",
              _copy("survey_responses", "id_whitespace_upper", {"customer_id": " C0000003 "},
                    key="  ZZ_ID_WHITESPACE_UPPER "),
              customer_id="c0000003"),
    _rejected("id_cyrillic_lookalike", "survey_responses", "unknown_customer",
              "customer id c0000003 written with a Cyrillic \u0441: must not match c0000003",
              _copy("survey_responses", "id_cyrillic_lookalike",
                    {"customer_id": CYRILLIC_C + "0000003"})),
    # a look-alike key is another key: the row is staged under it, never merged into
    # c0000004 (the lower-cased Cyrillic letter is still Cyrillic)
    _accepted("key_cyrillic_lookalike", "customers",
              "customer key C0000004 written with a Cyrillic \u0421: a customer of its own",
              _copy("customers", "key_cyrillic_lookalike", {},
                    key="\u04210000004"),
              customer_id="\u04410000004"),
    _rejected("key_empty_string", "events", "missing_key", "event_id is an empty string",
              _copy("events", "key_empty_string", {"page_url": "/zz_key_empty_string"}, key="")),
    # --- empty strings and nulls
    _rejected("required_empty_string", "tickets", "missing_required",
              "channel is an empty string (\"\")",
              _copy("tickets", "required_empty_string", {"channel": ""})),
    _rejected("required_blank", "survey_responses", "missing_required",
              "touchpoint is three spaces",
              _copy("survey_responses", "required_blank", {"touchpoint": "   "})),
    _rejected("required_null", "deals", "missing_required", "deal_type is an empty field",
              _copy("deals", "required_null", {"deal_type": None})),
    _accepted("optional_empty_string", "survey_responses",
              "comment is an empty string: staged as no comment (null)",
              _copy("survey_responses", "optional_empty_string", {"comment": ""}),
              comment_text=None),
    # --- money
    _rejected("negative_list_price", "order_lines", "out_of_range", "list_price -10.00",
              _copy("order_lines", "negative_list_price", {"list_price": "-10.00"})),
    _rejected("zero_quantity", "order_lines", "out_of_range", "quantity 0",
              _copy("order_lines", "zero_quantity", {"quantity": "0"})),
    _accepted("zero_realised_price", "order_lines", "a free line: realised_price 0",
              _copy("order_lines", "zero_realised_price",
                    {"list_price": "12.00", "realised_price": "0"}),
              realised_price=Decimal("0"), list_price=Decimal("12")),
    _accepted("realised_above_list", "order_lines",
              "realised_price 15.50 above list_price 12.00 (a surcharge: kept as charged)",
              _copy("order_lines", "realised_above_list",
                    {"list_price": "12.00", "realised_price": "15.50"}),
              realised_price=Decimal("15.5")),
    _rejected("fee_nan", "subscriptions", "invalid_number", "monthly_fee NaN",
              _copy("subscriptions", "fee_nan", {"monthly_fee": "NaN"})),
    _rejected("fee_inf", "subscriptions", "invalid_number", "monthly_fee inf",
              _copy("subscriptions", "fee_inf", {"monthly_fee": "inf"})),
    _rejected("fee_1e308", "subscriptions", "invalid_number", "monthly_fee 1e308",
              _copy("subscriptions", "fee_1e308", {"monthly_fee": "1e308"})),
    _rejected("fee_negative", "subscriptions", "out_of_range", "monthly_fee -5.00",
              _copy("subscriptions", "fee_negative", {"monthly_fee": "-5.00"})),
    _rejected("amount_decimal_comma", "deals", "invalid_number",
              "amount 1234,50 (decimal comma: never read as 123450)",
              _copy("deals", "amount_decimal_comma", {"amount": "1234,50"})),
    _rejected("amount_thousands", "deals", "invalid_number", "amount 1,234.50",
              _copy("deals", "amount_thousands", {"amount": "1,234.50"})),
    _rejected("other_currency", "orders", "other_currency", "an order in USD",
              _copy("orders", "other_currency", {"currency": "USD"})),
    _rejected("invalid_currency_code", "deals", "invalid_value", "currency 'EURO'",
              _copy("deals", "invalid_currency_code", {"currency": "EURO"})),
    _accepted("currency_lower_case", "subscriptions",
              "currency ' eur ' is the reporting one: the fee 99.90 is staged",
              _copy("subscriptions", "currency_lower_case",
                    {"currency": " eur ", "monthly_fee": "99.90"}),
              monthly_fee=Decimal("99.90")),
    # --- vocabularies
    _rejected("invalid_customer_type", "customers", "invalid_value", "customer_type 'b2x'",
              _copy("customers", "invalid_customer_type", {"customer_type": "b2x"})),
    _rejected("invalid_event_type", "events", "invalid_value", "event_type 'click'",
              _copy("events", "invalid_event_type", {"event_type": "click"})),
    _rejected("invalid_stage", "survey_responses", "invalid_value", "stage 'unknown'",
              _copy("survey_responses", "invalid_stage", {"stage": "unknown"})),
    _rejected("invalid_boolean", "tickets", "invalid_value", "is_complaint 'maybe'",
              _copy("tickets", "invalid_boolean", {"is_complaint": "maybe"})),
    _rejected("no_identity", "events", "missing_identity",
              "a web event with neither anonymous_id nor user_id",
              _copy("events", "no_identity", {"anonymous_id": None, "user_id": None})),
    # --- duplicates
    _accepted("exact_duplicate", "orders",
              "the same order row twice: one staged, one removed duplicate",
              _duplicate("orders", {}), copies_staged=1, copies_removed=1, copies_rejected=0),
    _accepted("newer_copy_wins", "tickets",
              "a later export of a ticket with another category: the later copy is staged",
              _duplicate("tickets", {"category": "zz_later", "loaded_at": "2026-06-29 00:00:00"}),
              ticket_category="zz_later", copies_staged=1, copies_removed=1, copies_rejected=0),
    _rejected("conflicting_duplicate", "subscriptions", "conflicting_duplicate",
              "two copies of a term on the same loaded_at with different fees",
              _duplicate("subscriptions", {"monthly_fee": "1.23"})),
)


# ------------------------------------------------------------------ file-level kinds

def _rewrite(table: str, edit: Callable[[str], str | bytes]) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        path = folder / f"{table}.csv"
        new = edit(path.read_text(encoding="utf-8"))
        if isinstance(new, bytes):
            path.write_bytes(new)
        else:
            path.write_text(new, encoding="utf-8")

    return damage


def _lines(transform: Callable[[list[str]], list[str]]) -> Callable[[str], str]:
    return lambda text: "\n".join(transform(text.rstrip("\n").split("\n"))) + "\n"


def _drop_column(name: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        rows = list(csv.reader(text.splitlines()))
        at = rows[0].index(name)
        return "\n".join(",".join(_field(v or None) for i, v in enumerate(r) if i != at)
                         for r in rows) + "\n"

    return edit


def _gzip(folder: Path) -> None:
    path = folder / "tickets.csv"
    path.write_bytes(gzip.compress(path.read_bytes(), mtime=0))


def _zip(folder: Path) -> None:
    path = folder / "tickets.csv"
    data = path.read_bytes()
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("tickets.csv", data)


def _parquet(folder: Path) -> None:
    path = folder / "tickets.csv"
    rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    table = pa.table({c: [r[i] for r in rows[1:]] for i, c in enumerate(rows[0])})
    pq.write_table(table, path)


def _locale(text: str) -> str:
    # a spreadsheet in a decimal-comma locale: semicolons between fields, 12,50 for 12.50
    rows = list(csv.reader(text.splitlines()))
    return "\n".join(";".join(v.replace(".", ",") for v in r) for r in rows) + "\n"


def _tabs(text: str) -> str:
    rows = list(csv.reader(text.splitlines()))
    return "\n".join("\t".join(r) for r in rows) + "\n"


def _remove(table: str) -> Callable[[Path], None]:
    return lambda folder: (folder / f"{table}.csv").unlink()


def _refused(name: str, table: str, description: str, damage: Callable[[Path], None],
             *message: str) -> Kind:
    return Kind(name, table, description, "refused", damage=damage, message=message)


FILE_KINDS: tuple[Kind, ...] = (
    _refused("missing_required_column", "tickets", "tickets.csv without its channel column",
             _rewrite("tickets", _drop_column("channel")), "tickets.csv", "channel", "missing"),
    _refused("duplicated_column_name", "orders", "orders.csv names status twice",
             _rewrite("orders", lambda t: t.replace('"channel"', '"status"', 1)),
             "orders.csv", "status", "twice"),
    _refused("latin1", "customers", "customers.csv in Latin-1 (an a-umlaut on line 3)",
             _rewrite("customers", lambda t: _lines(
                 lambda ls: [*ls[:2], ls[2].replace('"', '"M\u00e4', 1), *ls[3:]])(t)
                 .encode("latin-1")),
             "customers.csv", "UTF-8", "line 3"),
    _refused("utf16", "tickets", "tickets.csv saved as UTF-16",
             _rewrite("tickets", lambda t: t.encode("utf-16")), "tickets.csv", "UTF-16"),
    _refused("truncated_last_line", "tickets", "tickets.csv cut off in its last row",
             _rewrite("tickets", lambda t: t.rstrip("\n")[: t.rstrip("\n").rfind(",") - 3]),
             "tickets.csv", "line", "fields", "truncated"),
    _refused("extra_field", "orders", "one row of orders.csv has an extra field (line 5)",
             _rewrite("orders", _lines(lambda ls: [*ls[:4], ls[4] + ',"x"', *ls[5:]])),
             "orders.csv", "line 5", "fields"),
    _refused("empty_file", "deals", "deals.csv has 0 bytes",
             _rewrite("deals", lambda t: ""), "deals.csv", "empty"),
    _refused("gzip_named_csv", "tickets", "a gzip file named tickets.csv", _gzip,
             "tickets.csv", "gzip"),
    _refused("zip_named_csv", "tickets", "a zip archive named tickets.csv", _zip,
             "tickets.csv", "zip"),
    _refused("parquet_named_csv", "tickets", "a Parquet file named tickets.csv", _parquet,
             "tickets.csv", "Parquet"),
    _refused("semicolon_decimal_comma", "order_lines",
             "order_lines.csv with semicolons and decimal commas (a spreadsheet locale)",
             _rewrite("order_lines", _locale), "order_lines.csv", "semicolons", "decimal commas"),
    _refused("tab_delimiter", "tickets", "tickets.csv separated by tabs",
             _rewrite("tickets", _tabs), "tickets.csv", "separated by tabs, not commas"),
    _refused("missing_required_table", "customers", "no customers.csv",
             _remove("customers"), "customers"),
    _refused("missing_file_undeclared", "tickets",
             "no tickets.csv and tickets not declared absent", _remove("tickets"),
             "tickets", "absent"),
)

def _parquet_without(table: str, column: str) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        path = folder / f"{table}.parquet"
        pq.write_table(pq.read_table(path).drop_columns([column]), path)

    return damage


def _csv_named_parquet(folder: Path) -> None:
    (folder / "tickets.parquet").write_text('"ticket_id","channel"\n"t1","email"\n')


PARQUET_KINDS: tuple[Kind, ...] = (
    Kind("parquet_missing_required_column", "tickets",
         "tickets.parquet without its channel column", "refused",
         damage=_parquet_without("tickets", "channel"),
         message=("tickets.parquet", "channel", "missing"), fmt="parquet"),
    Kind("csv_named_parquet", "tickets", "a CSV text file named tickets.parquet", "refused",
         damage=_csv_named_parquet, message=("tickets.parquet", "cannot be read as parquet"),
         fmt="parquet"),
)

# file kinds the warehouse reads: checked by `cx-value check` and, in the shared build
# folder, by the build (the extra column and the header-only file are planted there too)
ACCEPTED_FILE_KINDS: tuple[Kind, ...] = (
    Kind("extra_column", "tickets", "tickets.csv with an extra column 'zz_note': ignored",
         "accepted", damage=_rewrite("tickets", _lines(
             lambda ls: [ls[0] + ',"zz_note"', *(line + ',"n"' for line in ls[1:])])),
         values={"ignored": "zz_note"}),
    Kind("header_only", "referrals", "referrals.csv with its header row only: an empty table",
         "accepted", damage=_rewrite("referrals", _lines(lambda ls: ls[:1])),
         values={"rows": 0}),
    Kind("optional_column_missing", "deals", "deals.csv without its optional currency column",
         "accepted", damage=_rewrite("deals", _drop_column("currency")),
         values={"read as empty": "currency"}),
    Kind("crlf_line_ends", "tickets", "tickets.csv with Windows line ends", "accepted",
         damage=_rewrite("tickets", lambda t: t.replace("\n", "\r\n").encode("utf-8")),
         values={"rows": None}),
)

ALL_KINDS: tuple[Kind, ...] = (*ROW_KINDS, *FILE_KINDS, *PARQUET_KINDS, *ACCEPTED_FILE_KINDS)


def counts_by_outcome() -> dict[str, int]:
    counts = {"rejected": 0, "accepted": 0, "refused": 0}
    for kind in ALL_KINDS:
        counts[kind.outcome] += 1
    return counts


def generate_clean(folder: Path, customers: int, fmt: Literal["csv", "parquet"] = "csv"
                   ) -> None:
    """The generator's clean data (no dirty rows), deterministic."""
    from cx_value.generate import generate

    generate(folder, customers=customers, seed=SEED, dirty_share=0.0, fmt=fmt)
    shutil.rmtree(folder / "_truth", ignore_errors=True)


def plant_rows(folder: Path) -> dict[str, str]:
    """Plant every row-level kind (and the accepted file kinds) into the clean folder;
    return the raw key of each kind's defective row."""
    raw = RawRows(folder)
    keys = {kind.name: kind.plant(raw) for kind in ROW_KINDS if kind.plant is not None}
    raw.write()
    for kind in ACCEPTED_FILE_KINDS:
        if kind.name in ("extra_column", "header_only") and kind.damage is not None:
            kind.damage(folder)
    return keys
