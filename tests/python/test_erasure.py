"""Erasure of customers: the erasure list (`build --erasure-list`), `cx-value purge`, and
a scan of every column of every table and export for personal values.

One generated dataset and two builds are shared by the integration tests: a build of the
raw files with an erasure list, then (after `cx-value purge` of the same list) a build of
the purged files without one. What the erased customers own is counted here by hand,
from the raw CSV files, with the links the contract states in words: customer columns,
the order lines of their orders, and every web event of a device they were seen on.
"""

from __future__ import annotations

import csv
import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from conftest import run_cx_value
from pii_scan import Needles, personal_values, scan_database, scan_files, scan_text_files

from cx_value.compare import compare_column_names, compare_rows
from cx_value.contract import TABLES
from cx_value.erasure import ErasureListError, read_erasure_list

ROOT = Path(__file__).resolve().parents[2]
SALT = "cx-value-erasure-test-salt-4e1d"
# three customers of the seed-11 data with contacts, orders, survey answers and
# logged-in web events; one B2B with a referral and four contacts, two consumers (one
# referred); their ids appear in no file of the project (checked below)
ERASED = ("c0000201", "c0000207", "c0000212")
# how staging and the list see an id: any case, any surrounding space
LIST_TEXT = "customer_id\n  C0000201\nc0000207 \nC0000212\nc0000207\n"
CUSTOMER_COLUMNS = {
    "customers": ("customer_id",), "contacts": ("customer_id",), "deals": ("customer_id",),
    "orders": ("customer_id",), "subscriptions": ("customer_id",),
    "tickets": ("customer_id",), "survey_responses": ("customer_id",),
    "referrals": ("referrer_customer_id", "referred_customer_id"),
}
KEYS = {
    "customers": "customer_id", "contacts": "contact_id", "deals": "deal_id",
    "orders": "order_id", "order_lines": "order_line_id",
    "subscriptions": "subscription_id", "tickets": "ticket_id", "referrals": "referral_id",
    "survey_responses": "response_id", "events": "event_id",
}


def _norm(value: str | None) -> str:
    return (value or "").strip().lower()


def _rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def _records(raw: Path, table: str) -> list[dict[str, str]]:
    header, rows = _rows(raw / f"{table}.csv")
    return [dict(zip(header, row, strict=True)) for row in rows]


@dataclass(frozen=True)
class Owned:
    """Everything the erased customers own in the raw files, counted by hand."""

    erased_rows: dict[str, set[int]]  # table -> row numbers (0-based, after the header)
    tokens: frozenset[str]  # ids, e-mail addresses, phones, pseudonyms
    names: frozenset[str]  # first and last names, consumers' account names


def _owned(raw: Path, erased: tuple[str, ...]) -> Owned:
    ids = set(erased)
    rows: dict[str, set[int]] = {}
    tokens: set[str] = set(ids)
    names: set[str] = set()
    records = {t: _records(raw, t) for t in KEYS}
    for table, columns in CUSTOMER_COLUMNS.items():
        rows[table] = {i for i, r in enumerate(records[table])
                       if any(_norm(r[c]) in ids for c in columns)}
    orders = {_norm(records["orders"][i]["order_id"]) for i in rows["orders"]} - {""}
    rows["order_lines"] = {i for i, r in enumerate(records["order_lines"])
                           if _norm(r["order_id"]) in orders}
    devices = {_norm(r["anonymous_id"]) for r in records["events"]
               if _norm(r["user_id"]) in ids} - {""}
    rows["events"] = {i for i, r in enumerate(records["events"])
                      if _norm(r["user_id"]) in ids or _norm(r["anonymous_id"]) in devices}
    tokens |= devices
    for table, numbers in rows.items():
        tokens |= {_norm(records[table][i][KEYS[table]]) for i in numbers}
    for i in rows["contacts"]:
        contact = records["contacts"][i]
        email, phone = _norm(contact["email"]), contact["phone"].strip()
        tokens |= {email, phone.lower(), "".join(ch for ch in phone if ch.isdigit())}
        if email:
            tokens.add(hashlib.sha256(f"{SALT}|{email}".encode()).hexdigest())
        names |= {contact["first_name"].strip(), contact["last_name"].strip()}
    for i in rows["customers"]:
        customer = records["customers"][i]
        if _norm(customer["customer_type"]) == "b2c":
            names.add(customer["account_name"].strip())
    return Owned(rows, frozenset(tokens - {""}), frozenset(names - {""}))


@dataclass(frozen=True)
class ErasureRun:
    pristine: Path  # the generated files, untouched
    raw: Path  # the same files, purged after the first build
    owned: Owned
    erased_db: Path  # built from the pristine files with the erasure list
    purged_db: Path  # built from the purged files without a list
    scratch: Path
    purge_output: str
    check_output: str


