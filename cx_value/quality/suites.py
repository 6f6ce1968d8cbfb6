"""The expectation suites, as code: raw, staging and public marts.

Each suite is built from what already defines the data, so the suites cannot drift
from it: the raw-data contract (``cx_value.contract``) for the raw layer, the dbt
properties (``models/**/_*__models.yml``: declared columns, ``unique`` and
``not_null`` tests) for staging and the marts. Hand-written expectations cover what
neither can say: score ranges, referential integrity, identities between columns,
counts that must reconcile across layers, personal data that must never reach a
public mart.

A suite here is a plain :class:`TableSuite`: the SQL that selects the batch and the
GE expectations on it. Nothing runs until :mod:`cx_value.quality.validate` runs it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cx_value.contract import (
    EVENT_TYPES,
    ORDER_STATUSES,
    ORDER_TYPES,
    QUESTION_SCALES,
    STAGES,
    Table,
)
from cx_value.sql_text import identifier as quote
from cx_value.sql_text import literal

CRITICAL, WARNING = "critical", "warning"

# The text forms staging can parse, checked on the trimmed text (empty is missing, not
# invalid). They check the form, not the calendar: 2024-02-31 passes here and is
# rejected by staging as invalid_timestamp.
TYPE_PATTERNS: dict[str, str] = {
    "integer": r"^[+-]?[0-9]+$",
    "decimal": r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$",
    "boolean": r"^(?i)(true|t|yes|y|1|false|f|no|n|0)$",
    "date": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
    "timestamp": (
        r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?"
        r" ?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?$"
    ),
}

# Vocabularies of the contract, by raw table and column; compared lower-cased, as
# staging compares them.
VOCABULARIES: dict[tuple[str, str], tuple[str, ...]] = {
    ("survey_responses", "stage"): STAGES,
    ("survey_responses", "question_type"): tuple(QUESTION_SCALES),
    ("survey_responses", "scale_direction"): ("standard", "reversed"),
    ("orders", "status"): ORDER_STATUSES,
    ("orders", "order_type"): ORDER_TYPES,
    ("events", "event_type"): EVENT_TYPES,
    ("customers", "customer_type"): ("b2b", "b2c"),
}

# Staged columns that must point at a staged row of another model: staging rejects a
# row whose customer or order is unknown or rejected, so none may be left dangling.
REFERENCES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "stg_crm__contacts": (("customer_id", "stg_crm__customers", "customer_id"),),
    "stg_crm__deals": (("customer_id", "stg_crm__customers", "customer_id"),),
    "stg_crm__orders": (("customer_id", "stg_crm__customers", "customer_id"),),
    "stg_crm__order_lines": (("order_id", "stg_crm__orders", "order_id"),),
    "stg_crm__subscriptions": (("customer_id", "stg_crm__customers", "customer_id"),),
    "stg_crm__tickets": (("customer_id", "stg_crm__customers", "customer_id"),),
    "stg_crm__referrals": (
        ("referrer_customer_id", "stg_crm__customers", "customer_id"),
        ("referred_customer_id", "stg_crm__customers", "customer_id"),
    ),
    "stg_surveys__survey_responses": (("customer_id", "stg_crm__customers", "customer_id"),),
}

# A timestamp may lie this far past the observation date (clock skew between systems).
FUTURE_TOLERANCE = dt.timedelta(days=1)

# Personal data in a public mart: an e-mail address, or a phone number written the
# way people write them (international +..., or national with a leading 0). Bounded
# by non-alphanumerics, so ids and hashes with digit runs do not match.
EMAIL_PATTERN = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
PHONE_PATTERN = (
    r"(^|[^0-9A-Za-z])(\+[0-9]{1,3}([ ./()-]*[0-9]){6,}"
    r"|0[0-9]{1,4}[ ./-]?[0-9]{3,4}[ ./-]?[0-9]{3,4})([^0-9A-Za-z]|$)"
)
# NPS on its -100..100 scale: the score and its interval bounds.
NPS_SCALE_COLUMN = r"^(previous_month_)?nps(_adjusted|_lower|_upper)?$"
NPS_ANSWER_COLUMN = r"^(latest_)?nps_score$"


@dataclass
class TableSuite:
    """The expectations on one table (one GE batch, one validation definition)."""

    suite: str  # raw, staging or marts
    table: str  # schema.table, or the file for a raw folder check
    query: str  # SQL selecting the batch
    expectations: list[Any] = field(default_factory=list)
    # statements run once on the validation connection before the batch is read
    setup: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.suite}.{self.table}"


def _braces(sql: str) -> str:
    """Escape literal braces: GE fills ``{batch}`` into a query with ``str.format``."""
    return sql.replace("{", "{{").replace("}", "}}")


def _text(column: str) -> str:
    """The raw value as staging reads it first: trimmed text, empty as missing."""
    return f"nullif(trim(cast({quote(column)} as varchar)), '')"


# ---------------------------------------------------------------------------- raw


def raw_suite(
    table: Table,
    relation: str,
    present: Sequence[str],
    *,
    display: str,
    max_share: float,
    extra_columns: Iterable[str] = (),
    row_level: bool = True,
) -> TableSuite:
    """The raw suite of one contract table read from ``relation`` (a table or a file
    reader) whose columns are ``present`` (as spelt in the source).

    Column presence is critical: without a required column nothing can be staged.
    Everything row-level is a warning with ``mostly = 1 - max_share``: staging rejects
    such rows with a reason, so a few must never stop a build. ``row_level=False``
    leaves those warnings out (the critical, file-level part only): a build stages every
    row anyway, and counting the same defects twice was a whole read of every file.
    """
    import great_expectations.expectations as gxe

    by_name = {c.strip().lower(): c for c in present}
    wanted = [*table.column_names, *(c for c in extra_columns if c not in table.column_names)]
    selected = []
    for name in wanted:
        if name not in by_name:
            continue
        expression = _text(by_name[name])
        if (table.name, name) in VOCABULARIES:
            expression = f"lower({expression})"
        selected.append(f"{expression} as {quote(name)}")
    query = f"select {', '.join(selected) or '1 as no_contract_column'} from {relation}"
    suite = TableSuite("raw", display, query)
    add = suite.expectations.append
    mostly = max(0.0, 1.0 - max_share)
    meta = {"raw_table": table.qualified_name}
    for name in table.required_columns:
        add(gxe.ExpectColumnToExist(column=name, severity=CRITICAL, meta=meta))
    for name in extra_columns:
        add(gxe.ExpectColumnToExist(
            column=name, severity=CRITICAL, meta={**meta, "declared_in": "cx_extra_columns"}))
    if table.name == "customers":
        add(gxe.ExpectTableRowCountToBeBetween(min_value=1, severity=CRITICAL, meta=meta))
    if not row_level:
        return suite
    for column in table.columns:
        if column.name not in by_name:
            continue
        if column.required:
            add(gxe.ExpectColumnValuesToNotBeNull(
                column=column.name, mostly=mostly, severity=WARNING, meta=meta))
        if column.type in TYPE_PATTERNS:
            add(gxe.ExpectColumnValuesToMatchRegex(
                column=column.name, regex=TYPE_PATTERNS[column.type], mostly=mostly,
                severity=WARNING, meta=meta))
        vocabulary = VOCABULARIES.get((table.name, column.name))
        if vocabulary:
            add(gxe.ExpectColumnValuesToBeInSet(
                column=column.name, value_set=list(vocabulary), mostly=mostly,
                severity=WARNING, meta=meta))
    if table.primary_key in by_name:
        # re-exported rows repeat a key; staging keeps the latest copy
        add(gxe.ExpectColumnProportionOfUniqueValuesToBeBetween(
            column=table.primary_key, min_value=mostly, severity=WARNING, meta=meta))
    return suite


# ------------------------------------------------------------------ dbt properties


@dataclass(frozen=True)
class ModelProperties:
    """What a model's yml declares: its columns and its single-column key tests."""

    columns: tuple[str, ...]
    unique: tuple[str, ...]
    not_null: tuple[str, ...]


