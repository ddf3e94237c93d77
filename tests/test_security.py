"""Security properties the review in docs/security.md relies on."""

import json
import logging
import os
import subprocess
import sys

import pytest
from django.test import Client
from django.urls import reverse

from integrations.services.offers import rotate_lead_token
from tests.api.pixels import post_json


@pytest.mark.django_db
def test_admin_forms_refuse_posts_without_a_csrf_token(admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = client.post(reverse("admin:integrations_offer_add"), {"name": "x"})
    assert response.status_code == 403


def test_production_settings_are_secure_by_default():
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SECURE_", "SESSION_", "CSRF_", "DEBUG"))
    }
    env.update(
        {"DJANGO_SETTINGS_MODULE": "portal.settings", "DEBUG": "false", "SECRET_KEY": "x" * 60}
    )
    code = (
        "import json; from django.conf import settings as s; import django; django.setup();"
        "print(json.dumps({k: getattr(s, k) for k in ['SESSION_COOKIE_SECURE', "
        "'CSRF_COOKIE_SECURE', 'SESSION_COOKIE_HTTPONLY', 'SECURE_SSL_REDIRECT', "
        "'SECURE_HSTS_SECONDS', 'X_FRAME_OPTIONS', 'SECURE_CONTENT_TYPE_NOSNIFF', "
        "'POSTBACK_ALLOW_PRIVATE_IPS']}))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(output) == {
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "X_FRAME_OPTIONS": "DENY",
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "POSTBACK_ALLOW_PRIVATE_IPS": False,
    }


@pytest.mark.django_db
def test_lead_tokens_are_never_logged_in_full(client, ringba_setup, caplog):
    offer = ringba_setup["offer"]
    token = offer.lead_token
    body = {
        "lead_token": token,
        "traffic_source_id": ringba_setup["source"].traffic_source_id,
        "caller_id": "+13125550100",
    }
    with caplog.at_level(logging.DEBUG):
        post_json(client, body)
        post_json(client, {**body, "caller_id": "garbage"})
        client.get("/api/v1/leads/capture", body)
        rotate_lead_token(offer)
        post_json(client, body)  # the old token, now refused
    assert caplog.records, "expected some logging to inspect"
    assert all(token not in record.getMessage() for record in caplog.records)
    assert any(token[:4] in record.getMessage() for record in caplog.records)


def test_credential_names_are_remembered_only_when_short():
    from integrations.rules.credentials import _is_credential_text, is_credential_name

    _is_credential_text.cache_clear()
    long_name = "x" * 10_000
    assert is_credential_name("Lead-Token") and not is_credential_name(long_name)
    assert is_credential_name("LEAD_TOKEN" + " " * 100)  # long, still read, never remembered
    assert _is_credential_text.cache_info().currsize == 1  # only the short name is kept
