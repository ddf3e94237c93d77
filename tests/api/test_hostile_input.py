"""Hostile input gets a 4xx naming the problem, or is stored and shown safely — never a 5xx.

Several of these only fail on PostgreSQL (it cannot store NUL), so the suite runs
on both databases.
"""

import json

import pytest
from django.urls import reverse

from integrations.models import Lead
from tests import factories

from .pixels import CAPTURE_URL, post_json

pytestmark = pytest.mark.django_db


@pytest.fixture
def pixel(base_pixel):
    return {**base_pixel, "ringba_call_uuid": "RGB-HOSTILE"}


@pytest.mark.parametrize(
    "extra, field",
    [
        ({"first_name": "Ann\x00"}, "first_name"),
        ({"bad\x00key": "x"}, "badkey"),
        ({"data": {"nested": "a\x00b"}}, "nested"),
        ({"ringba_call_uuid": "RGB\x00"}, "ringba_call_uuid"),
    ],
)
def test_nul_characters_are_refused_with_400(client, pixel, extra, field):
    response = post_json(client, {**pixel, **extra})
    assert response.status_code == 400, response.content
    assert response.json()["errors"] == [
        f"{field}: contains a NUL character (\\u0000) or an unpaired surrogate "
        "(\\ud800-\\udfff), which cannot be stored; send valid UTF-8 text"
    ]
    assert Lead.objects.count() == 0


def test_nul_in_the_query_string_is_refused(client, pixel):
    response = client.post(
        f"{CAPTURE_URL}?first_name=a%00b", json.dumps(pixel), content_type="application/json"
    )
    assert response.status_code == 400


def test_huge_numbers_are_kept_exactly_as_text(client, pixel):
    big = 10**40
    response = client.generic(
        "POST",
        CAPTURE_URL,
        json.dumps({**pixel, "income": big, "ratio": 1e308}).encode(),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    tokens = Lead.objects.get().tokens
    assert tokens["income"] == str(big)
    assert float(tokens["ratio"]) == 1e308


def test_a_huge_traffic_source_id_is_a_422_not_an_overflow(client, pixel):
    response = post_json(client, {**pixel, "traffic_source_id": "9" * 30})
    assert response.status_code == 422


def test_crlf_in_values_cannot_inject_response_headers(client, pixel):
    response = post_json(client, {**pixel, "first_name": "x\r\nSet-Cookie: owned=1"})
    assert response.status_code == 201
    assert "owned" not in response.cookies and "Set-Cookie" not in response.headers


def test_sql_and_html_looking_values_are_stored_verbatim_and_shown_escaped(
    client, admin_client, pixel
):
    nasty = "'; DROP TABLE integrations_lead; --<script>alert(1)</script>"
    response = post_json(client, {**pixel, "first_name": nasty, "ringba_call_uuid": "RGB-X'"})
    assert response.status_code == 201
    lead = Lead.objects.get()
    assert lead.tokens["first_name"] == nasty
    page = admin_client.get(reverse("admin:integrations_lead_change", args=[lead.pk]))
    html = page.content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    listing = admin_client.get(reverse("admin:integrations_lead_changelist"), {"q": "RGB-X'"})
    assert listing.status_code == 200 and "RGB-X&#x27;" in listing.content.decode()


def test_calls_api_treats_impossible_call_uuids_as_not_found(calls_client, db):
    for path in ["/api/v1/calls/ab%00cd", "/api/v1/calls/ab%00cd/events"]:
        response = calls_client.get(path)
        assert response.status_code == 404, (path, response.content)
    response = calls_client.post(
        "/api/v1/calls/update_call/ab%00cd", {"duration": 1}, format="json"
    )
    assert response.status_code == 404


def test_post_call_tokens_refuse_nul(calls_client, ringba_setup):
    call = factories.CallFactory(number=ringba_setup["number"])
    response = calls_client.post(
        f"/api/v1/calls/update_call/{call.call_uuid}",
        {"post_call_tokens": {"note": "a\x00b"}},
        format="json",
    )
    assert response.status_code == 400  # the same input-hygiene layer as the capture API
    assert response.json()["errors"][0].startswith("post_call_tokens.note: contains a NUL")


def test_calls_api_refuses_nul_in_fields(calls_client, ringba_setup):
    response = calls_client.post(
        "/api/v1/calls",
        {"number": ringba_setup["number"].number, "caller_id": "312\x00555"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0].startswith("caller_id: contains a NUL")