def _build(raw: Path, database: Path, scratch: Path, *extra: str) -> None:
    built = run_cx_value(
        ["build", "--raw-dir", str(raw), "--format", "csv", *extra],
        {"CX_DUCKDB_PATH": str(database), "CX_PII_SALT": SALT, "CX_ERASURE_LIST": ""},
        scratch,
    )
    assert built.returncode == 0, built.stdout[-5000:] + built.stderr[-3000:]


@pytest.fixture(scope="module")
def erasure_run(tmp_path_factory: pytest.TempPathFactory) -> ErasureRun:
    base = tmp_path_factory.mktemp("erasure")
    scratch = base / "dbt"
    raw = base / "raw"
    generated = run_cx_value(
        ["generate", "--out", str(raw), "--customers", "300", "--seed", "11",
         "--format", "csv"], {}, scratch)
    assert generated.returncode == 0, generated.stderr[-3000:]
    # the generator's planted truth names customers too; it is not part of an export
    shutil.rmtree(raw / "_truth")
    pristine = base / "pristine"
    shutil.copytree(raw, pristine)
    erasure_list = base / "erase.csv"
    erasure_list.write_text(LIST_TEXT)

    checked = run_cx_value(["check", str(raw), "--erasure-list", str(erasure_list)], {},
                           scratch)
    assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr[-3000:]
    erased_db = base / "erased" / "cx_value.duckdb"
    _build(raw, erased_db, scratch, "--erasure-list", str(erasure_list))
    purged = run_cx_value(["purge", str(raw), "--erasure-list", str(erasure_list)], {},
                          scratch)
    assert purged.returncode == 0, purged.stdout + purged.stderr
    purged_db = base / "purged" / "cx_value.duckdb"
    _build(raw, purged_db, scratch)
    return ErasureRun(pristine, raw, _owned(pristine, ERASED), erased_db, purged_db,
                      scratch, purged.stdout, checked.stdout)


def _published_files(database: Path) -> list[Path]:
    """The published database, its working database and every export of every run."""
    folder = database.parent
    return [database, folder / "work" / database.name,
            *sorted((folder / "exports").rglob("*.parquet"))]


def _assert_no_trace(database: Path, needles: Needles) -> None:
    for db in _published_files(database)[:2]:
        scanned, found = scan_database(db, needles)
        assert scanned > 50, db
        assert found == {}, f"{db}: {found}"
    exports = _published_files(database)[2:]
    scanned, found = scan_files(exports, needles, "read_parquet")
    assert scanned >= 20
    assert found == {}


# ---------------------------------------------------------------- integration


@pytest.mark.integration
def test_the_chosen_customers_own_rows_everywhere(erasure_run: ErasureRun) -> None:
    owned = erasure_run.owned
    for table in ("customers", "contacts", "orders", "order_lines", "survey_responses",
                  "events", "referrals", "tickets"):
        assert owned.erased_rows[table], table
    # some of their devices' events are anonymous: the device link does work
    events = _records(erasure_run.pristine, "events")
    assert any(_norm(events[i]["user_id"]) == "" for i in owned.erased_rows["events"])
    # no fixture or model of the project names them (the artefact scan relies on it)
    here = {Path(__file__).resolve(), ROOT / "tests" / "python" / "pii_scan.py"}
    project = [p for folder in ("models", "macros", "tests", "seeds")
               for p in (ROOT / folder).rglob("*")
               if p.is_file() and p.suffix in (".sql", ".yml", ".md", ".py", ".json")
               and p.resolve() not in here]
    assert scan_text_files(project, ERASED)[1] == []


@pytest.mark.integration
def test_erased_rows_are_counted_and_reconcile(erasure_run: ErasureRun) -> None:
    con = duckdb.connect(str(erasure_run.erased_db), read_only=True)
    try:
        rows = con.execute(
            "select source_table, raw_rows, staged_rows + rejected_rows"
            " + removed_duplicate_rows, erased_rows, is_reconciled"
            " from intermediate.int_raw_rows_reconciled").fetchall()
    finally:
        con.close()
    assert len(rows) == len(KEYS)
    for source_table, raw_rows, read_rows, erased_rows, reconciled in rows:
        table = source_table.split(".")[1]
        in_file = len(_rows(erasure_run.pristine / f"{table}.csv")[1])
        expected = len(erasure_run.owned.erased_rows[table])
        assert (raw_rows, erased_rows, read_rows) == (in_file, expected, in_file - expected), table
        assert reconciled, table


@pytest.mark.integration
def test_check_says_what_a_build_will_leave_out(erasure_run: ErasureRun) -> None:
    counts = ", ".join(f"{t.name} {len(erasure_run.owned.erased_rows[t.name]):,}"
                       for t in TABLES)
    assert f"3 customers; a build leaves out their rows: {counts}" in " ".join(
        erasure_run.check_output.split())