def _test_names(tests: object) -> set[str]:
    names: set[str] = set()
    for test in tests or []:
        if isinstance(test, str):
            names.add(test)
        elif isinstance(test, Mapping):
            names.update(str(k) for k in test)
    return names


def model_properties(project_root: Path) -> dict[str, ModelProperties]:
    """Declared columns and unique/not_null tests of every model, from its yml."""
    found: dict[str, ModelProperties] = {}
    for path in sorted((project_root / "models").rglob("_*__models.yml")):
        # the C loader: the pure-Python one takes seconds over every yml of the project
        document = yaml.load(path.read_text(), Loader=yaml.CSafeLoader) or {}
        for model in document.get("models") or []:
            columns, unique, not_null = [], [], []
            for column in model.get("columns") or []:
                name = str(column["name"])
                columns.append(name)
                tests = _test_names(column.get("data_tests") or column.get("tests"))
                if "unique" in tests:
                    unique.append(name)
                if "not_null" in tests:
                    not_null.append(name)
            found[str(model["name"])] = ModelProperties(
                tuple(columns), tuple(unique), tuple(not_null))
    return found


def _key_expectations(properties: ModelProperties | None, present: set[str]) -> list[Any]:
    import great_expectations.expectations as gxe

    if properties is None:
        return []
    found: list[Any] = []
    for name in properties.not_null:
        if name in present:
            found.append(gxe.ExpectColumnValuesToNotBeNull(column=name, severity=CRITICAL))
    for name in properties.unique:
        if name in present:
            found.append(gxe.ExpectColumnValuesToBeUnique(column=name, severity=CRITICAL))
    return found


