"""The service marts recover what the generator planted: per channel, the first-response
median and the first-contact-resolution share of 100,000 generated customers (about
100,000 tickets) match the planted parameters, and match the generator's own realised
figures (its tickets before dirty rows were written) more tightly still."""

from __future__ import annotations

import json
from typing import Any

import duckdb
import pytest
from conftest import GeneratedWarehouse

pytestmark = pytest.mark.integration

CHANNELS = ("email", "phone", "chat", "web_form")
# Planted: a median of a log-normal with sigma 0.9 over ~14,000 tickets (web_form, the
# smallest channel) has a standard error of ~1 %; an FCR share of ~0.55 one of ~0.8 %.
PLANTED_TOLERANCE = 0.02
# Realised: staging drops exactly the dirty rows the generator added, so the mart sees
# the generator's own clean tickets and must reproduce its figures up to their rounding
# to 6 decimals in truth.json.
REALISED_ABS_TOLERANCE = 1e-6


@pytest.fixture(scope="module")
def truth(service_warehouse: GeneratedWarehouse) -> dict[str, Any]:
    with open(service_warehouse.truth_dir / "truth.json", encoding="utf-8") as handle:
        return json.load(handle)["service"]


@pytest.fixture(scope="module")
def channels(service_warehouse: GeneratedWarehouse) -> dict[str, dict[str, Any]]:
    con = duckdb.connect(str(service_warehouse.database), read_only=True)
    try:
        cursor = con.execute(
            "select * from marts.mart_service_channels where is_all_segments"
        )
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()
    return {row["ticket_channel"]: row for row in rows}


def _relative(measured: float, expected: float) -> float:
    return abs(measured - expected) / abs(expected)


@pytest.mark.parametrize("channel", CHANNELS)
def test_first_response_median_recovers_planted(
    channels: dict[str, dict[str, Any]], truth: dict[str, Any], channel: str
) -> None:
    measured = channels[channel]["first_response_median_hours"]
    per = truth["per_channel"][channel]
    planted = per["planted_first_response_median_hours"]
    realised = per["realised_first_response_median_hours"]
    print(f"{channel}: first response median planted {planted}, realised {realised}, "
          f"measured {measured:.6f}")
    assert _relative(measured, planted) <= PLANTED_TOLERANCE
    assert measured == pytest.approx(realised, abs=REALISED_ABS_TOLERANCE)


@pytest.mark.parametrize("channel", CHANNELS)
def test_fcr_recovers_planted(
    channels: dict[str, dict[str, Any]], truth: dict[str, Any], channel: str
) -> None:
    # the mart's share is in %, the truth's a proportion; the denominator is the
    # resolved tickets, as in the truth's realised_fcr_resolved
    measured = channels[channel]["fcr_share"] / 100
    per = truth["per_channel"][channel]
    planted = per["planted_fcr"]
    realised = per["realised_fcr_resolved"]
    print(f"{channel}: FCR planted {planted}, realised {realised}, measured {measured:.6f}")
    assert _relative(measured, planted) <= PLANTED_TOLERANCE
    assert measured == pytest.approx(realised, abs=REALISED_ABS_TOLERANCE)


def test_each_ticket_counted_once_per_grain(service_warehouse: GeneratedWarehouse) -> None:
    """Segment rows partition the tickets; the all-segments row holds each ticket once."""
    con = duckdb.connect(str(service_warehouse.database), read_only=True)
    try:
        staged = con.execute(
            "select ticket_channel, count(*) from intermediate.int_tickets_measured "
            "group by ticket_channel"
        ).fetchall()
        grains = con.execute(
            "select ticket_channel, is_all_segments, sum(tickets), sum(complaints), "
            "sum(resolved_tickets) from marts.mart_service_channels group by all"
        ).fetchall()
        monthly = con.execute(
            "select ticket_channel, sum(tickets) from marts.mart_service_monthly group by all"
        ).fetchall()
    finally:
        con.close()
    tickets = dict(staged)
    assert set(tickets) == set(CHANNELS)
    by_grain = {(ch, flag): rest for ch, flag, *rest in grains}
    for channel in CHANNELS:
        assert by_grain[(channel, True)] == by_grain[(channel, False)]
        assert by_grain[(channel, True)][0] == tickets[channel]
    assert dict(monthly) == tickets