@pytest.mark.integration
def test_the_erased_customers_leave_no_trace(erasure_run: ErasureRun) -> None:
    owned = erasure_run.owned
    _assert_no_trace(erasure_run.erased_db, Needles(owned.tokens, owned.names))
    # nor the ids in any artefact: compiled SQL, dbt's logs, manifest, run results,
    # Data Docs, the run status (dbt vars would be in meta.dbt_runs and the manifest)
    folder = erasure_run.erased_db.parent
    artefacts = [p for p in [*erasure_run.scratch.rglob("*"), *folder.rglob("*")]
                 if p.is_file() and p.suffix not in (".duckdb", ".parquet")]
    scanned, leaks = scan_text_files(artefacts, ERASED)
    assert scanned > 100
    assert leaks == []


@pytest.mark.integration
def test_the_other_customers_are_all_still_there(erasure_run: ErasureRun) -> None:
    customers = _records(erasure_run.pristine, "customers")
    expected = {_norm(c["customer_id"]) for c in customers} - set(ERASED) - {""}
    con = duckdb.connect(str(erasure_run.erased_db), read_only=True)
    try:
        staged = {r[0] for r in con.execute(
            "select customer_id from staging.stg_crm__customers").fetchall()}
        rejected = {r[0] for r in con.execute(
            "select customer_id from staging.base_crm__customers where reject_reason is not null"
        ).fetchall()}
    finally:
        con.close()
    # every other customer id of the file is staged, or rejected for a reason of its own
    assert (staged | rejected) - {None} == expected
    assert len(staged) > 250


@pytest.mark.integration
def test_purge_removes_exactly_the_erased_rows(erasure_run: ErasureRun) -> None:
    owned = erasure_run.owned
    printed = " ".join(erasure_run.purge_output.split())
    for table, numbers in owned.erased_rows.items():
        header, before = _rows(erasure_run.pristine / f"{table}.csv")
        header_after, after = _rows(erasure_run.raw / f"{table}.csv")
        assert header_after == header, table
        # the other rows, row for row, in their order
        assert after == [row for i, row in enumerate(before) if i not in numbers], table
        assert f"{table}.csv │ {len(before):,} │ {len(numbers):,}" in printed, table
    # by tokens only: other people of the files may share a first name, or a whole name
    tokens = Needles(owned.tokens, frozenset())
    files = sorted(erasure_run.raw.glob("*.csv"))
    scanned, found = scan_files(files, tokens, "read_csv")
    assert scanned == len(KEYS)
    assert found == {}
    # the scan does see them where they are: in every file they were purged from
    _, before = scan_files(sorted(erasure_run.pristine.glob("*.csv")), tokens, "read_csv")
    assert {Path(p).stem: n for p, n in before.items()} == {
        t: len(rows) for t, rows in owned.erased_rows.items()}


@pytest.mark.integration
def test_a_build_of_the_purged_files_equals_the_erasure_build(erasure_run: ErasureRun) -> None:
    owned = erasure_run.owned
    _assert_no_trace(erasure_run.purged_db, Needles(owned.tokens, owned.names))
    erased = duckdb.connect(str(erasure_run.erased_db), read_only=True)
    purged = duckdb.connect(str(erasure_run.purged_db), read_only=True)
    try:
        marts = [r[0] for r in erased.execute(
            "select table_name from information_schema.tables where table_schema = 'marts'"
            " and table_type = 'BASE TABLE' order by 1").fetchall()]
        assert len(marts) > 20
        differences = []
        for mart in marts:
            # the coverage mart counts the raw rows of the export: the erasure build's
            # export still had the erased rows (compared below), the purged one not
            select = ("select * exclude (raw_rows, erased_rows) from marts.mart_data_coverage"
                      if mart == "mart_data_coverage" else f"select * from marts.{mart}")
            left = erased.execute(select)
            left_columns = [d[0] for d in left.description]
            left_rows = left.fetchall()
            right = purged.execute(select)
            right_columns = [d[0] for d in right.description]
            differences += compare_column_names(mart, left_columns, right_columns)
            differences += compare_rows(mart, left_columns, left_rows, right.fetchall())
        raw_rows = "select table_name, raw_rows from marts.mart_data_coverage"
        before, after = dict(erased.execute(raw_rows).fetchall()), dict(
            purged.execute(raw_rows).fetchall())
        erased_rows = "select table_name, erased_rows from marts.mart_data_coverage"
        counted, none_left = dict(erased.execute(erased_rows).fetchall()), dict(
            purged.execute(erased_rows).fetchall())
    finally:
        erased.close()
        purged.close()
    assert differences == []
    hand_counted = {t: len(rows) for t, rows in owned.erased_rows.items()}
    assert {t: before[t] - after[t] for t in before} == hand_counted
    assert counted == hand_counted
    assert set(none_left.values()) == {0}


