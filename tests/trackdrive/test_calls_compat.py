"""TrackDrive's calls API in the portal: update by id or caller, add amounts, list, stats."""

import base64
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from integrations.models import Call, Event
from integrations.services import rollups
from integrations.services.api_clients import create_client, revoke
from tests import factories

pytestmark = pytest.mark.django_db


def _call(ringba_setup, **fields) -> Call:
    return factories.CallFactory(number=ringba_setup["number"], **fields)


# --- PUT/POST /calls/:id ------------------------------------------------------------


@pytest.mark.parametrize("method", ["put", "post"])
def test_a_call_is_converted_by_its_numeric_id(calls_client, ringba_setup, method, emitted):
    call = _call(ringba_setup)
    send = getattr(calls_client, method)
    response = send(f"/api/v1/calls/{call.pk}", {"offer_converted": "true"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["id"] == call.pk
    assert response.json()["offer_converted"] is True
    assert response.json()["payout"] == "12.50"  # the offer's default payout
    assert emitted.conversions(call) == 1


def test_the_uuid_is_tried_before_the_numeric_id(calls_client, ringba_setup):
    by_id = _call(ringba_setup)
    named_like_an_id = _call(ringba_setup, call_uuid=str(by_id.pk))
    response = calls_client.put(f"/api/v1/calls/{by_id.pk}", {"buyer_converted": True})
    assert response.json()["call_uuid"] == named_like_an_id.call_uuid
    assert calls_client.get("/api/v1/calls/999999").status_code == 404


def test_fields_may_come_in_the_query_string(calls_client, ringba_setup):
    call = _call(ringba_setup)
    response = calls_client.post(f"/api/v1/calls/{call.pk}?buyer_converted=yes&revenue=20")
    assert response.status_code == 200, response.content
    assert (response.json()["buyer_converted"], response.json()["revenue"]) == (True, "20.00")


# --- add_revenue / add_payout ------------------------------------------------------------


def test_add_revenue_adds_to_the_stored_revenue_and_never_goes_below_zero(
    calls_client, ringba_setup
):
    call = _call(ringba_setup)
    url = f"/api/v1/calls/{call.call_uuid}"
    first = calls_client.put(
        url, {"buyer_converted": True, "revenue": "10.50", "add_revenue": "2.5"}
    )
    assert first.json()["revenue"] == "13.00"
    version = first.json()["version"]
    assert calls_client.put(url, {"add_revenue": "-20"}).json()["revenue"] == "0.00"
    call.refresh_from_db()
    assert call.revenue == Decimal("0.00") and call.version == version + 1


def test_add_payout_after_the_conversion_changes_the_amount_not_the_events(
    calls_client, ringba_setup, emitted
):
    call = _call(ringba_setup)
    url = f"/api/v1/calls/{call.call_uuid}"
    calls_client.put(url, {"offer_converted": True, "payout": "10"})
    response = calls_client.put(url, {"add_payout": "1.25"})
    assert response.json()["payout"] == "11.25"
    assert emitted.conversions(call) == 1  # adding is not converting again


def test_adding_to_a_side_that_is_not_converted_is_refused_with_the_fix(calls_client, ringba_setup):
    call = _call(ringba_setup)
    response = calls_client.put(f"/api/v1/calls/{call.call_uuid}", {"add_payout": "5"})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        "add_payout: the call is not offer converted; send offer_converted=true in the "
        "same request (or first)"
    ]
    call.refresh_from_db()
    assert call.payout is None and call.version == 1


# --- update_by_caller_id --------------------------------------------------------------------


def test_update_by_caller_id_takes_the_callers_latest_call_of_the_offer(calls_client, ringba_setup):
    offer = ringba_setup["offer"]
    now = timezone.now()
    older = _call(ringba_setup, caller_id="+17194448888", started_at=now - timedelta(minutes=50))
    latest = _call(ringba_setup, caller_id="+17194448888", started_at=now - timedelta(minutes=5))
    _call(ringba_setup, caller_id="+17194440000", started_at=now)  # another caller
    other_offer = factories.NumberFactory()
    factories.CallFactory(number=other_offer, caller_id="+17194448888", started_at=now)

    # TrackDrive's second example: everything in the query string, no body.
    response = calls_client.post(
        "/api/v1/calls/update_by_caller_id/17194448888"
        f"?offer_token={offer.lead_token}&buyer_converted=true&add_revenue=5"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["call_uuid"] == latest.call_uuid and body["revenue"] == "5.00"
    assert body["matched_by"]["calls_in_timeframe"] == 2
    assert body["matched_by"]["note"] == (
        "the latest of the caller's 2 calls of this offer in the last 1440 min"
    )
    older.refresh_from_db()
    assert older.buyer_converted is False


def test_update_by_caller_id_honours_call_timeframe_and_says_when_nothing_matches(
    calls_client, ringba_setup
):
    started = timezone.now() - timedelta(minutes=30)
    call = _call(ringba_setup, caller_id="+17194448888", started_at=started)
    url = "/api/v1/calls/update_by_caller_id/+1 (719) 444-8888"
    token = ringba_setup["offer"].lead_token
    missed = calls_client.post(
        url, {"offer_token": token, "call_timeframe": 10, "buyer_converted": True}, format="json"
    )
    assert missed.status_code == 404
    assert missed.json()["errors"] == [
        "caller_id: no call from +17194448888 to this offer in the last 10 minutes "
        "(call_timeframe); nothing was updated"
    ]
    hit = calls_client.post(
        url, {"offer_token": token, "call_timeframe": 60, "buyer_converted": True}, format="json"
    )
    assert hit.json()["call_uuid"] == call.call_uuid and hit.json()["buyer_converted"] is True


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({}, 422, "offer_token: This field is required."),
        ({"offer_token": "nope"}, 404, "offer_token: no offer has this token"),
        ({"offer_token": "TOKEN", "call_timeframe": 0}, 422, "call_timeframe:"),
    ],
)
def test_update_by_caller_id_refuses_a_bad_lookup(calls_client, ringba_setup, body, status, error):
    body = {
        key: ringba_setup["offer"].lead_token if value == "TOKEN" else value
        for key, value in body.items()
    }
    _call(ringba_setup, caller_id="+17194448888")
    response = calls_client.post(
        "/api/v1/calls/update_by_caller_id/17194448888", body, format="json"
    )
    assert response.status_code == status
    assert response.json()["errors"][0].startswith(error)


