"""Which call a pixel attaches to, and which lead a call takes (SPEC §4.4).

Every case runs through the capture API, so on PostgreSQL it exercises the
database function of the hot path and on SQLite the ORM rules; CI runs both. A
PostgreSQL-only test checks the two implementations agree case by case.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from integrations.models import Call, DeliveryStatus, Lead, PostbackDelivery
from integrations.services.calls import CallUpdate, record_call, update_call
from integrations.services.matching import candidate_call_for_lead
from tests import factories
from tests.api.pixels import post_json

pytestmark = pytest.mark.django_db

CALLER = "+13125550142"


@pytest.fixture
def pixel(base_pixel):
    return {**base_pixel, "caller_id": CALLER, "ringba_call_uuid": "RGB-NEW"}


def _call(number, *, minutes_ago: float, **fields) -> Call:
    return factories.CallFactory(
        number=number,
        caller_id=CALLER,
        started_at=timezone.now() - timedelta(minutes=minutes_ago),
        **fields,
    )


def _attached_to(client, pixel) -> str | None:
    response = post_json(client, pixel)
    assert response.status_code == 201, response.json()
    return response.json()["lead"]["call_uuid"]


def test_pixel_takes_the_call_nearest_in_time_not_the_newest(client, pixel, ringba_setup):
    number = ringba_setup["number"]
    near = _call(number, minutes_ago=0.2)
    _call(number, minutes_ago=-30)  # recorded with a start in the future: farther away
    assert _attached_to(client, pixel) == near.call_uuid


def test_pixel_never_lands_on_a_call_that_ended_before_it_beyond_the_tolerance(
    client, pixel, ringba_setup
):
    now = timezone.now()
    _call(ringba_setup["number"], minutes_ago=30, ended_at=now - timedelta(minutes=25))
    assert _attached_to(client, pixel) is None


def test_pixel_within_the_tolerance_of_the_call_end_still_attaches(client, pixel, ringba_setup):
    now = timezone.now()
    call = _call(ringba_setup["number"], minutes_ago=3, ended_at=now - timedelta(seconds=30))
    assert _attached_to(client, pixel) == call.call_uuid


def test_pixel_never_lands_on_a_call_converted_long_before_it(client, pixel, ringba_setup):
    _call(
        ringba_setup["number"],
        minutes_ago=20,
        offer_converted=True,
        payout=Decimal("12.50"),
        offer_converted_at=timezone.now() - timedelta(minutes=15),
    )
    assert _attached_to(client, pixel) is None


def test_the_tolerance_is_a_setting(client, pixel, ringba_setup, settings):
    settings.MATCH_ENDED_TOLERANCE_SECONDS = 3600
    now = timezone.now()
    call = _call(ringba_setup["number"], minutes_ago=30, ended_at=now - timedelta(minutes=25))
    assert _attached_to(client, pixel) == call.call_uuid


def test_a_call_on_another_partners_number_is_never_a_candidate(client, pixel, ringba_setup):
    other_source = factories.TrafficSourceFactory()
    other_number = factories.NumberFactory(offer=ringba_setup["offer"], traffic_source=other_source)
    _call(other_number, minutes_ago=0.1)
    assert _attached_to(client, pixel) is None


def test_a_call_takes_only_a_lead_from_its_own_partner(ringba_setup, base_pixel, client):
    other_source = factories.TrafficSourceFactory()
    ringba_setup["offer"].traffic_sources.add(other_source)
    post_json(
        client,
        {**base_pixel, "traffic_source_id": other_source.traffic_source_id, "caller_id": CALLER},
    )
    call, _ = record_call(number=ringba_setup["number"].number, caller_id=CALLER)
    assert call.lead is None


def test_a_call_takes_the_lead_nearest_in_time(ringba_setup):
    now = timezone.now()
    kwargs = {
        "offer": ringba_setup["offer"],
        "traffic_source": ringba_setup["source"],
        "caller_id": CALLER,
    }
    factories.LeadFactory(**kwargs, received_at=now - timedelta(hours=3))
    near = factories.LeadFactory(**kwargs, received_at=now - timedelta(seconds=4))
    call, _ = record_call(number=ringba_setup["number"].number, caller_id=CALLER)
    assert call.lead == near


def test_repeat_caller_pays_the_new_call_not_the_old_one(
    client, calls_client, base_pixel, ringba_setup, ringba_trigger
):
    """Call 1 two hours ago converted by duration; call 2's pixel and conversion pay call 2."""
    factories.MappingFactory(
        trigger=ringba_trigger, traffic_source=ringba_setup["source"], value="TOKEN"
    )
    number = ringba_setup["number"].number
    started = timezone.now() - timedelta(hours=2)
    first, _ = record_call(number=number, caller_id=CALLER, started_at=started)
    update_call(call_uuid=first.call_uuid, update=CallUpdate(duration=300))
    first.refresh_from_db()
    assert first.offer_converted  # by the offer's duration rule

    pixel = {**base_pixel, "caller_id": CALLER, "ringba_call_uuid": "RGB-CALL-2"}
    assert _attached_to(client, pixel) is None  # call 2 has not been recorded yet
    second = calls_client.post("/api/v1/calls", {"number": number, "caller_id": CALLER}).json()
    assert second["lead"]["ringba_call_uuid"] == "RGB-CALL-2"
    response = calls_client.post(
        f"/api/v1/calls/update_call/{second['call_uuid']}",
        {"offer_converted": True, "payout": "20.00"},
        format="json",
    )
    assert response.status_code == 200

    [delivery] = PostbackDelivery.objects.filter(call__call_uuid=second["call_uuid"])
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.url.endswith("call_id=RGB-CALL-2&call_revenue=20.00&sale_successful=true")
    first_deliveries = PostbackDelivery.objects.filter(call=first)
    assert [d.status for d in first_deliveries] == [DeliveryStatus.SKIPPED]
    first.refresh_from_db()
    assert first.lead is None


