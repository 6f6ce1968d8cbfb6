"""Which raw tables feed which marts, and which marts a subset of tables leaves empty."""

from __future__ import annotations

from pathlib import Path

from cx_value.coverage import Mart, Need, areas_fed, empty_marts, public_marts, tables_feeding

ROOT = Path(__file__).resolve().parents[2]


def test_alternatives_of_needs() -> None:
    mart = Mart("m", "journey", (
        (Need(("survey_responses",)),),
        (Need(("deals",)), Need(("orders", "subscriptions"))),
    ))
    assert mart.has_rows_with({"customers", "survey_responses"})
    assert mart.has_rows_with({"deals", "subscriptions"})
    assert not mart.has_rows_with({"deals"})
    # the closest alternative names what is missing (one need short in either)
    assert len(mart.missing({"deals"})) == 1
    assert mart.describe_needs() == "survey_responses; or deals and (orders or subscriptions)"
    assert Mart("always", "core").has_rows_with(set())


def test_every_public_mart_is_found_and_declared_needs_name_raw_tables() -> None:
    marts = public_marts(ROOT)
    assert {"fct_customer_clv", "mart_customer_health", "dim_dates"} <= set(marts)
    assert marts["mart_service_monthly"].area == "service"
    assert not marts["mart_service_monthly"].has_rows_with({"customers", "orders"})
    assert marts["mart_service_monthly"].has_rows_with({"customers", "tickets"})


def test_tables_feed_the_marts_downstream_of_them_only() -> None:
    feeding = tables_feeding(ROOT)
    # tickets feed the service marts; they do not feed the CLV models
    assert "mart_service_monthly" in feeding["tickets"]
    assert "fct_customer_clv" not in feeding["tickets"]
    assert "fct_customer_clv" in feeding["order_lines"]
    # bookkeeping models (observation date, calendar) are not followed: web events reach
    # the web marts, not the retention fit
    assert "retention_sbg_parameters" not in feeding["events"]
    assert "web" in areas_fed(ROOT)["events"]


def test_an_orders_only_export_leaves_the_survey_service_and_web_marts_empty() -> None:
    empty = empty_marts(ROOT, {"customers", "orders", "order_lines"})
    assert {"mart_stage_scores", "mart_service_monthly", "fct_web_sessions"} <= set(empty)
    assert "fct_journey_touchpoints" not in empty
    assert empty["mart_service_monthly"] == "needs tickets"