# --- GET /calls -------------------------------------------------------------------------------


def test_the_cursor_walks_every_call_once_and_ends_with_zero(
    calls_client, ringba_setup, django_assert_max_num_queries
):
    ids = [_call(ringba_setup).pk for _ in range(7)]
    seen, cursor, pages = [], -1, 0
    while True:
        with django_assert_max_num_queries(8):
            body = calls_client.get(f"/api/v1/calls?cursor={cursor}&per_page=3").json()
        pages += 1
        seen += [call["id"] for call in body["calls"]]
        cursor = body["metadata"]["next_cursor"]
        if cursor == 0:
            break
    assert pages == 3 and seen == sorted(ids, reverse=True)
    ascending = calls_client.get("/api/v1/calls?order=created_at&order_dir=asc&per_page=100")
    assert [call["id"] for call in ascending.json()["calls"]] == ids


def test_numbered_pages_and_trackdrive_dates(calls_client, ringba_setup):
    old = _call(ringba_setup)
    Call.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))
    recent = [_call(ringba_setup).pk for _ in range(3)]
    since = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S +0000")
    body = calls_client.get(
        "/api/v1/calls", {"page": 1, "per_page": 2, "created_at_from": since}
    ).json()
    assert body["metadata"]["total_count"] == 3 and body["metadata"]["total_pages"] == 2
    assert [call["id"] for call in body["calls"]] == sorted(recent, reverse=True)[:2]


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("order=caller_id", "order:"),
        ("per_page=101", "per_page: at most 100"),
        ("created_at_from=yesterday", "created_at_from: 'yesterday' is not a date"),
        ("page=0", "page:"),
    ],
)
def test_bad_list_parameters_are_named(calls_client, query, error):
    response = calls_client.get(f"/api/v1/calls?{query}")
    assert response.status_code == 422
    assert response.json()["errors"][0].startswith(error)


def test_the_list_as_csv_with_the_cursor_in_a_header(calls_client, ringba_setup):
    _call(ringba_setup, post_call_tokens={"=HYPERLINK(1)": "x"})
    _call(ringba_setup)
    response = calls_client.get("/api/v1/calls.csv?per_page=1")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("id,call_uuid,created_at,")
    assert len(lines) == 2 and response["X-Next-Cursor"] != "0"
    rest = calls_client.get(f"/api/v1/calls.csv?per_page=1&cursor={response['X-Next-Cursor']}")
    assert ",'=HYPERLINK(1)=x" in rest.content.decode()  # a formula is written as text
    assert rest["X-Next-Cursor"] == "0"


