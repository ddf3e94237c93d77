"""The dashboard's numbers equal hand-counted fixtures, over the service and the API."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from integrations.models import Call, DeliveryStatus, Lead, PostbackDelivery, RejectedPixel
from integrations.services import rollups
from integrations.services.stats import stats
from tests import factories

pytestmark = pytest.mark.django_db

DAY1 = timezone.make_aware(datetime(2026, 11, 20, 10, 0))
DAY2 = DAY1 + timedelta(days=1)


@pytest.fixture
def business(ringba_trigger):
    """Two offers, two sources, two days; every figure counted by hand below."""
    source_a = factories.TrafficSourceFactory(name="Partner A")
    source_b = factories.TrafficSourceFactory(name="Partner B")
    offer_x = factories.OfferFactory(name="Offer X", traffic_sources=[source_a, source_b])
    offer_y = factories.OfferFactory(name="Offer Y", traffic_sources=[source_a])
    number_xa = factories.NumberFactory(offer=offer_x, traffic_source=source_a)
    number_xb = factories.NumberFactory(offer=offer_x, traffic_source=source_b)
    number_ya = factories.NumberFactory(offer=offer_y, traffic_source=source_a)

    def lead(offer, source, when):
        made = factories.LeadFactory(offer=offer, traffic_source=source)
        Lead.objects.filter(pk=made.pk).update(received_at=when)
        return made

    def call(number, when, *, lead=None, payout=None, delivery=None, test=False, revenue=None):
        made = factories.CallFactory(
            number=number,
            lead=lead,
            started_at=when,
            offer_converted=payout is not None,
            payout=payout,
            buyer_converted=revenue is not None,
            revenue=revenue,
        )
        if delivery:
            created = PostbackDelivery.objects.create(
                trigger=ringba_trigger,
                call=made,
                event="call_offer_converted",
                status=delivery,
                is_test=test,
            )
            PostbackDelivery.objects.filter(pk=created.pk).update(created_at=when)
        return made

    # Day 1: offer X / A: 3 pixels, 2 calls (1 matched, converted 12.50, delivered);
    #        offer X / B: 1 pixel, 1 call (converted 7.25, failed);
    #        offer Y / A: 1 call unmatched, not converted; 1 refused pixel.
    x_a = [lead(offer_x, source_a, DAY1 + timedelta(minutes=m)) for m in (1, 2, 3)]
    x_b = lead(offer_x, source_b, DAY1 + timedelta(minutes=4))
    call(number_xa, DAY1, lead=x_a[0], payout=Decimal("12.50"), delivery=DeliveryStatus.DELIVERED)
    call(number_xa, DAY1 + timedelta(hours=1), revenue=Decimal("30.00"))  # the buyer paid
    call(number_xb, DAY1, lead=x_b, payout=Decimal("7.25"), delivery=DeliveryStatus.FAILED)
    call(number_ya, DAY1 + timedelta(hours=2))
    refused = RejectedPixel.objects.create(offer=offer_y, traffic_source=source_a, status_code=422)
    RejectedPixel.objects.filter(pk=refused.pk).update(received_at=DAY1)
    # Day 2: offer Y / A: 1 pixel, 1 call matched + converted 9.00, retrying; a test
    #        delivery (never counted); a skipped one.
    y_a = lead(offer_y, source_a, DAY2)
    converted = call(
        number_ya, DAY2, lead=y_a, payout=Decimal("9.00"), delivery=DeliveryStatus.RETRYING
    )
    test = PostbackDelivery.objects.create(
        trigger=ringba_trigger, call=converted, event="x", is_test=True
    )
    PostbackDelivery.objects.filter(pk=test.pk).update(created_at=DAY2)
    call(number_xa, DAY2, delivery=DeliveryStatus.SKIPPED)
    # Outside the period: never counted.
    lead(offer_x, source_a, DAY1 - timedelta(days=3))
    call(number_xa, DAY2 + timedelta(days=3), payout=Decimal("100"), revenue=Decimal("100"))
    rollups.refresh(DAY1 - timedelta(days=10), DAY2 + timedelta(days=10))  # the worker's job
    return {"x": offer_x, "y": offer_y, "a": source_a, "b": source_b}


PERIOD = {"start": DAY1 - timedelta(hours=10), "end": DAY2 + timedelta(hours=14)}


def test_totals_equal_the_hand_count(business):
    totals = stats(**PERIOD).totals
    assert totals == {
        "pixels_accepted": 5,
        "pixels_rejected": 1,
        "calls": 6,
        "matched_calls": 3,
        "conversions": 3,
        "payout": Decimal("28.75"),
        "buyer_conversions": 1,
        "revenue": Decimal("30.00"),
        "postbacks_delivered": 1,
        "postbacks_retrying": 1,
        "postbacks_failed": 1,
        "postbacks_skipped": 1,
    }


def test_by_day(business):
    days = {row.key: row.figures for row in stats(**PERIOD, group_by="day").rows}
    assert list(days) == ["2026-11-20", "2026-11-21"]
    assert days["2026-11-20"]["calls"] == 4 and days["2026-11-20"]["payout"] == Decimal("19.75")
    assert days["2026-11-21"]["pixels_accepted"] == 1 and days["2026-11-21"]["calls"] == 2


def test_by_offer_and_filtered_by_source(business):
    offers = {row.label: row.figures for row in stats(**PERIOD, group_by="offer").rows}
    assert offers["Offer X"]["calls"] == 4 and offers["Offer X"]["payout"] == Decimal("19.75")
    assert offers["Offer Y"]["pixels_rejected"] == 1
    only_b = stats(**PERIOD, group_by="traffic_source", traffic_source_id=business["b"].pk)
    assert [row.label for row in only_b.rows] == ["Partner B"]
    assert only_b.totals["postbacks_failed"] == 1 and only_b.totals["calls"] == 1


def test_by_hour(business):
    hours = {row.key: row.figures["calls"] for row in stats(**PERIOD, group_by="hour").rows}
    assert hours["2026-11-20T10:00"] == 2 and hours["2026-11-20T12:00"] == 1


def test_the_api_answers_the_same_numbers(calls_client, business):
    response = calls_client.get(
        "/api/v1/stats",
        {"start": "2026-11-20", "end": "2026-11-22", "group_by": "offer", "stat": "payout"},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["totals"] == {"conversions": 3, "payout": "28.75"}
    assert {row["label"]: row["figures"]["payout"] for row in body["rows"]} == {
        "Offer X": "19.75",
        "Offer Y": "9.00",
    }
    source = business["b"].traffic_source_id
    counted = calls_client.get(
        "/api/v1/stats",
        {"start": "2026-11-20", "end": "2026-11-22", "traffic_source_id": source, "stat": "count"},
    ).json()
    assert counted["totals"]["calls"] == 1 and "payout" not in counted["totals"]


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"group_by": "week"}, "group_by"),
        ({"start": "yesterday"}, "start"),
        ({"start": "2026-11-22", "end": "2026-11-20"}, "start: must be before end"),
        ({"start": "2020-01-01", "end": "2026-01-01"}, "at most 400 days"),
        ({"traffic_source_id": "999999999"}, "no traffic source"),
    ],
)
def test_bad_parameters_say_how_to_fix_them(calls_client, params, error):
    response = calls_client.get("/api/v1/stats", params)
    assert response.status_code == 422
    assert error in " ".join(response.json()["errors"])


def test_the_api_needs_credentials_and_is_in_the_schema(api_client, client):
    assert api_client.get("/api/v1/stats").status_code == 401
    schema = client.get("/api/schema/?format=json").json()
    assert "/api/v1/stats" in schema["paths"]
    names = {p["name"] for p in schema["paths"]["/api/v1/stats"]["get"]["parameters"]}
    assert {"start", "end", "group_by", "stat", "offer_id", "traffic_source_id"} <= names


def test_calls_outside_the_period_never_count(business):
    assert Call.objects.count() == 7
    assert stats(**PERIOD).totals["calls"] == 6


@pytest.mark.parametrize(
    "query",
    [
        {"end": "0001-01-01"},
        {"start": "9999-12-31"},
        {"end": "9999-12-31T23:59:59"},
        {"start": "0001-01-01T00:00:00+14:00"},
        {"end": "0001-01-01T00:30:00-14:00"},
    ],
)
def test_extreme_dates_are_refused_with_422_not_500(calls_client, query):
    """Year 1 and year 9999 overflowed in the period arithmetic (issue 25, item 12)."""
    response = calls_client.get("/api/v1/stats", query)
    assert response.status_code == 422, response.content
    assert "between 2000 and 2100" in response.json()["errors"][0]
