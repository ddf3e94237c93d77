"""Every way a pixel can be wrong answers a JSON 4xx that names the field."""

import json

import pytest

from integrations.models import ContactField, Lead
from tests import factories

from .pixels import CAPTURE_URL, post_json

pytestmark = pytest.mark.django_db


@pytest.fixture
def valid(ringba_setup):
    return {
        "lead_token": ringba_setup["offer"].lead_token,
        "traffic_source_id": str(ringba_setup["source"].traffic_source_id),
        "caller_id": "+18005551234",
        "ringba_call_uuid": "RGB-ERR-1",
    }


def _errors(response, status):
    assert response.status_code == status, response.content
    data = response.json()
    assert data["success"] is False and data["status"] == "rejected"
    return data["errors"]


def test_missing_lead_token_is_401(client, valid):
    del valid["lead_token"]
    assert _errors(post_json(client, valid), 401) == [
        "lead_token: is required; copy it from the offer's Posting Instructions page"
    ]


def test_unknown_lead_token_is_401(client, valid):
    valid["lead_token"] = "0" * 32
    assert _errors(post_json(client, valid), 401) == ["lead_token: lead_token is invalid"]


def test_inactive_offer_is_401(client, valid, ringba_setup):
    ringba_setup["offer"].active = False
    ringba_setup["offer"].save()
    assert _errors(post_json(client, valid), 401) == ["lead_token: lead_token is invalid"]


def test_missing_traffic_source_is_422(client, valid):
    del valid["traffic_source_id"]
    assert _errors(post_json(client, valid), 422) == [
        "traffic_source_id: is required; send the id from the Posting Instructions page"
    ]


def test_non_numeric_traffic_source_is_422(client, valid):
    valid["traffic_source_id"] = "abc"
    assert _errors(post_json(client, valid), 422) == [
        "traffic_source_id: must be a number, got 'abc'"
    ]


def test_traffic_source_not_enabled_on_the_offer_is_422(client, valid):
    other = factories.TrafficSourceFactory()
    valid["traffic_source_id"] = other.traffic_source_id
    assert _errors(post_json(client, valid), 422) == [
        f"traffic_source_id: {other.traffic_source_id} is not enabled on this offer; check the "
        "id on your Posting Instructions page"
    ]


def test_inactive_traffic_source_is_422_and_said_as_not_enabled(client, valid, ringba_setup):
    """Whether an id exists but is paused is not told to whoever sends it (issue 25)."""
    ringba_setup["source"].active = False
    ringba_setup["source"].save()
    assert _errors(post_json(client, valid), 422) == [
        f"traffic_source_id: {ringba_setup['source'].traffic_source_id} is not enabled on this "
        "offer; check the id on your Posting Instructions page"
    ]


def test_every_problem_is_reported_at_once(client, valid):
    valid["traffic_source_id"] = "[tag:User:traffic_source_id]"
    valid["caller_id"] = "hello"
    errors = _errors(post_json(client, valid), 422)
    assert errors[0].startswith("traffic_source_id: Ringba sent the unreplaced tag")
    assert errors[1].startswith("caller_id: 'hello' is not a phone number")


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("8005551234", "+18005551234"),
        ("18005551234", "+18005551234"),
        ("+1 (800) 555-1234", "+18005551234"),
        ("800.555.1234", "+18005551234"),
        ("+44 20 7946 0958", "+442079460958"),
        (8005551234, "+18005551234"),
    ],
)
def test_caller_id_formats_normalise_to_e164(client, valid, raw, expected):
    valid["caller_id"] = raw
    response = post_json(client, valid)
    assert response.status_code == 201, response.content
    assert response.json()["lead"]["caller_id"] == expected
    assert Lead.objects.get().caller_id == expected


@pytest.mark.parametrize("raw", ["garbage", "123", "", "++++", "1" * 60])
def test_impossible_caller_ids_are_422(client, valid, raw):
    valid["caller_id"] = raw
    errors = _errors(post_json(client, valid), 422)
    assert errors[0].startswith("caller_id: ")


def test_malformed_json_is_400(client, valid):
    response = client.generic(
        "POST", CAPTURE_URL, b'{"lead_token": ', content_type="application/json"
    )
    assert _errors(response, 400)[0].startswith("body: is not valid JSON")


def test_json_array_body_is_400(client):
    response = client.generic("POST", CAPTURE_URL, b"[1, 2]", content_type="application/json")
    assert _errors(response, 400) == ['body: must be a JSON object such as {"lead_token": "..."}']


def test_deeply_nested_json_is_400(client, valid):
    body = json.dumps({**valid, "x": json.loads("[" * 50 + "]" * 50)})
    response = client.generic("POST", CAPTURE_URL, body.encode(), content_type="application/json")
    assert _errors(response, 400) == ["body: nested deeper than 20 levels"]


