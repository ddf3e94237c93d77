"""Consumed field names match case-insensitively (Ringba bodies are typed by hand)."""

import pytest

from integrations.models import Lead

from .pixels import post_json

pytestmark = pytest.mark.django_db


def test_mixed_case_names_are_read_and_never_stored_as_tokens(client, ringba_setup):
    body = {
        "LEAD_TOKEN": ringba_setup["offer"].lead_token,
        "Traffic_Source_Id": ringba_setup["source"].traffic_source_id,
        "Caller_ID": "3125550145",
        "Ringba_Call_UUID": "RGB-CASE",
        "First_Name": "Ann",
    }
    first = post_json(client, body)
    repeat = post_json(client, {**body, "Last_Name": "Lee"})

    assert first.status_code == 201 and repeat.status_code == 200
    lead = Lead.objects.get()
    assert lead.ringba_call_uuid == "RGB-CASE" and lead.caller_id == "+13125550145"
    assert lead.tokens == {"ringba_call_uuid": "RGB-CASE", "first_name": "Ann", "last_name": "Lee"}


def test_the_exact_lower_case_spelling_wins_over_another(client, ringba_setup):
    body = {
        "lead_token": ringba_setup["offer"].lead_token,
        "Lead_Token": "not-the-token",
        "traffic_source_id": ringba_setup["source"].traffic_source_id,
        "caller_id": "3125550145",
    }
    assert post_json(client, body).status_code == 201
