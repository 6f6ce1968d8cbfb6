"""File-level checks: a missing file, a missing column or an unreadable file is named."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cx_value import raw_files
from cx_value.contract import TABLES
from cx_value.raw_files import RawDataError, check_folder, detect_format, load_folder


def _write_csv(folder: Path, rows_per_table: int = 2, drop: tuple[str, str] | None = None) -> None:
    for t in TABLES:
        columns = [c for c in t.column_names if drop is None or (t.name, c) != drop]
        with (folder / f"{t.name}.csv").open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(columns)
            for i in range(rows_per_table):
                w.writerow([f"{c}-{i}" for c in columns])


def test_a_complete_csv_folder_passes_with_row_counts(tmp_path: Path) -> None:
    _write_csv(tmp_path, rows_per_table=3)
    checked = check_folder(tmp_path)
    assert [c.table.name for c in checked] == [t.name for t in TABLES]
    assert all(c.rows == 3 for c in checked)


def test_missing_file_and_missing_column_are_both_named(tmp_path: Path) -> None:
    _write_csv(tmp_path, drop=("orders", "customer_id"))
    (tmp_path / "tickets.csv").unlink()
    with pytest.raises(RawDataError) as err:
        check_folder(tmp_path)
    problems = err.value.problems
    assert len(problems) == 2
    assert any("tickets.csv" in p and "missing file" in p for p in problems)
    assert any(
        "orders.csv" in p and "missing column customer_id" in p and "crm.orders" in p
        for p in problems
    )


def test_unreadable_parquet_is_named(tmp_path: Path) -> None:
    for t in TABLES:
        pq.write_table(
            pa.table({c: pa.array(["x"], pa.string()) for c in t.column_names}),
            tmp_path / f"{t.name}.parquet",
        )
    (tmp_path / "events.parquet").write_bytes(b"this is not parquet")
    assert detect_format(tmp_path) == "parquet"
    with pytest.raises(RawDataError) as err:
        check_folder(tmp_path)
    assert len(err.value.problems) == 1
    assert "events.parquet: cannot be read as parquet" in err.value.problems[0]


def test_extra_columns_are_reported_not_rejected(tmp_path: Path) -> None:
    _write_csv(tmp_path)
    path = tmp_path / "referrals.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0] + ",note"] + [line + ",x" for line in lines[1:]]) + "\n")
    checked = {c.table.name: c for c in check_folder(tmp_path)}
    assert checked["referrals"].extra_columns == ("note",)


def test_mixed_or_empty_folder_needs_a_format(tmp_path: Path) -> None:
    with pytest.raises(RawDataError, match=r"no \.csv or \.parquet"):
        detect_format(tmp_path)
    (tmp_path / "a.csv").write_text("x\n")
    (tmp_path / "b.parquet").write_text("x")
    with pytest.raises(RawDataError, match="both"):
        detect_format(tmp_path)


def test_load_is_all_or_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    _write_csv(raw, rows_per_table=2)
    database = tmp_path / "wh.duckdb"
    load_folder(raw, database)
    _write_csv(raw, rows_per_table=5)

    checked = check_folder(raw)  # the new files meet the contract
    assert all(c.rows == 5 for c in checked)
    real_reader = raw_files.reader_sql

    def reader_failing_on_events(path: Path, fmt: raw_files.RawFormat) -> str:
        # a read error in the middle of the load, after the check passed
        return "no_such_table_function()" if path.name == "events.csv" else real_reader(path, fmt)

    monkeypatch.setattr(raw_files, "check_folder", lambda *_args, **_kw: checked)
    monkeypatch.setattr(raw_files, "reader_sql", reader_failing_on_events)
    with pytest.raises(duckdb.Error):
        load_folder(raw, database)
    con = duckdb.connect(str(database), read_only=True)
    counts = {
        t.name: con.execute(f"select count(*) from raw.{t.name}").fetchone()[0] for t in TABLES
    }
    con.close()
    # events failed last; every table before it still holds the first load
    assert set(counts.values()) == {2}


def test_a_declared_absent_table_needs_no_file_a_forgotten_one_is_named(tmp_path: Path) -> None:
    _write_csv(tmp_path)
    (tmp_path / "events.csv").unlink()
    (tmp_path / "tickets.csv").unlink()
    with pytest.raises(RawDataError) as err:
        check_folder(tmp_path, absent="events")
    # events was declared; tickets was forgotten and is still an error, with the way out
    assert len(err.value.problems) == 1
    assert "tickets.csv: missing file" in err.value.problems[0]
    assert "--absent tickets" in err.value.problems[0]
    checked = {c.table.name: c for c in check_folder(tmp_path, absent=["web.events", "tickets"])}
    assert checked["events"].is_absent and checked["events"].rows == 0
    assert checked["tickets"].is_absent
    assert not checked["orders"].is_absent and checked["orders"].rows == 2


def test_absent_declarations_that_cannot_hold_are_errors(tmp_path: Path) -> None:
    _write_csv(tmp_path)
    with pytest.raises(RawDataError, match="every export needs it"):
        check_folder(tmp_path, absent="customers")
    with pytest.raises(RawDataError, match="not a raw table"):
        check_folder(tmp_path, absent="invoices")
    # a declaration and a file contradict each other
    with pytest.raises(RawDataError, match="declared absent but its file is there"):
        check_folder(tmp_path, absent="events")


def test_optional_columns_may_be_left_out_required_ones_may_not(tmp_path: Path) -> None:
    _write_csv(tmp_path, drop=("orders", "currency"))
    checked = {c.table.name: c for c in check_folder(tmp_path)}
    assert checked["orders"].missing_optional_columns == ("currency",)
    _write_csv(tmp_path, drop=("orders", "status"))
    with pytest.raises(RawDataError, match=r"orders\.csv: missing column status"):
        check_folder(tmp_path)


def test_a_header_only_file_is_an_empty_table_but_customers_must_have_rows(
    tmp_path: Path,
) -> None:
    _write_csv(tmp_path)
    header = ",".join(TABLES[[t.name for t in TABLES].index("tickets")].column_names)
    (tmp_path / "tickets.csv").write_text(header + "\n")
    checked = {c.table.name: c for c in check_folder(tmp_path)}
    assert checked["tickets"].rows == 0 and not checked["tickets"].is_absent
    customers = ",".join(TABLES[0].column_names)
    (tmp_path / "customers.csv").write_text(customers + "\n")
    with pytest.raises(RawDataError, match="customers has no rows"):
        check_folder(tmp_path)


def test_load_leaves_absent_tables_out_and_drops_stale_copies(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    _write_csv(raw, rows_per_table=2)
    database = tmp_path / "wh.duckdb"
    load_folder(raw, database)
    (raw / "events.csv").unlink()
    load_folder(raw, database, absent="events")
    con = duckdb.connect(str(database), read_only=True)
    tables = {r[0] for r in con.execute(
        "select table_name from information_schema.tables where table_schema = 'raw'"
    ).fetchall()}
    con.close()
    assert "events" not in tables
    assert "orders" in tables


def _add_customer_column(folder: Path, name: str) -> None:
    path = folder / "customers.csv"
    lines = path.read_text().splitlines()
    values = [f"{i * 2.5}" for i in range(len(lines) - 1)]
    path.write_text("\n".join([lines[0] + f",{name}"]
                              + [f"{line},{v}" for line, v in zip(lines[1:], values, strict=True)])
                    + "\n")


def test_a_declared_extra_column_missing_from_its_file_is_named(tmp_path: Path) -> None:
    _write_csv(tmp_path)
    _add_customer_column(tmp_path, "data_usage_gb")
    declared = raw_files.declared_extra_columns({"cx_extra_columns": {"customers": [
        {"name": "data_usage_gb", "type": "numeric"},
        {"name": "Payment_Method", "type": "categorical"},
    ]}})
    assert declared == {"customers": ("data_usage_gb", "payment_method")}
    with pytest.raises(RawDataError) as err:
        check_folder(tmp_path, extra_columns=declared)
    assert err.value.problems == [
        f"{tmp_path / 'customers.csv'}: missing column payment_method declared in the var "
        "cx_extra_columns (raw table crm.customers)"
    ]
    assert check_folder(tmp_path, extra_columns={"customers": ("data_usage_gb",)})
    assert raw_files.declared_extra_columns({}) == {}


def test_load_keeps_the_columns_beyond_the_contract(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    _write_csv(raw, rows_per_table=2)
    _add_customer_column(raw, "data_usage_gb")
    database = tmp_path / "wh.duckdb"
    load_folder(raw, database)
    con = duckdb.connect(str(database), read_only=True)
    values = con.execute("select data_usage_gb from raw.customers order by 1").fetchall()
    con.close()
    assert [v for (v,) in values] == ["0.0", "2.5"]


def _orders_text(folder: Path) -> str:
    return (folder / "orders.csv").read_text()


def _header_and_rows(folder: Path) -> tuple[str, list[str]]:
    lines = _orders_text(folder).splitlines()
    return lines[0], lines[1:]


# each defect of a file named orders.csv, and the one problem that names it: the file,
# the line where there is one, and the cause in plain words
CSV_DEFECTS = {
    "empty": (lambda folder: b"",
              "orders.csv: the file is empty (0 bytes): not even a header row"),
    "gzip": (lambda folder: bytes.fromhex("1f8b0800") + b"\x00" * 20,
             "orders.csv: is gzip-compressed: decompress it (gunzip) and name it .csv"),
    "excel": (lambda folder: b"PK\x03\x04" + b"\x00" * 20,
              "orders.csv: is a zip archive (an Excel workbook is one): save or extract it "
              "as a UTF-8 CSV file"),
    "utf16": (lambda folder: _orders_text(folder).encode("utf-16"),
              "orders.csv: is UTF-16 text: save it as UTF-8"),
    "latin1": (lambda folder: (_orders_text(folder) + ",".join(
        ["o-é"] + ["x"] * (_header_and_rows(folder)[0].count(","))) + "\n").encode("latin-1"),
        "orders.csv: line 4 is not UTF-8 (byte 0xe9; a Latin-1 or Windows-1252 export?): "
        "save the file with UTF-8 encoding"),
    "semicolons": (lambda folder: _orders_text(folder).replace(",", ";").encode(),
                   "orders.csv: columns are separated by semicolons, not commas (a regional "
                   "spreadsheet locale, which also writes decimal commas): export it as "
                   "comma-separated with decimal points"),
    "repeated_column": (lambda folder: _orders_text(folder).replace(
        "status", "order_id", 1).encode(),
        "orders.csv: column order_id appears twice in the header: keep one of each"),
    "extra_field": (lambda folder: (_orders_text(folder).rstrip("\n") + ",surplus\n").encode(),
                    "orders.csv: line 3 has {fields_plus_one} fields where the header has "
                    "{fields} (an unquoted comma in a value?)"),
    "cut_inside_a_character": (lambda folder: _orders_text(folder).encode() + "é".encode()[:1],
                               "orders.csv: the last line ends inside a character: the file "
                               "is not UTF-8 or was cut short"),
    "empty_column_name": (lambda folder: _orders_text(folder).replace(
        "status", "", 1).encode(),
        "orders.csv: the header row has an empty column name: every column needs one"),
    "truncated_last_line": (lambda folder: (_orders_text(folder).rsplit(",", 3)[0]).encode(),
                            "orders.csv: line 3 has {fields_minus_three} fields where the "
                            "header has {fields} (a truncated line?)"),
}


@pytest.mark.parametrize("defect", sorted(CSV_DEFECTS))
def test_an_unreadable_csv_is_named_with_its_line_and_cause(tmp_path: Path, defect: str) -> None:
    _write_csv(tmp_path, rows_per_table=2)
    make, message = CSV_DEFECTS[defect]
    fields = len(_header_and_rows(tmp_path)[0].split(","))
    (tmp_path / "orders.csv").write_bytes(make(tmp_path))
    expected = str(tmp_path / message.format(
        fields=fields, fields_plus_one=fields + 1, fields_minus_three=fields - 3))
    assert raw_files.csv_problems(tmp_path / "orders.csv") == [expected]


def test_check_and_build_refuse_an_unreadable_csv_before_reading_it(tmp_path: Path) -> None:
    _write_csv(tmp_path, rows_per_table=2)
    (tmp_path / "orders.csv").write_bytes(_orders_text(tmp_path).replace(",", ";").encode())
    with pytest.raises(RawDataError) as caught:
        check_folder(tmp_path, "csv", row_level=False)
    assert len(caught.value.problems) == 1
    assert "orders.csv: columns are separated by semicolons" in caught.value.problems[0]


def test_a_quoted_comma_or_line_break_and_a_utf8_bom_are_fine(tmp_path: Path) -> None:
    _write_csv(tmp_path, rows_per_table=2)
    header, rows = _header_and_rows(tmp_path)
    quoted = '"o-1, with a comma\nand a line break"' + rows[0][rows[0].index(","):]
    (tmp_path / "orders.csv").write_bytes(
        "\ufeff".encode() + "\n".join([header, quoted, rows[1]]).encode() + b"\n")
    checked = {c.table.name: c.rows for c in check_folder(tmp_path, "csv", row_level=False)}
    assert checked["orders"] == 2