# ------------------------------------------------------------------------ staging


def staged_copy(model: str) -> str:
    """The temporary copy of a staged model the staging suite reads.

    Staged models are views: every query on one re-runs its chain (base view, dedupe,
    joins). Copying each once into a temporary table of the validation connection
    (allowed on a read-only database) makes every expectation after it a plain scan.
    """
    return quote(f"cx_gate__{model}")


def staging_suites(
    columns: Mapping[str, Mapping[str, str]],
    properties: Mapping[str, ModelProperties],
    *,
    future_bound: dt.datetime,
    raw_tables: Iterable[Table],
    max_share: float,
    share_severity: str,
) -> list[TableSuite]:
    """Suites of the staged models present in ``columns`` (``schema.table`` -> column ->
    type): keys, score ranges, no future timestamps, referential integrity, and the
    rejected share of every raw table."""
    import great_expectations.expectations as gxe

    suites: list[TableSuite] = []
    for relation, types in columns.items():
        schema, model = relation.split(".", 1)
        if schema != "staging" or not model.startswith("stg_") or model.endswith("_rejected"):
            continue
        suite = TableSuite("staging", relation, f"select * from {staged_copy(model)}", setup=[
            f"create or replace temp table {staged_copy(model)} as "
            f"select * from {quote(schema)}.{quote(model)}"])
        add = suite.expectations.append
        suite.expectations += _key_expectations(properties.get(model), set(types))
        for name, data_type in types.items():
            if data_type.upper().startswith("TIMESTAMP"):
                add(gxe.ExpectColumnValuesToBeBetween(
                    column=name, max_value=future_bound, severity=CRITICAL,
                    meta={"rule": "no timestamp after the observation date + 1 day"}))
        if model == "stg_surveys__survey_responses":
            in_scale = " or ".join(
                f"(question_type = {literal(q)} and score between {low} and {high})"
                for q, (low, high) in QUESTION_SCALES.items()
            )
            add(gxe.UnexpectedRowsExpectation(
                unexpected_rows_query=(
                    "select response_id, question_type, score from {batch} "
                    f"where not coalesce({in_scale}, false)"),
                description="every score lies on its question's scale "
                            "(NPS 0-10, CSAT 1-5, CES 1-7, expectation 1-5)",
                severity=CRITICAL, meta={"column": "score"}))
        for column, target, key in REFERENCES.get(model, ()):
            if column not in types or f"staging.{target}" not in columns:
                continue
            add(gxe.UnexpectedRowsExpectation(
                unexpected_rows_query=(
                    f"select {quote(column)} from {{batch}} "
                    f"where {quote(column)} is not null and {quote(column)} not in ("
                    f"select {quote(key)} from {staged_copy(target)} "
                    f"where {quote(key)} is not null)"),
                description=f"every {column} is a staged {target}.{key}",
                severity=CRITICAL, meta={"column": column}))
        suites.append(suite)
    if "intermediate.int_raw_tables_observed" in columns:
        # the materialised per-table counts: reading them does not re-run staging
        suite = TableSuite("staging", "intermediate.int_raw_tables_observed",
                           "select * from intermediate.int_raw_tables_observed")
        for table in raw_tables:
            suite.expectations.append(gxe.UnexpectedRowsExpectation(
                unexpected_rows_query=(
                    # of the rows staging read: an erased customer's rows are not read
                    "select source_table, raw_rows - erased_rows as read_rows, rejected_rows, "
                    "round(rejected_rows / (raw_rows - erased_rows), 4) as rejected_share "
                    f"from {{batch}} where source_table = {literal(table.qualified_name)} "
                    "and raw_rows - erased_rows > 0 "
                    f"and rejected_rows > {max_share!r} * (raw_rows - erased_rows)"),
                description=f"staging rejects at most {max_share:.1%} of the rows of raw "
                            f"table {table.qualified_name} (var cx_max_rejected_share)",
                severity=share_severity,
                meta={"column": "rejected_rows", "raw_table": table.qualified_name}))
        suites.append(suite)
    return suites


