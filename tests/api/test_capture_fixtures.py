"""Every real pixel shape Ringba sends produces exactly the response and row expected."""

import pytest

from integrations.models import Lead

from .pixels import fixture_names, load, send

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", fixture_names())
def test_pixel_fixture(client, ringba_setup, name):
    pixel = load(
        name,
        lead_token=ringba_setup["offer"].lead_token,
        traffic_source_id=ringba_setup["source"].traffic_source_id,
    )
    expect = pixel["expect"]

    response = send(client, pixel)

    assert response.status_code == expect["status"], response.content
    assert response["Content-Type"] == "application/json"
    data = response.json()
    if expect["status"] >= 400:
        assert data == {"success": False, "status": "rejected", "errors": expect["errors"]}
        assert Lead.objects.count() == expect["stored"]
        return
    assert data["success"] is True and data["errors"] == []
    assert data["status"] == expect["response_status"]
    assert data["warnings"] == expect["warnings"]
    lead = Lead.objects.get()
    assert data["lead"] == {
        "id": lead.pk,
        "uuid": str(lead.uuid),
        "offer_id": ringba_setup["offer"].pk,
        "traffic_source_id": ringba_setup["source"].traffic_source_id,
        "caller_id": expect["lead"]["caller_id"],
        "ringba_call_uuid": expect["lead"]["ringba_call_uuid"],
        "call_uuid": None,
        "test": False,
    }
    assert lead.caller_id == expect["lead"]["caller_id"]
    assert lead.ringba_call_uuid == expect["lead"]["ringba_call_uuid"]
    assert lead.tokens == expect["tokens"]
    assert lead.warnings == expect["warnings"]
    assert lead.traffic_source == ringba_setup["source"]
    # The raw request is kept so an account manager sees what Ringba sent, with the
    # secret lead token cut to its first four characters.
    token = ringba_setup["offer"].lead_token
    raw = lead.raw_body + lead.raw_query
    assert token not in raw and f"{token[:4]}…" in raw
    if pixel["method"] == "POST":
        assert lead.content_type == pixel["content_type"]
    else:
        assert "lead_token=" in lead.raw_query
    assert lead.source_ip == "127.0.0.1"


def test_the_alias_path_accepts_the_same_pixel(client, ringba_setup):
    pixel = load(
        "json_post_minimum",
        lead_token=ringba_setup["offer"].lead_token,
        traffic_source_id=ringba_setup["source"].traffic_source_id,
    )
    response = send(client, pixel, url="/api/v1/leads")
    assert response.status_code == 201
    assert Lead.objects.count() == 1


def test_offer_lead_token_is_an_alias_of_lead_token(client, ringba_setup):
    from .pixels import post_json

    response = post_json(
        client,
        {
            "offer_lead_token": ringba_setup["offer"].lead_token,
            "traffic_source_id": ringba_setup["source"].traffic_source_id,
            "caller_id": "8005551234",
        },
    )
    assert response.status_code == 201, response.content