def test_invalid_utf8_is_400(client):
    response = client.generic(
        "POST", CAPTURE_URL, b'{"a": "\xff"}', content_type="application/json"
    )
    assert _errors(response, 400) == ["body: is not valid UTF-8"]


def test_body_over_the_limit_is_413(client, valid, settings):
    settings.CAPTURE_MAX_BODY_BYTES = 1024
    valid["notes"] = "x" * 2000
    assert _errors(post_json(client, valid), 413) == [
        "body: larger than 1024 bytes; send only the fields needed"
    ]
    assert Lead.objects.count() == 0


def test_unsupported_body_type_is_415(client):
    response = client.generic(
        "POST", CAPTURE_URL, b"\x00\x01binary", content_type="application/octet-stream"
    )
    assert _errors(response, 415)[0].startswith("Content-Type: application/octet-stream is not")


def test_other_methods_are_405_in_json(client):
    assert _errors(client.put(CAPTURE_URL, b"{}"), 405) == ["method: PUT is not allowed here"]
    assert _errors(client.delete(CAPTURE_URL), 405) == ["method: DELETE is not allowed here"]


def test_unknown_api_paths_are_404_in_json(client):
    assert _errors(client.get("/api/v1/nothing-here"), 404) == [
        "path: /api/v1/nothing-here does not exist; see /api/docs/"
    ]


def test_throttling_is_per_lead_token_and_answers_429(client, valid, settings):
    settings.CAPTURE_THROTTLE_RATE = "2/min"
    for index in range(2):
        valid["ringba_call_uuid"] = f"RGB-T-{index}"
        assert post_json(client, valid).status_code == 201
    errors = _errors(post_json(client, valid), 429)
    assert errors[0].startswith("request: too many requests; retry in")
    # Another offer's partner is not affected.
    source = factories.TrafficSourceFactory()
    other = factories.OfferFactory(traffic_sources=[source])
    response = post_json(
        client,
        {**valid, "lead_token": other.lead_token, "traffic_source_id": source.traffic_source_id},
    )
    assert response.status_code == 201


def _contact_field(offer, **kwargs):
    return ContactField.objects.create(offer=offer, **kwargs)


def test_contact_field_rules_are_warnings_when_not_enforced(client, valid, ringba_setup):
    offer = ringba_setup["offer"]
    _contact_field(offer, name="email", field_type="email")
    _contact_field(offer, name="state", acceptable_values="IL\nIN")
    _contact_field(offer, name="zip", pattern=r"\d{5}", required=True)
    response = post_json(client, {**valid, "email": "nope", "state": "CA"})
    assert response.status_code == 201
    assert response.json()["warnings"] == [
        "email: must be an email address (got 'nope')",
        "state: must be one of IL, IN (got 'CA')",
        "zip: is required by this offer",
    ]


def test_contact_field_rules_refuse_the_pixel_when_enforced(client, valid, ringba_setup):
    offer = ringba_setup["offer"]
    offer.enforce_contact_field_validations = True
    offer.save()
    _contact_field(offer, name="age", field_type="integer")
    _contact_field(offer, name="zip", pattern=r"\d{5}")
    errors = _errors(post_json(client, {**valid, "age": "old", "zip": "6060"}), 422)
    assert errors == [
        "age: must be a whole number (got 'old')",
        "zip: does not match the pattern \\d{5} (got '6060')",
    ]
    assert Lead.objects.count() == 0


def test_enforced_rules_accept_good_values(client, valid, ringba_setup):
    offer = ringba_setup["offer"]
    offer.enforce_contact_field_validations = True
    offer.save()
    for name, field_type in [
        ("age", "integer"),
        ("income", "decimal"),
        ("smoker", "boolean"),
        ("dob", "datetime"),
        ("alt", "phone"),
        ("site", "url"),
    ]:
        _contact_field(offer, name=name, field_type=field_type, required=True)
    response = post_json(
        client,
        {
            **valid,
            "age": "67",
            "income": "1234.50",
            "smoker": "no",
            "dob": "1958-03-01",
            "alt": "3125550000",
            "site": "https://example.com/x",
        },
    )
    assert response.status_code == 201, response.content


def test_field_names_that_are_not_token_names_are_ignored_with_a_warning(client, valid):
    response = post_json(client, {**valid, "First Name": "Ann", "Last_Name": "Lee"})
    assert response.status_code == 201
    assert response.json()["warnings"] == [
        "First Name: ignored; field names use only a-z, 0-9 and _"
    ]
    assert Lead.objects.get().tokens["last_name"] == "Lee"


def test_any_accept_header_gets_json(client, valid):
    response = client.generic(
        "POST",
        CAPTURE_URL,
        json.dumps(valid).encode(),
        content_type="application/json",
        HTTP_ACCEPT="text/html",
    )
    assert response.status_code == 201
    assert response["Content-Type"] == "application/json"
