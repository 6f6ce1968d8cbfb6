"""The contract is the single source of truth: rendered files and SQL lists follow it."""

from __future__ import annotations

import re
from pathlib import Path

from cx_value import contract
from cx_value.contract_render import rendered_files

ROOT = Path(__file__).resolve().parents[2]


def test_rendered_files_are_up_to_date() -> None:
    stale = [
        str(path.relative_to(ROOT))
        for path, text in rendered_files(ROOT).items()
        if not path.exists() or path.read_text() != text
    ]
    assert not stale, f"run `cx-value contract render`; stale: {stale}"


def _macro_list(macro_file: str, macro_name: str) -> list[str]:
    text = (ROOT / "macros" / macro_file).read_text()
    body = text.split(f"macro {macro_name}()")[1].split("endmacro")[0]
    return re.findall(r"'([a-z_]+)'", body)


def test_sql_vocabularies_match_contract() -> None:
    assert _macro_list("staging/cx_vocabularies.sql", "cx_journey_stages") == list(
        contract.STAGES
    )
    assert _macro_list("staging/cx_vocabularies.sql", "cx_event_types") == list(
        contract.EVENT_TYPES
    )
    scales = (ROOT / "macros/staging/cx_vocabularies.sql").read_text()
    for question, (low, high) in contract.QUESTION_SCALES.items():
        assert f"'{question}': [{low}, {high}]" in scales


def test_every_raw_table_has_base_staged_and_rejected_models() -> None:
    for t in contract.TABLES:
        folder = ROOT / "models" / "staging" / t.source
        stem = f"{t.source}__{t.name}"
        for path in (
            folder / "base" / f"base_{stem}.sql",
            folder / f"stg_{stem}.sql",
            folder / f"stg_{stem}_rejected.sql",
        ):
            assert path.is_file(), path
        base_sql = (folder / "base" / f"base_{stem}.sql").read_text()
        # the base model hashes and shows every contract column of its raw table
        listed = re.search(r"raw_columns = \[(.*?)\]", base_sql, re.S)
        assert listed is not None
        assert re.findall(r"'([a-z_]+)'", listed.group(1)) == list(t.column_names)


def test_reject_reasons_are_the_accepted_values() -> None:
    yml = (ROOT / "models/staging/crm/_crm__models.yml").read_text()
    accepted = re.search(r"values: \[(missing_key[^\]]*)\]", yml)
    assert accepted is not None
    assert [v.strip() for v in accepted.group(1).split(",")] == list(contract.REJECT_REASONS)


def test_personal_columns_never_reach_staged_models() -> None:
    pii = {c.name for t in contract.TABLES for c in t.columns if c.pii}
    for path in (ROOT / "models").rglob("stg_*.sql"):
        if path.name.endswith("_rejected.sql"):
            continue
        selected = re.findall(r"^\s+([a-z_]+),?$", path.read_text(), re.M)
        assert not pii & set(selected), (path.name, pii & set(selected))


def test_every_table_links_its_rows_to_a_customer_for_erasure() -> None:
    for t in contract.TABLES:
        link = t.erasure
        assert link.customer_columns or link.parent, t.name
        assert set(link.customer_columns) <= set(t.column_names), t.name
        if link.parent:
            column, parent = link.parent
            assert column in t.column_names, t.name
            assert contract.table(parent).erasure.customer_columns, t.name
        if link.device_column:
            assert link.device_column in t.column_names and link.customer_columns, t.name
    # the links in words: order lines through their order, both sides of a referral,
    # a web event by its user and its device
    assert contract.table("order_lines").erasure.parent == ("order_id", "orders")
    assert contract.table("referrals").erasure.customer_columns == (
        "referrer_customer_id", "referred_customer_id")
    assert contract.table("events").erasure.device_column == "anonymous_id"