CASES = {
    "open call": {"minutes_ago": 1},
    "ended long ago": {"minutes_ago": 40, "ended_minutes_ago": 30},
    "ended just now": {"minutes_ago": 3, "ended_minutes_ago": 1},
    "converted long ago": {"minutes_ago": 40, "converted_minutes_ago": 30},
    "converted just now": {"minutes_ago": 3, "converted_minutes_ago": 1},
    "outside the window": {"minutes_ago": 60 * 30},
}


@pytest.mark.usefixtures("postgres_only")
@pytest.mark.parametrize("case", CASES)
def test_the_database_function_applies_the_same_rules_as_the_orm(case, ringba_setup):
    """The hot path's function (migration 0005) and candidate_call_for_lead agree."""
    spec = CASES[case]
    now = timezone.now()
    fields = {}
    if "ended_minutes_ago" in spec:
        fields["ended_at"] = now - timedelta(minutes=spec["ended_minutes_ago"])
    if "converted_minutes_ago" in spec:
        fields.update(
            offer_converted=True,
            payout=Decimal(1),
            offer_converted_at=now - timedelta(minutes=spec["converted_minutes_ago"]),
        )
    call = _call(ringba_setup["number"], minutes_ago=spec["minutes_ago"], **fields)
    lead = factories.LeadFactory(
        offer=ringba_setup["offer"],
        traffic_source=ringba_setup["source"],
        caller_id=CALLER,
        received_at=now,
    )
    window = ringba_setup["offer"].match_window_seconds

    orm = candidate_call_for_lead(lead, window_seconds=window)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attached_call, converted_call FROM "
            "integrations_match_new_lead(%s, %s, %s, %s, %s, %s, %s)",
            [lead.pk, lead.offer_id, lead.traffic_source_id, CALLER, now, window, 120],
        )
        attached, converted = cursor.fetchone()

    assert (attached or converted) == (orm.pk if orm else None)
    assert bool(converted) == bool(orm and orm.offer_converted)
    assert (Call.objects.get(pk=call.pk).lead_id == lead.pk) == bool(attached)
    assert Lead.objects.filter(pk=lead.pk).exists()
