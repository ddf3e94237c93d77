"""Credentials are never data (issue 32, item 1; SPEC §15).

TrackDrive's PHP SDK appends ``?auth_token=<key>`` to every request. On
``POST /api/v1/leads`` that key became the lead's ``auth_token`` token, was copied
onto the matched call and came back from ``GET /api/v1/calls/:id``. One list of
credential names (``integrations.rules.credentials``) is now never stored as a token,
in any case or encoding, and is cut from every stored request and log line.
"""

import json

import pytest

from integrations.models import Call, Lead, RejectedPixel
from integrations.rules.credentials import (
    CREDENTIAL_NAMES,
    is_credential_name,
    redact_query,
    redact_text,
)
from integrations.services.api_clients import create_client
from tests import factories

from .test_php_sdk_requests import PhpSdk

pytestmark = pytest.mark.django_db

KEY = "sk_live_Zq9eXample_APIkey_0123456789abcdef"


def _everything_stored() -> str:
    """Every stored text a credential could hide in: leads, calls, refusals."""
    rows = [
        (lead.raw_body, lead.raw_query, lead.tokens, lead.warnings) for lead in Lead.objects.all()
    ]
    rows += [call.post_call_tokens for call in Call.objects.all()]
    rows += [(r.raw_body, r.raw_query) for r in RejectedPixel.objects.all()]
    return json.dumps(rows, default=str)


def test_the_php_sdks_auth_token_never_becomes_a_lead_or_call_token(ringba_setup):
    issued = create_client(name="Buyer PHP")
    sdk = PhpSdk(issued.key)
    lead = sdk.add(
        "leads",
        {
            "lead_token": ringba_setup["offer"].lead_token,
            "traffic_source_id": ringba_setup["source"].traffic_source_id,
            "caller_id": "+17194448888",
            "data": {"ringba_call_uuid": "RGB-CRED-1", "zip_code": "90210"},
        },
    )
    assert lead.status_code == 201, lead.content
    assert issued.key not in lead.content.decode()
    call = sdk.add("calls", {"number": ringba_setup["number"].number, "caller_id": "7194448888"})
    assert call.status_code == 201, call.content

    shown = sdk.view("calls", call.json()["id"])
    assert shown.status_code == 200
    assert issued.key not in shown.content.decode()
    stored = Lead.objects.get()
    assert "auth_token" not in stored.tokens and stored.tokens["zip_code"] == "90210"
    assert "auth_token" not in json.dumps(shown.json())  # the call's tokens come from its lead
    assert issued.key not in _everything_stored()


