"""The calls API: auth, recording calls, update_call, reading calls and their events."""

import base64

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from integrations.models import Call, DeliveryStatus
from integrations.services.api_clients import create_client
from tests import factories

from .pixels import post_json

pytestmark = pytest.mark.django_db


def test_no_credentials_is_401(api_client):
    response = api_client.post("/api/v1/calls", {}, format="json")
    assert response.status_code == 401
    assert response.json()["errors"][0].startswith("auth: Authentication credentials were not")


def test_bad_token_is_401(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token nope")
    assert api_client.get("/api/v1/calls/x").status_code == 401


def test_user_without_permission_is_403(api_client):
    issued = create_client(name="Dialer")
    issued.client.user.user_permissions.clear()
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {issued.key}")
    response = api_client.post("/api/v1/calls", {}, format="json")
    assert response.status_code == 403
    assert response.json()["errors"] == [
        "auth: this user may not use the calls API (permission integrations.use_calls_api)"
    ]


def _allowed_user():
    user = factories.UserFactory()
    user.user_permissions.add(Permission.objects.get(codename="use_calls_api"))
    return user


def test_basic_auth_is_accepted(ringba_setup):
    user = _allowed_user()
    client = APIClient()
    credentials = base64.b64encode(f"{user.username}:password".encode()).decode()
    client.credentials(HTTP_AUTHORIZATION=f"Basic {credentials}")
    response = client.post(
        "/api/v1/calls",
        {"number": ringba_setup["number"].number, "caller_id": "3125550100"},
        format="json",
    )
    assert response.status_code == 201


def test_auth_token_in_the_body_is_accepted_as_trackdrive_does(ringba_setup):
    key = create_client(name="Dialer").key
    response = APIClient().post(
        "/api/v1/calls",
        {
            "auth_token": key,
            "number": ringba_setup["number"].number,
            "caller_id": "3125550100",
        },
        format="json",
    )
    assert response.status_code == 201


def test_record_call_returns_the_call_with_tokens(calls_client, ringba_setup):
    factories.NumberTokenFactory(number=ringba_setup["number"], value="NUMTOKEN")
    response = calls_client.post(
        "/api/v1/calls",
        {
            "number": ringba_setup["number"].number,
            "caller_id": "(312) 555-0100",
            "call_uuid": "CALL-1",
        },
        format="json",
    )
    assert response.status_code == 201
    data = response.json()
    assert data["call_uuid"] == "CALL-1" and data["caller_id"] == "+13125550100"
    assert data["offer_id"] == ringba_setup["offer"].pk
    assert data["traffic_source_id"] == ringba_setup["source"].traffic_source_id
    assert data["tokens"]["ringba_webhook_token"] == "NUMTOKEN"
    assert data["lead"] is None


def test_recording_the_same_call_uuid_again_is_idempotent(calls_client, ringba_setup):
    body = {
        "number": ringba_setup["number"].number,
        "caller_id": "3125550100",
        "call_uuid": "CALL-2",
    }
    assert calls_client.post("/api/v1/calls", body, format="json").status_code == 201
    assert calls_client.post("/api/v1/calls", body, format="json").status_code == 200
    assert Call.objects.filter(call_uuid="CALL-2").count() == 1


def test_unknown_number_is_422(calls_client, db):
    response = calls_client.post(
        "/api/v1/calls", {"number": "8005559999", "caller_id": "3125550100"}, format="json"
    )
    assert response.status_code == 422
    assert response.json()["errors"] == ["number: +18005559999 is not an active tracking number"]


def test_missing_fields_are_422_naming_each(calls_client, db):
    response = calls_client.post("/api/v1/calls", {}, format="json")
    assert response.status_code == 422
    assert response.json()["errors"] == [
        "number: This field is required.",
        "caller_id: This field is required.",
    ]


def test_a_new_call_takes_the_newest_unattached_lead_of_its_caller(
    base_pixel, client, calls_client, ringba_setup
):
    body = {
        **base_pixel,
        "caller_id": "+13125550100",
        "first_name": "Ann",
    }
    post_json(client, {**body, "ringba_call_uuid": "OLD"})
    post_json(client, {**body, "ringba_call_uuid": "NEW"})
    response = calls_client.post(
        "/api/v1/calls",
        {"number": ringba_setup["number"].number, "caller_id": "3125550100"},
        format="json",
    )
    data = response.json()
    assert data["lead"]["ringba_call_uuid"] == "NEW"
    assert data["tokens"]["first_name"] == "Ann" and data["tokens"]["ringba_call_uuid"] == "NEW"


@pytest.mark.parametrize(
    "field, value, message",
    [
        (
            "revenue",
            "abc",
            "revenue: an amount must be written with the digits 0-9, an optional sign and "
            "one . (for example 12.50); got 'abc'",
        ),
        ("payout", "-1", "payout: Ensure this value is greater than or equal to 0."),
        ("buyer_converted", "maybe", "buyer_converted: Must be a valid boolean."),
        ("duration", "-5", "duration: Ensure this value is greater than or equal to 0."),
        (
            "post_call_tokens",
            {"Bad Key": 1},
            "post_call_tokens: Bad Key are not token names (use a-z, 0-9 and _)",
        ),
    ],
)
def test_update_call_field_errors(calls_client, ringba_setup, field, value, message):
    call = factories.CallFactory(number=ringba_setup["number"])
    response = calls_client.post(
        f"/api/v1/calls/update_call/{call.call_uuid}", {field: value}, format="json"
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [message]


def test_update_unknown_call_is_404(calls_client, db):
    response = calls_client.post("/api/v1/calls/update_call/nope", {"duration": 5}, format="json")
    assert response.status_code == 404
    assert response.json()["errors"] == ["call_uuid: no call 'nope'"]


def test_update_call_accepts_trackdrive_booleans_form_encoded(calls_client, ringba_setup):
    call = factories.CallFactory(number=ringba_setup["number"])
    response = calls_client.post(
        f"/api/v1/calls/update_call/{call.call_uuid}", {"buyer_converted": "1", "revenue": "30"}
    )
    assert response.status_code == 200, response.content
    assert response.json()["buyer_converted"] is True
    assert response.json()["revenue"] == "30.00"


def test_post_call_tokens_merge_into_the_call(calls_client, ringba_setup):
    call = factories.CallFactory(number=ringba_setup["number"])
    url = f"/api/v1/calls/update_call/{call.call_uuid}"
    calls_client.post(url, {"post_call_tokens": {"disposition": "sale"}}, format="json")
    response = calls_client.post(url, {"post_call_tokens": {"agent": "7"}}, format="json")
    assert response.json()["post_call_tokens"] == {"disposition": "sale", "agent": "7"}


def test_done_when_scenario_from_the_issue(
    base_pixel, client, calls_client, ringba_setup, ringba_trigger, settings
):
    """Pixel, then the call, then update_call → exactly one pending delivery, visible."""
    factories.NumberTokenFactory(number=ringba_setup["number"], value="demo-token")
    post_json(
        client,
        {
            **base_pixel,
            "caller_id": "+13125550100",
            "ringba_call_uuid": "RGB-DONE",
        },
    )
    call = calls_client.post(
        "/api/v1/calls",
        {"number": ringba_setup["number"].number, "caller_id": "3125550100"},
        format="json",
    ).json()
    calls_client.post(
        f"/api/v1/calls/update_call/{call['call_uuid']}",
        "offer_converted=true&payout=12.5",
        content_type="application/x-www-form-urlencoded",
    )

    events = calls_client.get(f"/api/v1/calls/{call['call_uuid']}/events").json()["deliveries"]
    assert len(events) == 1
    assert events[0]["status"] == DeliveryStatus.PENDING
    assert events[0]["url"] == (
        f"{settings.RINGBA_WEBHOOK_BASE_URL}/hook/demo-token"
        "?call_id=RGB-DONE&call_revenue=12.50&sale_successful=true"
    )
    assert events[0]["attempts"] == []
    detail = calls_client.get(f"/api/v1/calls/{call['call_uuid']}").json()
    assert detail["offer_converted"] is True and detail["payout"] == "12.50"


@pytest.mark.parametrize("path", ["update_call/{uuid}", "{id}"])
def test_form_encoded_post_call_tokens_still_merge(calls_client, ringba_setup, path):
    """Regression: the query-string merge once turned a form into a plain dict and lost
    DRF's nested names (post_call_tokens.disposition=sale)."""
    call = factories.CallFactory(number=ringba_setup["number"])
    response = calls_client.post(
        "/api/v1/calls/" + path.format(uuid=call.call_uuid, id=call.pk) + "?revenue=5",
        "post_call_tokens.disposition=sale&buyer_converted=1",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["post_call_tokens"] == {"disposition": "sale"}
    assert (body["buyer_converted"], body["revenue"]) == (True, "5.00")
