"""Throttling per partner, guessing per address, linear-time patterns, the real client address."""

import pytest

from integrations.models import Lead
from tests import factories

from .pixels import post_json

pytestmark = pytest.mark.django_db


@pytest.fixture
def throttled(settings):
    # Hourly windows: a test never straddles a window boundary by chance.
    settings.CAPTURE_THROTTLE_RATE = "3/hour"
    settings.CAPTURE_INVALID_TOKEN_RATE = "2/hour"


def test_one_partners_retry_storm_does_not_throttle_another_on_the_same_offer(
    client, ringba_setup, base_pixel, throttled
):
    other = factories.TrafficSourceFactory()
    ringba_setup["offer"].traffic_sources.add(other)
    storm = [post_json(client, base_pixel).status_code for _ in range(5)]
    assert storm == [201, 201, 201, 429, 429]
    refused = post_json(client, base_pixel)
    assert 0 < int(refused["Retry-After"]) <= 3600  # the rest of the window
    calm = post_json(client, {**base_pixel, "traffic_source_id": other.traffic_source_id})
    assert calm.status_code == 201


def test_guessing_lead_tokens_is_throttled_per_client_address(client, base_pixel, throttled):
    answers = [
        post_json(client, {**base_pixel, "lead_token": f"guess-{n}"}).status_code for n in range(4)
    ]
    assert answers == [401, 401, 429, 429]
    other_address = post_json(
        client, {**base_pixel, "lead_token": "guess-x"}, REMOTE_ADDR="10.9.8.7"
    )
    assert other_address.status_code == 401
    assert post_json(client, base_pixel).status_code == 201  # a real token is not affected


def test_a_catastrophic_pattern_cannot_pin_a_worker(client, ringba_setup, base_pixel):
    # (a+)+$ backtracks 2^n times in Python's re: 4,000 characters would never end.
    factories.ContactFieldFactory(offer=ringba_setup["offer"], name="code", pattern="(a+)+$")
    response = post_json(client, {**base_pixel, "code": "a" * 3999 + "!"})
    assert response.status_code == 201
    assert response.json()["warnings"][0].startswith("code: does not match the pattern")


@pytest.mark.parametrize("pattern", [r"(a)\1", r"(?=a)a", r"(?<!x)y"])
def test_patterns_the_engine_cannot_run_are_refused_when_saved(ringba_setup, pattern):
    from django.core.exceptions import ValidationError

    field = factories.ContactFieldFactory.build(offer=ringba_setup["offer"], pattern=pattern)
    with pytest.raises(ValidationError) as refused:
        field.full_clean()
    assert "back-references and look-ahead" in str(refused.value.message_dict["pattern"])


def test_the_source_address_is_the_one_the_trusted_proxy_saw(client, base_pixel, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    post_json(
        client, base_pixel, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9"
    )
    assert Lead.objects.get().source_ip == "203.0.113.9"


def test_without_a_trusted_proxy_forwarded_headers_are_ignored(client, base_pixel):
    post_json(client, base_pixel, REMOTE_ADDR="198.51.100.4", HTTP_X_FORWARDED_FOR="6.6.6.6")
    assert Lead.objects.get().source_ip == "198.51.100.4"


def test_the_throttle_keeps_one_small_counter_however_high_the_rate(
    client, ringba_setup, base_pixel, settings
):
    """DRF's list of request times grew with the rate (6,000 floats at the default)."""
    from django.core.cache import cache

    settings.CAPTURE_THROTTLE_RATE = "100000/hour"
    for index in range(20):
        assert post_json(client, {**base_pixel, "ringba_call_uuid": f"R{index}"}).status_code == 201
    keys = [key.split(":", 2)[2] for key in cache._cache if "throttle" in key]  # drop ":1:"
    assert len(keys) == 1
    assert cache.get(keys[0]) == 20


def test_junk_claiming_another_partners_source_never_throttles_that_partner(
    client, ringba_setup, base_pixel, throttled, settings
):
    """An attacker with the offer's token sent junk under the victim's source id:
    the victim's real pixels were answered 429, 20 of 20 (issue 25, item 2)."""
    settings.CAPTURE_REFUSED_RATE = "4/hour"
    junk = {**base_pixel, "caller_id": "not a phone"}
    attacker = [post_json(client, junk, REMOTE_ADDR="198.51.100.66").status_code for _ in range(8)]
    assert attacker == [422] * 4 + [429] * 4  # refused pixels count per address

    victim = [
        post_json(client, {**base_pixel, "ringba_call_uuid": f"V{n}"}).status_code for n in range(3)
    ]
    assert victim == [201, 201, 201]


def test_a_partners_own_refused_pixels_do_not_use_up_its_accepted_budget(
    client, ringba_setup, base_pixel, throttled
):
    for _ in range(5):
        post_json(client, {**base_pixel, "caller_id": "x"})
    assert post_json(client, base_pixel).status_code == 201


def test_the_refusal_does_not_tell_which_source_ids_are_enabled(client, ringba_setup, base_pixel):
    inactive = factories.TrafficSourceFactory(active=False)
    ringba_setup["offer"].traffic_sources.add(inactive)
    unknown = post_json(client, {**base_pixel, "traffic_source_id": "9999999"}).json()
    disabled = post_json(client, {**base_pixel, "traffic_source_id": inactive.traffic_source_id})
    shown = disabled.json()["errors"][0].replace(str(inactive.traffic_source_id), "9999999")
    assert shown == unknown["errors"][0]