# -------------------------------------------------------------------------- marts


def _respondents_reconcile(mart: str) -> str:
    """NPS respondents of a mart summed over its grid against the staged NPS answers
    up to the observation date (the marts count nothing later)."""
    return (
        "select mart.respondents as mart_nps_respondents, "
        "staged.answers as staged_nps_answers from "
        "(select coalesce(sum(nps_respondents), 0) as respondents from {batch}) as mart, "
        "(select count(*) as answers from staging.stg_surveys__survey_responses as s "
        "cross join intermediate.int_observation_date as o "
        "where s.question_type = 'nps' and s.answered_at < o.as_of_end_at) as staged "
        "where mart.respondents <> staged.answers"
    )


# Identities between a mart's own columns (every listed column must be present).
IDENTITIES: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("promoters", "passives", "detractors", "nps_respondents"),
     "promoters + passives + detractors <> nps_respondents",
     "promoters + passives + detractors = nps_respondents"),
    (("mrr_start", "mrr_new", "mrr_reactivation", "mrr_expansion", "mrr_contraction",
      "mrr_churned", "mrr_end"),
     "mrr_start + mrr_new + mrr_reactivation + mrr_expansion - mrr_contraction "
     "- mrr_churned <> mrr_end",
     "MRR movement: start + new + reactivation + expansion - contraction - churned = end"),
)
RECONCILED_WITH_STAGING = ("mart_stage_scores", "mart_cx_roi_monthly")