# --- stats and events ---------------------------------------------------------------------------


def test_dashboard_stats_take_trackdrives_period_names(calls_client, ringba_setup):
    call = _call(ringba_setup)
    calls_client.put(f"/api/v1/calls/{call.pk}", {"buyer_converted": True, "revenue": "30"})
    rollups.refresh(timezone.now() - timedelta(hours=1), timezone.now() + timedelta(hours=1))
    since = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S -0500")
    body = calls_client.get(
        "/api/v1/stats", {"stat": "revenue", "group_by": "offer", "created_at_from": since}
    ).json()
    assert body["totals"] == {"buyer_conversions": 1, "revenue": "30.00"}
    assert body["rows"][0]["label"] == ringba_setup["offer"].name


def test_events_have_trackdrives_shape(calls_client, ringba_setup, ringba_trigger):
    from integrations.models import DeliveryStatus, PostbackAttempt

    factories.NumberTokenFactory(number=ringba_setup["number"], value="tok")
    call = _call(ringba_setup)
    calls_client.put(f"/api/v1/calls/{call.pk}", {"offer_converted": True})
    delivery = call.deliveries.get()
    PostbackAttempt.objects.create(
        delivery=delivery,
        started_at=timezone.now(),
        duration_ms=120,
        status_code=200,
        response_body='{"ok":true}',
    )
    delivery.status = DeliveryStatus.DELIVERED
    delivery.save(update_fields=["status"])

    body = calls_client.get(f"/api/v1/calls/{call.pk}/events").json()
    assert (body["id"], body["uuid"]) == (call.pk, call.call_uuid)
    kinds = [event["type"] for event in body["events"]]
    assert kinds == ["Leg", "AuditLog", "WebhookLog"]
    audit, webhook = body["events"][1], body["events"][2]
    assert audit["action_name"] == "offer_converted" and audit["params"]["payout"] == "12.50"
    assert (webhook["code"], webhook["response_body"]) == (200, '{"ok":true}')
    assert webhook["request_url"] == delivery.url and webhook["request_method"] == "get"
    assert body["deliveries"][0]["id"] == delivery.pk
    assert webhook["event"] == Event.CALL_OFFER_CONVERTED


# --- Basic public:private -------------------------------------------------------------------


def _basic(public: str, private: str) -> APIClient:
    client = APIClient()
    encoded = base64.b64encode(f"{public}:{private}".encode()).decode()
    client.credentials(HTTP_AUTHORIZATION=f"Basic {encoded}")
    return client


def test_basic_public_and_private_key_authenticate_an_api_client(ringba_setup):
    issued = create_client(name="TrackDrive client")
    public = issued.client.public_key
    assert public.startswith("pub_")
    call = _call(ringba_setup)
    assert _basic(public, issued.key).get(f"/api/v1/calls/{call.pk}").status_code == 200
    assert _basic(public, "0" * 40).get(f"/api/v1/calls/{call.pk}").status_code == 401
    other = create_client(name="Another client")
    assert _basic(other.client.public_key, issued.key).get("/api/v1/calls").status_code == 401
    revoke(issued.client)
    assert _basic(public, issued.key).get("/api/v1/calls").status_code == 401


def test_failed_key_pairs_count_as_failed_logins(settings, ringba_setup):
    from django.core.cache import cache

    cache.clear()
    settings.API_AUTH_FAILURE_RATE = "2/min"
    issued = create_client(name="Guessed")
    statuses = [
        _basic(issued.client.public_key, f"{n:040x}").get("/api/v1/calls").status_code
        for n in range(3)
    ]
    assert statuses == [401, 401, 429]
    cache.clear()


def test_adding_revenue_to_an_old_call_recounts_its_hour(
    calls_client, ringba_setup, django_capture_on_commit_callbacks
):
    from integrations.models import StatsHour

    started = timezone.now() - timedelta(days=3)
    call = _call(ringba_setup, started_at=started)
    url = f"/api/v1/calls/{call.pk}"
    with django_capture_on_commit_callbacks(execute=True):
        calls_client.put(url, {"buyer_converted": True, "revenue": "10"})
    with django_capture_on_commit_callbacks(execute=True):
        calls_client.put(url, {"add_revenue": "5"})
    assert StatsHour.objects.get(hour=rollups.floor_hour(started)).revenue == Decimal("15.00")
