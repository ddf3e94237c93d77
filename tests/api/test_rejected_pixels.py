"""Refused pixels are kept for the account manager, redacted and bounded (issue 14)."""

import json
from datetime import timedelta

import pytest
from django.db import DatabaseError
from django.urls import reverse
from django.utils import timezone

from integrations.models import RejectedPixel
from integrations.rules.credentials import redact_text
from integrations.services.retention import prune, purge_caller

pytestmark = pytest.mark.django_db

CAPTURE = "/api/v1/leads/capture"


def _post(client, body, **extra):
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(CAPTURE, data, content_type="application/json", **extra)


def test_an_invalid_pixel_is_kept_with_its_errors_offer_and_source(
    client, base_pixel, ringba_setup
):
    token = base_pixel["lead_token"]
    response = _post(client, {**base_pixel, "caller_id": "not a phone"})
    assert response.status_code == 422
    kept = RejectedPixel.objects.get()
    assert kept.status_code == 422
    assert kept.offer == ringba_setup["offer"] and kept.traffic_source == ringba_setup["source"]
    assert kept.errors == response.json()["errors"]
    assert token not in kept.raw_body and f"{token[:4]}…" in kept.raw_body
    assert kept.caller_id == "not a phone"


def test_an_unknown_token_is_kept_without_an_offer(client, base_pixel):
    response = _post(client, {**base_pixel, "lead_token": "UNKNOWN-TOKEN-0123456789"})
    assert response.status_code == 401
    kept = RejectedPixel.objects.get()
    assert kept.offer is None and kept.status_code == 401
    assert "UNKNOWN-TOKEN" not in kept.raw_body and "UNKN…" in kept.raw_body


def test_a_malformed_body_is_kept_as_sent(client, base_pixel):
    body = '{"lead_token": "' + base_pixel["lead_token"] + '", "caller_id": '  # cut short
    assert _post(client, body).status_code == 400
    kept = RejectedPixel.objects.get()
    assert kept.status_code == 400 and kept.raw_body.startswith('{"lead_token": "')
    assert base_pixel["lead_token"] not in kept.raw_body


def test_accepted_and_throttled_pixels_are_not_kept(client, base_pixel, settings):
    settings.CAPTURE_THROTTLE_RATE = "1/hour"  # hourly: never straddles a window
    assert _post(client, base_pixel).status_code == 201
    assert _post(client, {**base_pixel, "caller_id": "+13125550102"}).status_code == 429
    assert not RejectedPixel.objects.exists()


def test_a_flood_of_bad_pixels_writes_at_most_the_budget(client, base_pixel, settings):
    settings.REJECTED_PIXELS_PER_MINUTE = 3
    answers = [_post(client, {**base_pixel, "caller_id": "x"}).status_code for _ in range(6)]
    assert answers == [422] * 6
    assert RejectedPixel.objects.count() == 3


def test_none_are_kept_when_switched_off(client, base_pixel, settings):
    settings.REJECTED_PIXEL_DAYS = 0
    assert _post(client, {**base_pixel, "caller_id": "x"}).status_code == 422
    assert not RejectedPixel.objects.exists()


def test_a_failed_write_does_not_change_the_partners_answer(client, base_pixel, monkeypatch):
    def broken(**kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(RejectedPixel.objects, "create", broken)
    response = _post(client, {**base_pixel, "caller_id": "x"})
    assert response.status_code == 422
    assert response.json()["errors"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"lead_token": "abcdef123456"}', '{"lead_token": "abcd…"}'),
        ("lead_token=abcdef123456&x=1", "lead_token=abcd…&x=1"),
        ("{'lead_token': 'abc'}", "{'lead_token': '…'}"),
        ('{"LEAD_TOKEN": "abcdef123456", "x": ', '{"LEAD_TOKEN": "abcd…", "x": '),
    ],
)
def test_lead_tokens_are_cut_to_four_characters_in_any_shape(text, expected):
    assert redact_text(text) == expected


def test_the_admin_lists_them_and_the_offer_links_to_them(admin_client, client, base_pixel):
    _post(client, {**base_pixel, "caller_id": "not a phone"})
    offer = RejectedPixel.objects.get().offer
    listed = admin_client.get(reverse("admin:integrations_rejectedpixel_changelist"))
    assert "caller_id" in listed.text and "422" in listed.text
    page = admin_client.get(reverse("admin:integrations_offer_change", args=[offer.pk]))
    assert "1 in the last 7 days" in page.text
    assert f"offer__id__exact={offer.pk}" in page.text
    source = RejectedPixel.objects.get().traffic_source
    page = admin_client.get(reverse("admin:integrations_trafficsource_change", args=[source.pk]))
    assert "1 in the last 7 days" in page.text


def test_they_age_out_and_a_callers_purge_removes_them(ringba_setup):
    old = RejectedPixel.objects.create(status_code=422, caller_id="+13125550111")
    RejectedPixel.objects.filter(pk=old.pk).update(received_at=timezone.now() - timedelta(days=8))
    mine = RejectedPixel.objects.create(status_code=422, caller_id="+13125550177")
    in_body = RejectedPixel.objects.create(status_code=400, raw_body='{"caller_id": "3125550177')
    other = RejectedPixel.objects.create(status_code=422, caller_id="+13125550199")
    assert prune().deleted["rejected pixels"] == 1
    assert purge_caller(caller_id="+13125550177")["rejected pixels"] == 2
    assert list(RejectedPixel.objects.all()) == [other]
    assert not RejectedPixel.objects.filter(pk__in=[mine.pk, in_body.pk]).exists()


def test_unstorable_characters_are_kept_written_out(client, base_pixel):
    """NUL and lone surrogates are why such pixels are refused; the log must still hold."""
    body = json.dumps({**base_pixel, "caller_id": "\ud800\u0000x"})  # JSON escapes
    response = client.generic("POST", CAPTURE, body.encode(), content_type="application/json")
    assert response.status_code == 400, response.content
    kept = RejectedPixel.objects.get()
    assert "\x00" not in kept.caller_id and "\\u0000" in kept.caller_id
    assert "\ufffd" in kept.caller_id
