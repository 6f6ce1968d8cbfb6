"""The raw-data contract: the tables cx-value reads, their columns and meaning.

This module is the single source of truth for the raw layer. The generator writes
these tables, the loader checks a folder against them, the dbt sources declare
them (a test keeps ``models/staging/*/_*__sources.yml`` in step with this file),
and ``docs/raw_data_contract.md`` is rendered from it.

Every raw column may arrive as text: exports are text, and dirty values (text in
a number, an unparseable date) must survive loading so that staging can reject
them with a reason instead of the loader failing on them. ``type`` is the
logical type staging casts to.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    """One raw column."""

    name: str
    type: str  # logical type: string, integer, decimal, boolean, timestamp, date
    description: str
    # A required column must be in the file and filled; an optional one may be empty,
    # or left out of the file altogether (staging then reads it as empty).
    required: bool = True
    pii: bool = False


@dataclass(frozen=True)
class ErasureLink:
    """How a raw row belongs to a customer, for erasure (``--erasure-list``, ``cx-value
    purge``): the row goes when any of these links names an erased customer.

    Ids are compared as staging normalises them (trimmed, case-normalised).
    """

    # columns holding a customer id (referrals: either side)
    customer_columns: tuple[str, ...] = ()
    # a column holding the key of a row of another raw table that is erased
    # (order_lines.order_id -> orders): (column, parent table)
    parent: tuple[str, str] | None = None
    # a device id: every row of a device ever seen with an erased customer goes, since
    # the device id is personal data too (web events' anonymous_id)
    device_column: str | None = None


@dataclass(frozen=True)
class Table:
    """One raw table of one source system."""

    source: str
    name: str
    description: str
    primary_key: str
    columns: tuple[Column, ...] = field(default_factory=tuple)
    erasure: ErasureLink = field(default_factory=ErasureLink)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def qualified_name(self) -> str:
        return f"{self.source}.{self.name}"


LOADED_AT = Column(
    "loaded_at",
    "timestamp",
    "When the row was exported from the source system (UTC unless an offset is given). "
    "Used for freshness, to keep the latest copy of a duplicated row, and as the upper "
    "bound for event timestamps (a row cannot describe the future of its own export).",
)


def _t(source: str, name: str, description: str, pk: str, *cols: Column,
       erasure: ErasureLink | None = None) -> Table:
    # most tables link to their customer by a customer_id column
    link = erasure or ErasureLink(customer_columns=("customer_id",))
    return Table(source, name, description, pk, (*cols, LOADED_AT), link)


C = Column

TABLES: tuple[Table, ...] = (
    # ----------------------------------------------------------------- CRM
    _t(
        "crm", "customers",
        "One row per customer: a B2B account or a B2C consumer.",
        "customer_id",
        C("customer_id", "string", "CRM key of the customer; trimmed and lower-cased in staging."),
        C("account_name", "string", "Account or consumer name. Personal data for consumers: "
          "pseudonymised in staging.", required=False, pii=True),
        C("customer_type", "string", "`b2b` (account with contacts) or `b2c` (consumer)."),
        C("segment", "string", "Commercial segment, e.g. enterprise, smb, consumer."),
        C("country", "string", "ISO 3166-1 alpha-2 country code.", required=False),
        C("acquisition_channel", "string", "Channel that brought the customer: organic, "
          "paid_search, social, referral, partner, events.", required=False),
        C("owner_id", "string", "Account owner (sales rep) key.", required=False),
        C("created_at", "timestamp", "When the customer became a customer (first contract or "
          "order)."),
    ),
    _t(
        "crm", "contacts",
        "People at a customer. For consumers, the consumer themself.",
        "contact_id",
        C("contact_id", "string", "CRM key of the contact."),
        C("customer_id", "string", "Customer the contact belongs to."),
        C("first_name", "string", "First name; pseudonymised in staging.", required=False,
          pii=True),
        C("last_name", "string", "Last name; pseudonymised in staging.", required=False,
          pii=True),
        C("email", "string", "E-mail address; pseudonymised in staging (after trim and "
          "lower-case, so the same address always gives the same key).", required=False,
          pii=True),
        C("phone", "string", "Phone number; pseudonymised in staging (digits only).",
          required=False, pii=True),
        C("job_title", "string", "Role of the contact at the customer.", required=False),
        C("is_primary", "boolean", "Main contact of the customer.", required=False),
        C("created_at", "timestamp", "When the contact was created in the CRM."),
    ),
    _t(
        "crm", "deals",
        "Sales opportunities (consideration stage): quotes, demos and trials, open or closed.",
        "deal_id",
        C("deal_id", "string", "CRM key of the deal."),
        C("customer_id", "string", "Customer the deal is with."),
        C("deal_type", "string", "quote, demo or trial."),
        C("status", "string", "open, won or lost."),
        C("amount", "decimal", "Expected or won value.", required=False),
        C("created_at", "timestamp", "When the deal was opened."),
        C("closed_at", "timestamp", "When it was won or lost; empty while open.",
          required=False),
        C("currency", "string", "ISO 4217 code of the amount; empty means the reporting "
          "currency (var cx_currency); another currency is rejected (other_currency).",
          required=False),
    ),
    _t(
        "crm", "orders",
        "Orders (purchase stage), returns and credit notes, and bills of contract terms. "
        "Money is on the order lines.",
        "order_id",
        C("order_id", "string", "CRM key of the order."),
        C("customer_id", "string", "Customer who ordered."),
        C("ordered_at", "timestamp", "When the order was placed (for a return or credit "
          "note: when the credit was issued)."),
        C("channel", "string", "web, sales_rep, partner or phone.", required=False),
        C("status", "string", "completed, cancelled or returned. A cancelled or returned "
          "order earned nothing; a return of part of a completed order is a `return` or "
          "`credit_note` order, or lines with a negative quantity."),
        C("order_type", "string", "`order` (empty means order), `return`, `credit_note` or "
          "`contract_billing` (a bill of a contract term, e.g. a monthly invoice). Every "
          "line of a return or credit note is a return, whatever the sign of its "
          "quantity.", required=False),
        C("original_order_id", "string", "For a return or credit note: the order it "
          "credits, when the source system links them.", required=False),
        C("subscription_id", "string", "The contract term this order bills; set, the order "
          "is contract billing, not a one-off purchase.", required=False),
        C("currency", "string", "ISO 4217 code of the order's amounts; empty means the "
          "reporting currency (var cx_currency). An order in another currency is "
          "rejected (other_currency), never summed with the rest.", required=False),
    ),
    _t(
        "crm", "order_lines",
        "Order lines with list (target) and realised unit price and unit cost, in the "
        "order's currency. A negative quantity is a returned quantity.",
        "order_line_id",
        C("order_line_id", "string", "CRM key of the line."),
        C("order_id", "string", "Order the line belongs to."),
        C("product_id", "string", "Product key.", required=False),
        C("quantity", "integer", "Units sold (positive) or returned (negative); not 0."),
        C("list_price", "decimal", "List (target) unit price; >= 0."),
        C("realised_price", "decimal", "Unit price actually charged, after discount; >= 0."),
        C("unit_cost", "decimal", "Unit cost, for margin.", required=False),
        erasure=ErasureLink(parent=("order_id", "orders")),
    ),
    _t(
        "crm", "subscriptions",
        "Contract terms. A renewal is a new row whose previous_subscription_id points at "
        "the term it renews.",
        "subscription_id",
        C("subscription_id", "string", "CRM key of the contract term."),
        C("customer_id", "string", "Customer holding the contract."),
        C("plan", "string", "Plan name, e.g. basic, pro, enterprise.", required=False),
        C("start_date", "date", "First day of the term."),
        C("end_date", "date", "Last day of the term (contract end)."),
        C("monthly_fee", "decimal", "Recurring fee per month; >= 0."),
        C("cancelled_at", "timestamp", "When the customer gave notice; empty if not.",
          required=False),
        C("previous_subscription_id", "string", "Term this one renews; empty for a first "
          "term.", required=False),
        C("currency", "string", "ISO 4217 code of the fee; empty means the reporting "
          "currency (var cx_currency); another currency is rejected (other_currency).",
          required=False),
    ),
    _t(
        "crm", "tickets",
        "Support tickets and complaints (service stage).",
        "ticket_id",
        C("ticket_id", "string", "Key of the ticket."),
        C("customer_id", "string", "Customer who raised it."),
        C("channel", "string", "email, phone, chat or web_form."),
        C("category", "string", "Topic, e.g. billing, technical, delivery.", required=False),
        C("is_complaint", "boolean", "The customer registered it as a complaint."),
        C("opened_at", "timestamp", "When the ticket was opened."),
        C("first_response_at", "timestamp", "First agent response; empty if none yet.",
          required=False),
        C("resolved_at", "timestamp", "Final resolution; empty while unresolved.",
          required=False),
        C("reopen_count", "integer", "Times the ticket was reopened after a resolution; >= 0."),
        C("agent_contacts", "integer", "Number of agent contacts needed; >= 0 (1 = one "
          "contact).", required=False),
    ),
    _t(
        "crm", "referrals",
        "Who brought whom: a referrer customer and the customer they referred.",
        "referral_id",
        C("referral_id", "string", "Key of the referral."),
        C("referrer_customer_id", "string", "Customer who made the referral."),
        C("referred_customer_id", "string", "Customer who was brought in."),
        C("referred_at", "timestamp", "When the referral was recorded."),
        C("channel", "string", "referral_link, word_of_mouth or partner_program.",
          required=False),
        erasure=ErasureLink(customer_columns=("referrer_customer_id", "referred_customer_id")),
    ),
    # ------------------------------------------------------------- surveys
    _t(
        "surveys", "survey_responses",
        "One row per answer to one question. NPS 0-10, CSAT 1-5, CES 1-7 (7 = very easy; "
        "`scale_direction = reversed` marks sources where 1 = very easy), expectation 1-5 on "
        "the CSAT scale (what the customer expected before the touchpoint).",
        "response_id",
        C("response_id", "string", "Key of the answer."),
        C("customer_id", "string", "Customer who answered."),
        C("contact_id", "string", "Contact who answered, when known.", required=False),
        C("survey_id", "string", "Survey (questionnaire) key.", required=False),
        C("stage", "string", "Journey stage: awareness, consideration, purchase, onboarding, "
          "usage, service, renewal."),
        C("touchpoint", "string", "Touchpoint surveyed, e.g. order_delivery, ticket_closed."),
        C("question_type", "string", "nps, csat, ces or expectation."),
        C("score", "integer", "The answer on the question's scale."),
        C("scale_direction", "string", "`standard` or `reversed` (only CES is ever "
          "reversed); empty means standard.", required=False),
        C("comment", "string", "Free-text comment.", required=False),
        C("sent_at", "timestamp", "When the survey was sent.", required=False),
        C("answered_at", "timestamp", "When the answer was given."),
    ),
    # ----------------------------------------------------------------- web
    _t(
        "web", "events",
        "Web-analytics events. Sessions are derived in the warehouse (30 minutes of "
        "inactivity end a session).",
        "event_id",
        C("event_id", "string", "Key of the event."),
        C("anonymous_id", "string", "Cookie/device id; present on every tracked event.",
          required=False),
        C("user_id", "string", "CRM customer id once the visitor has logged in or filled a "
          "form; empty otherwise.", required=False),
        C("event_type", "string", "page_view, share, comment, review, download, login, "
          "form_fill or referral_click."),
        C("event_at", "timestamp", "When the event happened."),
        C("page_url", "string", "Page path.", required=False),
        C("referrer", "string", "Referring site.", required=False),
        C("campaign", "string", "UTM campaign.", required=False),
        erasure=ErasureLink(customer_columns=("user_id",), device_column="anonymous_id"),
    ),
)

TABLES_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}
# The one table every export must have: everything else is about customers. Any other
# table may be missing (declared absent) or empty, and the warehouse still builds.
REQUIRED_TABLES: tuple[str, ...] = ("customers",)
SOURCES: tuple[str, ...] = tuple(dict.fromkeys(t.source for t in TABLES))

# Controlled vocabularies that staging enforces (row rejected otherwise).
STAGES = ("awareness", "consideration", "purchase", "onboarding", "usage", "service", "renewal")
QUESTION_SCALES: dict[str, tuple[int, int]] = {
    "nps": (0, 10),
    "csat": (1, 5),
    "ces": (1, 7),
    "expectation": (1, 5),
}
ORDER_STATUSES = ("completed", "cancelled", "returned")
ORDER_TYPES = ("order", "return", "credit_note", "contract_billing")
EVENT_TYPES = (
    "page_view", "share", "comment", "review", "download", "login", "form_fill",
    "referral_click",
)

# Machine-readable reasons a row is rejected in staging, in order of precedence:
# a row with several defects gets the first that applies.
REJECT_REASONS: dict[str, str] = {
    "missing_key": "the primary key is empty",
    "missing_required": "a required column is empty",
    "missing_identity": "a web event with neither anonymous_id nor user_id",
    "invalid_number": "text where a number belongs, or a fraction where a whole number "
                      "belongs (a count, a quantity, a score)",
    "invalid_timestamp": "a date or timestamp that cannot be parsed, names a time zone "
                         "that is not known, lies before var cx_min_timestamp, or (the "
                         "export time loaded_at) lies after the build's clock",
    "invalid_value": "a value outside the column's vocabulary (stage, question type, "
                     "event type, order type, boolean, currency code)",
    "other_currency": "an amount in a currency other than the reporting currency (var "
                      "cx_currency); converting it would need exchange rates the data "
                      "does not carry",
    "out_of_range": "a number outside its allowed range (scores, negative prices, a zero "
                    "quantity)",
    "future_timestamp": "a timestamp after the row's own export time (loaded_at)",
    "inconsistent_dates": "an end before its start (closed before created, resolved before "
                          "opened, term end before term start)",
    "unknown_customer": "references a customer that is not in the CRM export at all",
    "rejected_customer": "references a customer whose own row was rejected (see its reason "
                         "in stg_crm__customers_rejected)",
    "unknown_order": "an order line whose order is not in the CRM export at all",
    "rejected_order": "an order line whose order was rejected (see its reason in "
                      "stg_crm__orders_rejected)",
    "conflicting_duplicate": "another copy of a valid row's key exported at the same "
                             "loaded_at with different content: one copy is staged (the "
                             "same one on every run), the others land here, since the "
                             "export does not say which is right; identical copies and "
                             "older copies are removed duplicates, not rejected",
}


def table(name: str) -> Table:
    """Return the contract of one raw table by name."""
    try:
        return TABLES_BY_NAME[name]
    except KeyError as exc:  # pragma: no cover - defensive
        raise KeyError(f"unknown raw table {name!r}; known: {sorted(TABLES_BY_NAME)}") from exc