def mart_suites(
    marts: Iterable[str],
    columns: Mapping[str, Mapping[str, str]],
    properties: Mapping[str, ModelProperties],
    *,
    personal_values_sql: str | None,
) -> list[TableSuite]:
    """Suites of the public marts present in ``columns``: the contract (declared
    columns present, declared keys), NPS on its scale, identities, counts that
    reconcile with staging, and no personal data in any string column."""
    import re

    import great_expectations.expectations as gxe

    suites: list[TableSuite] = []
    for mart in marts:
        relation = f"marts.{mart}"
        types = columns.get(relation)
        if types is None:
            continue
        suite = TableSuite("marts", relation, f"select * from marts.{quote(mart)}")
        add = suite.expectations.append
        declared = properties.get(mart)
        if declared and declared.columns:
            add(gxe.ExpectTableColumnsToMatchSet(
                column_set=list(declared.columns), exact_match=False, severity=CRITICAL))
        suite.expectations += _key_expectations(declared, set(types))
        low, high = QUESTION_SCALES["nps"]
        for name, data_type in types.items():
            if re.match(NPS_SCALE_COLUMN, name) and data_type.upper() in {"DOUBLE", "FLOAT"}:
                add(gxe.ExpectColumnValuesToBeBetween(
                    column=name, min_value=-100, max_value=100, severity=CRITICAL))
            elif re.match(NPS_ANSWER_COLUMN, name):
                add(gxe.ExpectColumnValuesToBeBetween(
                    column=name, min_value=low, max_value=high, severity=CRITICAL))
        for needed, violated, rule in IDENTITIES:
            if all(c in types for c in needed):
                add(gxe.UnexpectedRowsExpectation(
                    unexpected_rows_query=f"select * from {{batch}} where {violated}",
                    description=rule, severity=CRITICAL, meta={"column": needed[-1]}))
        if mart in RECONCILED_WITH_STAGING and "nps_respondents" in types and all(
            t in columns for t in ("staging.stg_surveys__survey_responses",
                                   "intermediate.int_observation_date")
        ):
            add(gxe.UnexpectedRowsExpectation(
                unexpected_rows_query=_respondents_reconcile(mart),
                description="NPS respondents add up to the staged NPS answers up to the "
                            "observation date",
                severity=CRITICAL, meta={"column": "nps_respondents"}))
        strings = [n for n, t in types.items() if t.upper() == "VARCHAR"]
        if strings:
            cells = " union all ".join(
                f"select {literal(n)} as column_name, {quote(n)} as value from {{batch}} "
                f"where {quote(n)} is not null" for n in strings
            )
            found = (
                f"regexp_matches(value, {_braces(literal(EMAIL_PATTERN))}) as is_email, "
                f"regexp_matches(value, {_braces(literal(PHONE_PATTERN))}) as is_phone"
            )
            condition = "is_email or is_phone"
            if personal_values_sql:
                found += (", value in (select personal_value from "
                          f"({_braces(personal_values_sql)}) as p) as is_raw_personal_value")
                condition += " or is_raw_personal_value"
            add(gxe.UnexpectedRowsExpectation(
                unexpected_rows_query=(
                    f"select * from (select column_name, value, {found} from ({cells}) "
                    f"as cells) as checked where {condition}"),
                description="no e-mail address, phone number or personal value of the raw "
                            "data (names, e-mails, phones) in any string column",
                severity=CRITICAL, meta={"column_from": "column_name"}))
        suites.append(suite)
    return suites


def personal_values_sql(raw_schema: str, tables: set[str]) -> str | None:
    """SQL listing the raw data's personal values (names, e-mails, phones), when the raw
    tables are in the database; values under 4 characters are left out (they match
    codes, not people)."""
    parts = []
    if f"{raw_schema}.customers" in tables:
        parts.append(f"select account_name as v from {quote(raw_schema)}.customers")
    if f"{raw_schema}.contacts" in tables:
        contacts = f"{quote(raw_schema)}.contacts"
        parts += [f"select {c} as v from {contacts}"
                  for c in ("first_name", "last_name", "email", "phone")]
        parts.append(f"select first_name || ' ' || last_name as v from {contacts}")
    if not parts:
        return None
    return (
        "select distinct trim(cast(v as varchar)) as personal_value from ("
        + " union all ".join(parts)
        + ") as raw_values where length(trim(cast(v as varchar))) >= 4"
    )