@pytest.mark.integration
def test_no_personal_value_of_the_raw_files_anywhere(erasure_run: ErasureRun) -> None:
    """The full scan, on the build without an erasure list: every e-mail, phone and name
    of the raw files, in every column of every table and every export."""
    needles = personal_values(erasure_run.raw)
    assert len(needles.tokens) > 500 and len(needles.names) > 100
    _assert_no_trace(erasure_run.purged_db, needles)
    # the scan does find them where they are: in every contact row that has one
    contacts = erasure_run.raw / "contacts.csv"
    personal = sum(any(c[k].strip() for k in ("first_name", "last_name", "email", "phone"))
                   for c in _records(erasure_run.raw, "contacts"))
    assert scan_files([contacts], needles, "read_csv")[1] == {str(contacts): personal}


# ----------------------------------------------------------------------- unit


def test_the_list_is_read_normalised(tmp_path: Path) -> None:
    path = tmp_path / "erase.csv"
    path.write_text("note,Customer_ID\nx,  C0000201\ny,c0000207 \nz,\nw,c0000201\n")
    assert read_erasure_list(path) == ("c0000201", "c0000207")


@pytest.mark.parametrize(
    ("text", "message"),
    [(None, "cannot be read"), ("id\nc1\n", "has no column customer_id"),
     ("customer_id\n  \n", "names no customer"), (b"customer_id\n\xff\n", "cannot be read")],
)
def test_a_bad_list_names_the_file(tmp_path: Path, text: str | bytes | None,
                                   message: str) -> None:
    path = tmp_path / "erase list.csv"
    if isinstance(text, bytes):
        path.write_bytes(text)
    elif text is not None:
        path.write_text(text)
    with pytest.raises(ErasureListError, match=message) as caught:
        read_erasure_list(path)
    assert str(path) in str(caught.value)


def test_a_bad_list_stops_the_build_before_dbt(tmp_path: Path) -> None:
    database = tmp_path / "never.duckdb"
    run = run_cx_value(["build", "--erasure-list", str(tmp_path / "missing.csv")],
                       {"CX_DUCKDB_PATH": str(database)}, tmp_path / "dbt")
    assert run.returncode == 2
    assert f"erasure list {tmp_path / 'missing.csv'} cannot be read" in " ".join(
        run.stderr.split())
    assert not database.exists() and not (tmp_path / "dbt" / "target").exists()


def test_purge_follows_every_link_in_parquet(tmp_path: Path) -> None:
    """A hand-made Parquet export: ids in any case and spacing, an order line reached
    through its order, a device seen once with the erased customer, a referral on the
    referred side, and rows of other customers that must stay, in order."""
    import pyarrow as pa

    from cx_value.erasure import purge_folder

    tables = {
        "customers": {"customer_id": [" C1 ", "c2", None], "account_name": ["A", "B", "C"]},
        "orders": {"order_id": ["o1", "O2", "o3"], "customer_id": ["c1", "c2", " c1"]},
        "order_lines": {"order_line_id": ["l1", "l2", "l3", "l4"],
                        "order_id": [" O1", "o2", "o3 ", "o9"]},
        "events": {"event_id": ["e1", "e2", "e3", "e4", "e5"],
                   "anonymous_id": ["a1", " A1", "a2", None, "a2"],
                   "user_id": [None, "C1", "c2", "c1", None]},
        "referrals": {"referral_id": ["r1", "r2"], "referrer_customer_id": ["c2", "c2"],
                      "referred_customer_id": ["c1", "c3"]},
    }
    for name, columns in tables.items():
        pq.write_table(pa.table(columns), tmp_path / f"{name}.parquet")
    purged = purge_folder(tmp_path, ("c1",), "parquet")
    assert {p.table: (p.rows_before, p.rows_removed) for p in purged} == {
        "customers": (3, 1), "orders": (3, 2), "order_lines": (4, 2), "events": (5, 3),
        "referrals": (2, 1)}
    kept = {name: pq.read_table(tmp_path / f"{name}.parquet").to_pydict() for name in tables}
    assert kept["customers"] == {"customer_id": ["c2", None], "account_name": ["B", "C"]}
    assert kept["orders"] == {"order_id": ["O2"], "customer_id": ["c2"]}
    assert kept["order_lines"] == {"order_line_id": ["l2", "l4"], "order_id": ["o2", "o9"]}
    assert kept["events"] == {"event_id": ["e3", "e5"], "anonymous_id": ["a2", "a2"],
                              "user_id": ["c2", None]}
    assert kept["referrals"]["referral_id"] == ["r2"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{n}.parquet" for n in tables)
