"""Hostile input gets a 4xx that names the field, never a 500 (SPEC §4.3).

Each case here answered 500 (with a traceback in the log) before the input-hygiene
layer: lone surrogates, non-ASCII digits, HEAD, extreme dates, deep nesting,
chunked and compressed bodies, and a deleted traffic source still in the cache.
"""

import gzip
import json
from datetime import timedelta
from io import BytesIO

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from integrations.models import Lead
from tests import factories

from .pixels import CAPTURE_URL, post_json

pytestmark = pytest.mark.django_db


def _raw_post(client, text: str, url: str = CAPTURE_URL, **extra):
    """POST text as-is (json.dumps would escape a lone surrogate as \\ud800)."""
    return client.generic("POST", url, text.encode("utf-8", "surrogatepass"), **extra)


@pytest.mark.parametrize(
    "body",
    [
        '{"lead_token": "\ud800"}',
        '{"lead_token": "%(token)s", "first_name": "a\ud800b"}',
        '{"lead_token": "%(token)s", "bad\udfffkey": "x"}',
        '{"lead_token": "%(token)s", "ringba_call_uuid": "R\ud800"}',
    ],
)
def test_lone_surrogates_are_refused_with_400(client, ringba_setup, body):
    # json.loads turns the escaped surrogate into a real lone one, as a client's would.
    text = body.replace("\ud800", "\\ud800").replace("\udfff", "\\udfff")
    text = text % {"token": ringba_setup["offer"].lead_token}
    response = _raw_post(client, text, content_type="application/json")
    assert response.status_code == 400, response.content
    assert "unpaired surrogate" in response.json()["errors"][0]
    assert Lead.objects.count() == 0


# superscript two, Arabic-Indic 123, full-width 123: str.isdigit() says yes to each
@pytest.mark.parametrize("digits", ["\u00b2", "\u0661\u0662\u0663", "\uff11\uff12\uff13"])
def test_non_ascii_digits_are_not_a_traffic_source_id(client, base_pixel, digits):
    response = post_json(client, {**base_pixel, "traffic_source_id": digits})
    assert response.status_code == 422
    assert response.json()["errors"][0].startswith("traffic_source_id: must be a number")


@pytest.mark.parametrize("path", [CAPTURE_URL, "/api/v1/leads"])
def test_head_is_answered_like_get_without_a_body_and_stores_nothing(client, base_pixel, path):
    """Link checkers and probes send HEAD: checked as GET, never stored (issue 25, item 14)."""
    from integrations.models import RejectedPixel

    response = client.head(path, base_pixel)
    assert response.status_code == 200 and response.content == b""
    assert client.head(path).status_code == 401
    assert client.head(path, {**base_pixel, "caller_id": "x"}).status_code == 422
    assert Lead.objects.count() == 0 and RejectedPixel.objects.count() == 0


def _post_chunked(client, pixel: dict):
    """POST as a chunked request arrives from gunicorn: no Content-Length, body in the stream."""
    return client.generic(
        "POST",
        CAPTURE_URL,
        b"",
        content_type="application/json",
        HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input": BytesIO(json.dumps(pixel).encode())},
    )


def test_a_chunked_pixel_is_read(client, base_pixel):
    response = _post_chunked(client, base_pixel)
    assert response.status_code == 201, response.content


def test_a_chunked_pixel_over_the_limit_is_413(client, base_pixel, settings):
    settings.CAPTURE_MAX_BODY_BYTES = 1024
    response = _post_chunked(client, {**base_pixel, "note": "x" * 200_000})
    assert response.status_code == 413


@pytest.mark.parametrize("header", [True, False])
def test_a_gzip_body_is_415(client, base_pixel, header):
    body = gzip.compress(json.dumps(base_pixel).encode())
    extra = {"HTTP_CONTENT_ENCODING": "gzip"} if header else {}
    response = client.generic("POST", CAPTURE_URL, body, content_type="application/json", **extra)
    assert response.status_code == 415
    assert "uncompressed" in response.json()["errors"][0]


def test_warnings_are_capped(client, base_pixel):
    bad_keys = {f"Bad-Key-{n}": "x" for n in range(3000)}
    response = post_json(client, {**base_pixel, **bad_keys})
    assert response.status_code == 201
    warnings = response.json()["warnings"]
    assert len(warnings) == 51 and warnings[-1] == "… and 2950 more"
    assert len(Lead.objects.get().warnings) == 51


def test_a_deleted_traffic_source_still_in_the_cache_is_a_422(client, base_pixel, ringba_setup):
    assert post_json(client, {**base_pixel, "caller_id": "3125550001"}).status_code == 201
    ringba_setup["offer"].traffic_sources.remove(ringba_setup["source"])
    ringba_setup["number"].delete()
    ringba_setup["source"].leads.all().delete()
    ringba_setup["source"].delete()
    response = post_json(client, {**base_pixel, "caller_id": "3125550002"})
    assert response.status_code == 422


