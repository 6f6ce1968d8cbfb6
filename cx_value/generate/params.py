"""Planted parameters of the demo-data simulation.

Every effect the generator plants is a number here, so that ``_truth/truth.json``
can record it and tests can compare the written data with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

BANDS: tuple[str, ...] = ("worst", "middle", "best")
"""Latent experience bands, coded 0, 1, 2 in that order."""

TICKET_CHANNELS: tuple[str, ...] = ("email", "phone", "chat", "web_form")


@dataclass(frozen=True)
class BgNbd:
    """BG/NBD purchase process of one-off buyers; time unit weeks."""

    r: float = 0.243
    alpha: float = 4.414
    a: float = 0.793
    b: float = 2.426


@dataclass(frozen=True)
class GammaGamma:
    """Gamma-Gamma spend per order: nu ~ Gamma(q, rate gamma), z ~ Gamma(p, rate nu)."""

    p: float = 6.25
    q: float = 3.74
    gamma: float = 15.44


@dataclass(frozen=True)
class Renewal:
    """Logistic renewal model of B2B contract terms."""

    targets: dict[str, float] = field(
        default_factory=lambda: {"worst": 0.43, "middle": 0.60, "best": 0.74}
    )
    beta_detractor: float = -0.8
    beta_complaint: float = -1.0
    beta_web_fell: float = -0.7
    web_fell_probability: dict[str, float] = field(
        default_factory=lambda: {"worst": 0.35, "middle": 0.20, "best": 0.10}
    )
    web_fell_days: int = 91
    web_fell_rate_factor: float = 0.25
    term_days: int = 365
    max_gap_days: int = 20
    grace_days: int = 30
    cancel_notice_share: float = 0.5


# P(promoter), P(detractor) per stage and band (worst, middle, best).
DEFAULT_STAGE_NPS: dict[str, dict[str, tuple[float, float]]] = {
    "awareness": {"worst": (0.20, 0.40), "middle": (0.40, 0.15), "best": (0.70, 0.06)},
    "consideration": {"worst": (0.15, 0.45), "middle": (0.35, 0.20), "best": (0.65, 0.08)},
    "purchase": {"worst": (0.18, 0.42), "middle": (0.40, 0.16), "best": (0.72, 0.05)},
    "onboarding": {"worst": (0.10, 0.55), "middle": (0.28, 0.28), "best": (0.60, 0.12)},
    "usage": {"worst": (0.12, 0.50), "middle": (0.35, 0.20), "best": (0.68, 0.07)},
    "service": {"worst": (0.08, 0.62), "middle": (0.25, 0.32), "best": (0.55, 0.15)},
    "renewal": {"worst": (0.10, 0.55), "middle": (0.32, 0.22), "best": (0.70, 0.06)},
}


@dataclass(frozen=True)
class Surveys:
    """Survey sending, answering and the planted score distributions."""

    relationship_response_rate: float = 0.60
    stage_nps: dict[str, dict[str, tuple[float, float]]] = field(
        default_factory=lambda: {k: dict(v) for k, v in DEFAULT_STAGE_NPS.items()}
    )
    # planted mean gap csat - expectation at touchpoints that ask both
    expectation_gap: dict[str, float] = field(
        default_factory=lambda: {
            "order_confirmation": 0.3,
            "onboarding_check": -0.6,
            "ticket_closed": -0.9,
        }
    )
    gap_band_shift: dict[str, float] = field(
        default_factory=lambda: {"worst": -0.6, "middle": 0.0, "best": 0.6}
    )
    # mean of the true CES (1-7) per band before rounding and clipping
    ces_mean: dict[str, float] = field(
        default_factory=lambda: {"worst": 3.8, "middle": 5.0, "best": 5.9}
    )
    ces_sd: float = 1.1
    ces_legacy_share: float = 0.15
    ces_legacy_survey_id: str = "svy_effort_legacy"
    response_rate: dict[str, float] = field(
        default_factory=lambda: {
            "brand_survey": 0.25,
            "deal_followup": 0.30,
            "order_confirmation": 0.20,
            "onboarding_check": 0.30,
            "in_app_pulse": 0.40,
            "ticket_closed": 0.30,
            "renewal_decision": 0.35,
        }
    )
    comment_share: float = 0.12


@dataclass(frozen=True)
class Service:
    """Support tickets: channels, response times, first-contact resolution, complaints."""

    channel_share_b2b: dict[str, float] = field(
        default_factory=lambda: {"email": 0.40, "phone": 0.30, "chat": 0.15, "web_form": 0.15}
    )
    channel_share_b2c: dict[str, float] = field(
        default_factory=lambda: {"email": 0.30, "phone": 0.15, "chat": 0.35, "web_form": 0.20}
    )
    first_response_median_hours: dict[str, float] = field(
        default_factory=lambda: {"email": 6.0, "phone": 0.1, "chat": 0.25, "web_form": 10.0}
    )
    first_response_sigma: float = 0.9
    resolution_median_hours: dict[str, float] = field(
        default_factory=lambda: {"email": 20.0, "phone": 1.0, "chat": 0.8, "web_form": 30.0}
    )
    resolution_sigma: float = 1.0
    complaint_resolution_factor: float = 3.0
    fcr_probability: dict[str, float] = field(
        default_factory=lambda: {"email": 0.60, "phone": 0.75, "chat": 0.80, "web_form": 0.55}
    )
    complaint_probability: dict[str, float] = field(
        default_factory=lambda: {"worst": 0.25, "middle": 0.14, "best": 0.07}
    )
    unresolved_complaint_probability: dict[str, float] = field(
        default_factory=lambda: {"worst": 0.35, "middle": 0.20, "best": 0.10}
    )
    b2b_tickets_per_month: float = 0.12
    band_ticket_factor: dict[str, float] = field(
        default_factory=lambda: {"worst": 1.5, "middle": 1.0, "best": 0.7}
    )
    b2c_ticket_per_order: float = 0.22


@dataclass(frozen=True)
class Orders:
    """Order lines, prices and discounts; B2B add-on orders."""

    no_discount_share: float = 0.60
    discount_range: tuple[float, float] = (0.05, 0.30)
    unit_cost_share_range: tuple[float, float] = (0.55, 0.70)
    extra_lines_mean: float = 1.0
    max_lines: int = 5
    multi_quantity_share: float = 0.25
    b2b_addon_orders_per_year: float = 2.2
    b2b_addon_median_eur: float = 420.0
    b2b_addon_sigma: float = 0.8
    cancelled_share: float = 0.03
    returned_share: float = 0.02


@dataclass(frozen=True)
class Returns:
    """Returns and credit notes planted in the one-off (B2C) purchase history.

    Both kinds leave the BG/NBD / Gamma-Gamma process untouched on *net* purchase days
    (a day's sales minus the returns allocated to it):

    * a **same-day cancellation** is an extra completed order of a consumer, 10-50 x the
      mean of their planted order values, followed minutes later on the same UTC date by
      a ``credit_note`` (or ``return``) document returning every line in full: that
      day's net is unchanged (0 on a day without another purchase, so no purchase day);
    * a **partial return** takes back, 7-60 days after a completed BG/NBD order, items
      that were *added* to that order on top of its planted value (extra units of one of
      its lines and/or an extra line): the order's gross is the planted value plus the
      returned value, so its day nets to exactly the planted value.

    An unlinked return (no ``original_order_id``) is dated before the customer's next
    purchase day, so "the latest purchase day on or before the return date" is the day
    of the order it credits; no return crosses the outcome-window start or the end of
    history, so window spend by document date equals window spend by purchase day.
    """

    same_day_cancellation_share: float = 0.03  # of one-off (B2C) customers
    large_order_factor: tuple[float, float] = (10.0, 50.0)  # x the customer's mean order
    cancellation_minutes: tuple[int, int] = (5, 90)  # credit note this long after the order
    cancellation_credit_note_share: float = 0.75  # the rest are `return` documents
    cancellation_linked_share: float = 0.5  # carry original_order_id
    partial_return_share: float = 0.06  # of completed BG/NBD orders
    partial_return_days: tuple[int, int] = (7, 60)
    partial_linked_share: float = 0.7  # returns that cannot be unlinked (they would not
    # fall before the customer's next purchase day) are linked, the others with the
    # probability that makes the expected linked share this one
    extra_units_share: float = 0.5  # partial return of extra units of an existing line
    extra_line_share: float = 0.5  # partial return of an extra line (both when drawn so)
    extra_line_value_share: tuple[float, float] = (0.1, 0.8)  # of the planted order value
    negative_quantity_share: float = 0.5  # return documents whose lines are written < 0
    explicit_order_type_share: float = 0.3  # sales written as `order` (else left empty)


@dataclass(frozen=True)
class Billing:
    """Contract billing: one ``contract_billing`` order per month of each contract term.

    Off by default (``generate(bill_subscriptions=True)``, CLI ``--bill-subscriptions``).
    Bill k of a term is dated ``start_date + k months`` (k = 0..11, while on or before
    ``end_date`` and before the end of history) at ``hour`` UTC, one line: quantity 1,
    list and realised price = the term's monthly fee, no unit cost, status completed.
    """

    bill_subscriptions: bool = False
    subscription_link_share: float = 0.7  # bills that carry subscription_id
    hour: int = 6
    plan_product_base: int = 200  # product prd0200 + plan code (basic, pro, enterprise)


@dataclass(frozen=True)
class Currency:
    """The currency columns of orders, deals and subscriptions.

    Clean rows leave the currency empty (= the reporting currency) or, for
    ``explicit_share`` of rows, write the reporting code; ``lower_case_share`` of those
    write it in lower case (staging compares codes case-insensitively). Rows in another
    currency are only ever planted dirty rows (expected reason ``other_currency``).
    """

    reporting: str = "EUR"
    explicit_share: float = 0.05
    lower_case_share: float = 0.1
    other_codes: tuple[str, ...] = ("USD", "SEK", "GBP")


@dataclass(frozen=True)
class Web:
    """Web sessions and identity."""

    b2c_sessions_per_month: float = 0.30
    b2b_sessions_per_month: float = 0.8
    band_session_factor: dict[str, float] = field(
        default_factory=lambda: {"worst": 0.6, "middle": 1.0, "best": 1.6}
    )
    b2c_dormant_factor: float = 0.15
    b2c_dormant_after_days: int = 60
    awareness_days: int = 60
    awareness_sessions_mean: float = 1.2
    extra_events_mean: float = 3.0
    max_events_per_session: int = 12
    max_event_gap_seconds: int = 600
    min_session_start_gap_hours: float = 4.0
    device_count_probabilities: tuple[float, float, float] = (0.5, 0.35, 0.15)
    login_probability_b2b: float = 0.8
    login_probability_b2c: float = 0.5
    anonymous_visitor_share: float = 0.10
    social_factor: dict[str, float] = field(
        default_factory=lambda: {"worst": 0.6, "middle": 1.0, "best": 2.0}
    )


@dataclass(frozen=True)
class Params:
    """All planted parameters of one generation."""

    history_years: int = 3
    acquisition_years: float = 2.5
    b2b_share: float = 0.30
    enterprise_share_of_b2b: float = 0.30
    band_shares: tuple[float, float, float] = (0.25, 0.50, 0.25)
    spend_ratio_target: float = 2.40
    referral_share: float = 0.08
    referrer_band_weight: dict[str, float] = field(
        default_factory=lambda: {"worst": 1.0, "middle": 1.0, "best": 3.0}
    )
    b2b_sales_cycle_median_days: float = 30.0
    b2c_trial_share: float = 0.35
    b2c_sales_cycle_median_days: float = 10.0
    open_upsell_deal_share: float = 0.10
    bgnbd: BgNbd = field(default_factory=BgNbd)
    gamma_gamma: GammaGamma = field(default_factory=GammaGamma)
    renewal: Renewal = field(default_factory=Renewal)
    surveys: Surveys = field(default_factory=Surveys)
    service: Service = field(default_factory=Service)
    orders: Orders = field(default_factory=Orders)
    returns: Returns = field(default_factory=Returns)
    billing: Billing = field(default_factory=Billing)
    currency: Currency = field(default_factory=Currency)
    web: Web = field(default_factory=Web)