@pytest.mark.parametrize(
    "name",
    ["auth_token", "AUTH_TOKEN", "Api_Key", "offer_token", " api_key "],
)
def test_no_spelling_of_a_credential_name_is_stored_as_a_token(client, base_pixel, name):
    body = {**base_pixel, name: KEY, "zip_code": "90210"}
    response = client.post("/api/v1/leads", json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    answer = response.json()
    assert any("credential" in warning for warning in answer["warnings"]), answer
    lead = Lead.objects.get()
    assert lead.tokens == {"zip_code": "90210"}
    assert KEY not in _everything_stored()


def test_a_percent_encoded_credential_name_in_the_query_is_not_stored(client, base_pixel):
    query = f"auth%5Ftoken={KEY}&API%5FKEY={KEY}"
    response = client.post(
        f"/api/v1/leads?{query}", json.dumps(base_pixel), content_type="application/json"
    )
    assert response.status_code == 201, response.content
    assert set(Lead.objects.get().tokens) == set()
    assert KEY not in _everything_stored()


def test_a_refused_pixel_with_broken_json_and_an_upper_case_key_is_stored_redacted(
    client, ringba_setup
):
    token = ringba_setup["offer"].lead_token
    body = f'{{"LEAD_TOKEN": "{token}", "Auth_Token": "{KEY}", "caller_id": "+1312'
    response = client.post(
        f"/api/v1/leads/capture?offer_token={KEY}", body, content_type="application/json"
    )
    assert response.status_code == 400, response.content
    refused = RejectedPixel.objects.get()
    assert token not in refused.raw_body and KEY not in refused.raw_body
    assert KEY not in refused.raw_query
    assert token[:4] in refused.raw_body  # still says which token it was
    assert '"caller_id": "+1312' in refused.raw_body  # the rest is kept to debug with


def test_post_call_tokens_refuse_a_credential_name(calls_client, ringba_setup):
    call = factories.CallFactory(number=ringba_setup["number"])
    response = calls_client.put(
        f"/api/v1/calls/{call.call_uuid}",
        {"post_call_tokens": {"disposition": "sale", "Auth_Token": KEY}},
        format="json",
    )
    assert response.status_code == 422, response.content
    assert "Auth_Token" in response.content.decode() and "credential" in response.content.decode()
    call.refresh_from_db()
    assert call.post_call_tokens == {}


@pytest.mark.parametrize(
    "name",
    ["auth_token", "AUTH_TOKEN", "auth%5Ftoken", "auth%255Ftoken", "Api-Key", "offer_token"],
)
def test_every_spelling_of_a_credential_name_is_recognised(name):
    assert is_credential_name(name)


@pytest.mark.parametrize("name", ["zip_code", "token", "ringba_webhook_token", "caller_id"])
def test_ordinary_field_names_are_not_credentials(name):
    assert not is_credential_name(name)


def test_the_list_names_the_credentials_the_issue_names():
    assert {"auth_token", "api_key", "offer_token", "lead_token"} <= CREDENTIAL_NAMES


def test_query_redaction_keeps_everything_but_credential_values():
    query = f"offer_token={KEY}&buyer_converted=true&Auth%5FToken={KEY}&add_revenue=5"
    redacted = redact_query(query)
    assert KEY not in redacted
    assert "buyer_converted=true" in redacted and "add_revenue=5" in redacted


@pytest.mark.parametrize(
    "text",
    [
        f'{{"lead_token": "{KEY}", "x": 1',  # broken JSON
        f'{{"\\u0061uth_token": "{KEY}"',  # an escaped key
        f"api_key={KEY}&caller_id=1",  # a form body
        f'{{"API_KEY" : "{KEY}"}}',  # spaces around the colon
    ],
)
def test_text_redaction_finds_credentials_in_text_no_parser_reads(text):
    assert KEY not in redact_text(text)
    assert KEY[:4] in redact_text(text)


@pytest.mark.parametrize("logger_name", ["django.server", "integrations.api", "django.request"])
def test_log_lines_never_carry_a_credential(logger_name):
    import io
    import logging

    logger = logging.getLogger(logger_name)
    # The handlers settings.LOGGING configured (pytest adds capturing ones of its own).
    configured = logger.handlers if logger_name == "django.server" else logging.getLogger().handlers
    handlers = [h for h in configured if type(h) is logging.StreamHandler]
    assert handlers, "the logger writes through a configured handler"
    streams = []
    for handler in handlers:
        stream = io.StringIO()
        previous = handler.setStream(stream)
        streams.append((handler, stream, previous))
    try:
        logger.warning(
            '"%s" %s',
            f"GET /api/v1/calls/update_by_caller_id/1?offer_token={KEY}&auth_token={KEY} HTTP/1.1",
            "200",
        )
    finally:
        for handler, _, previous in streams:
            handler.setStream(previous)
    written = "".join(stream.getvalue() for _, stream, _ in streams)
    assert "offer_token=" in written and "auth_token=" in written
    assert KEY not in written


def test_the_migration_scrubs_credentials_stored_before_this_release(ringba_setup):
    import importlib

    from django.apps import apps

    scrub = importlib.import_module("integrations.migrations.0036_credentials_never_data")
    leaked = factories.LeadFactory(
        tokens={"auth_token": KEY, "zip_code": "90210"},
        raw_query=f"auth_token={KEY}",
        raw_body=f'{{"caller_id": "+13125550000", "API_KEY": "{KEY}"}}',
    )
    clean = factories.LeadFactory(tokens={"zip_code": "60601"}, raw_body='{"zip_code": "60601"}')
    call = factories.CallFactory(
        number=ringba_setup["number"], post_call_tokens={"offer_token": KEY, "sale": "yes"}
    )
    RejectedPixel.objects.create(status_code=400, raw_body=f'{{"lead_token": "{KEY}"', errors=[])

    scrub.scrub_credentials(apps, None)

    leaked.refresh_from_db()
    call.refresh_from_db()
    assert leaked.tokens == {"zip_code": "90210"}
    assert call.post_call_tokens == {"sale": "yes"}
    assert KEY not in _everything_stored()
    assert '"caller_id": "+13125550000"' in leaked.raw_body
    clean.refresh_from_db()
    assert clean.tokens == {"zip_code": "60601"} and clean.raw_body == '{"zip_code": "60601"}'
