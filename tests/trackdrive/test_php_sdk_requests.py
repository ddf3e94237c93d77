"""Requests exactly as TrackDrive's PHP SDK (github.com/Trackdrive/trackdrive-php-sdk) builds them.

The SDK's ``Caller`` sends ``Accept`` and ``Content-Type: application/json`` on every
request, JSON bodies on POST, and ``?auth_token=`` followed by ``&name=value`` pairs
appended unencoded. Its ``edit`` (PUT) sends no body and no method override, so
curl issues a GET: SDK users convert with ``Caller::post`` on ``calls/:id``, as
TrackDrive's own curl example does. Here an unchanged client of that shape, and
one using TrackDrive's documented Basic public:private header, each convert a call,
and the local Ringba stand-in receives exactly one postback.
"""

import base64
import json

import pytest
from django.test import Client

from integrations.models import DeliveryStatus
from integrations.services.api_clients import create_client
from integrations.services.deliveries import attempt_delivery

pytestmark = pytest.mark.django_db

BASE = "/api/v1/"
SDK_HEADERS = {"HTTP_ACCEPT": "application/json"}


class PhpSdk:
    """The URL, method, headers and body each SDK call produces (model.php, caller.php)."""

    def __init__(self, token: str):
        self.token = token
        self.http = Client()

    def view(self, resource, record_id=None, params=()):
        url = BASE + resource + (f"/{record_id}" if record_id else "")
        url += "?auth_token=" + self.token
        for name, value in params:
            url += f"&{name}={value}"
        return self.http.get(url, content_type="application/json", **SDK_HEADERS)

    def add(self, resource, data):
        return self._post(BASE + resource + "?auth_token=" + self.token, data)

    def edit(self, resource, record_id, data):
        # caller.php: PUT sets neither a body nor CURLOPT_CUSTOMREQUEST, so curl GETs.
        url = f"{BASE}{resource}/{record_id}?auth_token={self.token}"
        return self.http.get(url, content_type="application/json", **SDK_HEADERS)

    def post(self, path, data):  # Caller::post, for what the SDK's verbs cannot say
        return self._post(f"{BASE}{path}?auth_token={self.token}", data)

    def _post(self, url, data):
        return self.http.post(url, json.dumps(data), content_type="application/json", **SDK_HEADERS)


def _pixel(sdk, ringba_setup, call_id):
    """Ringba's pixel, through TrackDrive's create-lead path (``POST /api/v1/leads``)."""
    response = sdk.add(
        "leads",
        {
            "lead_token": ringba_setup["offer"].lead_token,
            "traffic_source_id": ringba_setup["source"].traffic_source_id,
            "caller_id": "+17194448888",
            "data": {"ringba_call_uuid": call_id, "zip_code": "90210"},
        },
    )
    assert response.status_code in (200, 201), response.content


def _send_due(call_pk) -> list:
    from integrations.models import PostbackDelivery

    due = PostbackDelivery.objects.filter(call_id=call_pk, status=DeliveryStatus.PENDING)
    return [attempt_delivery(delivery_id=pk) for pk in due.values_list("pk", flat=True)]


def test_an_unchanged_php_sdk_client_converts_a_call_and_ringba_gets_one_postback(
    ringba, ringba_setup, ringba_trigger
):
    from tests import factories

    factories.NumberTokenFactory(number=ringba_setup["number"], value="hook-token")
    sdk = PhpSdk(create_client(name="Buyer PHP").key)
    _pixel(sdk, ringba_setup, "RGB-PHP-1")

    created = sdk.add("calls", {"number": ringba_setup["number"].number, "caller_id": "7194448888"})
    assert created.status_code == 201, created.content
    call = created.json()
    listed = sdk.view("calls", params=[("order", "created_at"), ("order_dir", "asc")])
    assert [row["id"] for row in listed.json()["calls"]] == [call["id"]]
    assert sdk.view("calls", call["id"]).json()["lead"]["ringba_call_uuid"] == "RGB-PHP-1"

    # edit() arrives as a GET: it reads the call and changes nothing.
    unchanged = sdk.edit("calls", call["id"], {"offer_converted": True})
    assert unchanged.status_code == 200 and unchanged.json()["offer_converted"] is False

    converted = sdk.post(f"calls/{call['id']}", {"offer_converted": "true", "payout": "10"})
    assert converted.status_code == 200, converted.content
    again = sdk.post(f"calls/{call['id']}", {"offer_converted": "true", "payout": "10"})
    assert again.json()["version"] == converted.json()["version"]  # nothing changed

    _send_due(call["id"])
    assert [(hit.path, hit.query) for hit in ringba.hits] == [
        (
            "/hook/hook-token",
            {"call_id": "RGB-PHP-1", "call_revenue": "10.00", "sale_successful": "true"},
        )
    ]


def test_trackdrives_documented_basic_put_converts_by_caller_id(
    ringba, ringba_setup, ringba_trigger
):
    from tests import factories

    factories.NumberTokenFactory(number=ringba_setup["number"], value="hook-token")
    issued = create_client(name="Buyer curl")
    sdk = PhpSdk(issued.key)
    _pixel(sdk, ringba_setup, "RGB-PHP-2")
    call = sdk.add("calls", {"number": ringba_setup["number"].number, "caller_id": "7194448888"})
    pair = base64.b64encode(f"{issued.client.public_key}:{issued.key}".encode()).decode()
    basic = Client(HTTP_AUTHORIZATION=f"Basic {pair}")

    # curl -X POST ".../calls/update_by_caller_id/17194448888?offer_token=…&add_revenue=5"
    response = basic.post(
        "/api/v1/calls/update_by_caller_id/17194448888"
        f"?offer_token={ringba_setup['offer'].lead_token}&buyer_converted=true&add_revenue=5"
    )
    assert response.status_code == 200, response.content
    assert response.json()["revenue"] == "5.00"
    # curl -H "Authorization: Basic …" -H "Content-Type: application/json" -X PUT -d …
    put = basic.put(
        f"/api/v1/calls/{call.json()['id']}",
        json.dumps({"offer_converted": True, "payout": 9}),
        content_type="application/json",
    )
    assert put.status_code == 200, put.content

    _send_due(call.json()["id"])
    assert [hit.query["call_revenue"] for hit in ringba.hits] == ["9.00"]
