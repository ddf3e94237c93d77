"""A lead token is never stored in full, however the request spelled it (issue 25, item 5).

The raw request is kept with each lead (and each refused pixel) for debugging.
Redacting by searching the raw text missed a token written with JSON \\u escapes,
percent-encoded in a form body, another offer's token in the query, or a
LEAD_TOKEN key. Redaction now starts from the parsed values.
"""

import json
from urllib.parse import quote

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from integrations.models import Lead, RejectedPixel
from tests import factories

from .pixels import CAPTURE_URL

pytestmark = pytest.mark.django_db


def _escaped(text: str) -> str:
    return "".join(f"\\u{ord(char):04x}" for char in text)


def _stored_text() -> str:
    rows = [(lead.raw_body, lead.raw_query, json.dumps(lead.tokens)) for lead in Lead.objects.all()]
    rows += [(r.raw_body, r.raw_query) for r in RejectedPixel.objects.all()]
    return repr(rows)


@pytest.fixture
def token(ringba_setup):
    return ringba_setup["offer"].lead_token


def test_a_json_body_with_unicode_escapes(client, token, base_pixel):
    body = json.dumps({**base_pixel, "lead_token": "@@"}).replace("@@", _escaped(token))
    response = client.post(CAPTURE_URL, body, content_type="application/json")
    assert response.status_code == 201, response.content
    assert token not in _stored_text() and _escaped(token) not in _stored_text()
    assert token[:4] in Lead.objects.get().raw_body  # still says which token it was


def test_a_percent_encoded_form_body(client, token, base_pixel):
    fields = {**base_pixel, "lead_token": token}
    body = "&".join(
        f"{key}={''.join(f'%{ord(c):02X}' for c in str(value))}" for key, value in fields.items()
    )
    response = client.post(CAPTURE_URL, body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 201, response.content
    stored = _stored_text()
    assert token not in stored and quote(token) not in stored and "%35" not in stored


def test_another_offers_token_in_the_query(client, token, base_pixel, ringba_setup):
    other = factories.OfferFactory(traffic_sources=[ringba_setup["source"]]).lead_token
    response = client.post(
        f"{CAPTURE_URL}?lead_token={other}", json.dumps(base_pixel), content_type="application/json"
    )
    assert response.status_code in (201, 422), response.content
    stored = _stored_text()
    assert token not in stored and other not in stored


def test_an_upper_case_key(client, token, base_pixel):
    body = {**base_pixel}
    body.pop("lead_token")
    body["LEAD_TOKEN"] = token
    response = client.post(CAPTURE_URL, json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    assert token not in _stored_text()


def test_a_refused_pixel_with_an_escaped_token(client, token, base_pixel):
    body = json.dumps({**base_pixel, "caller_id": "x", "lead_token": "@@"})
    response = client.post(
        CAPTURE_URL, body.replace("@@", _escaped(token)), content_type="application/json"
    )
    assert response.status_code == 422
    assert RejectedPixel.objects.count() == 1
    assert token not in _stored_text() and _escaped(token) not in _stored_text()


def test_a_viewer_with_only_view_lead_never_sees_a_token(client, token, base_pixel):
    body = json.dumps({**base_pixel, "lead_token": "@@"}).replace("@@", _escaped(token))
    client.post(CAPTURE_URL, body, content_type="application/json")
    viewer = factories.UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_lead"))
    client.force_login(viewer)
    lead = Lead.objects.get()
    for url in (
        reverse("admin:integrations_lead_changelist"),
        reverse("admin:integrations_lead_change", args=[lead.pk]),
    ):
        page = client.get(url)
        assert page.status_code == 200
        assert token not in page.content.decode() and _escaped(token) not in page.content.decode()