def test_clearing_offers_from_the_source_side_invalidates_the_cache(
    client, base_pixel, ringba_setup
):
    assert post_json(client, base_pixel).status_code == 201  # cached now
    ringba_setup["source"].offers.clear()
    response = post_json(client, {**base_pixel, "caller_id": "3125550003"})
    assert response.status_code == 422
    assert "not enabled on this offer" in response.json()["errors"][0]


def test_a_traffic_source_delete_invalidates_the_cache(client, base_pixel, ringba_setup):
    from integrations.services.offer_cache import get_offer_config

    token = ringba_setup["offer"].lead_token
    assert ringba_setup["source"].traffic_source_id in get_offer_config(token).sources
    source = factories.TrafficSourceFactory()
    ringba_setup["offer"].traffic_sources.add(source)
    assert source.traffic_source_id in get_offer_config(token).sources
    source.delete()
    assert source.traffic_source_id not in get_offer_config(token).sources


# --- the calls API -------------------------------------------------------------------


@pytest.mark.parametrize("started_at", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"])
def test_extreme_start_times_are_422(calls_client, ringba_setup, started_at):
    response = calls_client.post(
        "/api/v1/calls",
        {
            "number": ringba_setup["number"].number,
            "caller_id": "3125550100",
            "started_at": started_at,
        },
        format="json",
    )
    assert response.status_code == 422
    assert response.json()["errors"][0].startswith("started_at: must be between")


def test_an_end_decades_after_the_start_is_422(calls_client, ringba_setup):
    call = factories.CallFactory(
        number=ringba_setup["number"], started_at=timezone.now() - timedelta(days=3650)
    )
    response = calls_client.post(
        f"/api/v1/calls/update_call/{call.call_uuid}",
        {"ended_at": timezone.now().isoformat()},
        format="json",
    )
    assert response.status_code == 422
    assert "more than 7 days" in response.json()["errors"][0]


def test_a_surrogate_in_post_call_tokens_is_400(calls_client, ringba_setup):
    call = factories.CallFactory(number=ringba_setup["number"])
    response = _raw_post(
        calls_client,
        '{"post_call_tokens": {"note": "\\ud800"}}',
        url=f"/api/v1/calls/update_call/{call.call_uuid}",
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0].startswith("post_call_tokens.note:")


def test_deeply_nested_json_is_400(calls_client, ringba_setup):
    call = factories.CallFactory(number=ringba_setup["number"])
    nested = '{"post_call_tokens": ' + '{"a": ' * 5000 + "1" + "}" * 5000 + "}"
    response = _raw_post(
        calls_client,
        nested,
        url=f"/api/v1/calls/update_call/{call.call_uuid}",
        content_type="application/json",
    )
    assert response.status_code == 400


def test_a_calls_body_over_the_limit_is_413(calls_client, ringba_setup, settings):
    settings.CALLS_MAX_BODY_BYTES = 1024
    response = calls_client.post(
        "/api/v1/calls",
        {"number": ringba_setup["number"].number, "caller_id": "3125550100", "x": "y" * 5000},
        format="json",
    )
    assert response.status_code == 413
    assert response.json()["errors"] == [
        "body: larger than 1024 bytes; send only the fields needed"
    ]


# --- the admin -------------------------------------------------------------------------


def test_ending_a_call_that_starts_in_the_future_is_a_message_not_a_500(admin_client, ringba_setup):
    call = factories.CallFactory(
        number=ringba_setup["number"], started_at=timezone.now() + timedelta(hours=1)
    )
    response = admin_client.post(
        reverse("admin:integrations_call_changelist"),
        {"action": "end_now", "_selected_action": [call.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "not ended: ended_at: is before the call started" in response.content.decode()


def test_a_hand_edited_filter_value_does_not_break_the_delivery_list(admin_client):
    url = reverse("admin:integrations_postbackdelivery_changelist")
    assert admin_client.get(url, {"traffic_source": "abc"}).status_code == 200


def test_new_from_template_explains_a_url_the_allow_list_refuses(
    admin_client, ringba_template, settings
):
    settings.POSTBACK_ALLOWED_HOSTS = ["only.example.com"]
    response = admin_client.post(
        reverse("admin:integrations_eventtrigger_new_from_template"),
        {"template": ringba_template.pk},
    )
    assert response.status_code == 200
    assert "is not an allowed postback host" in response.content.decode()


def test_unknown_tokens_add_nothing_to_the_cache(client, base_pixel):
    before = len(cache._cache)
    for n in range(50):
        post_json(client, {**base_pixel, "lead_token": f"guess-{n}"})
    assert len(cache._cache) - before <= 1  # at most the per-address throttle counter
