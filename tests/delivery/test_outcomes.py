"""Outcome rules of SPEC §7 against a real local HTTP server."""

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.models import DeliveryStatus, EventTrigger, PostbackDelivery
from integrations.outbound.postbacks import USER_AGENT
from integrations.services.deliveries import attempt_delivery, retry_delay

from .conftest import make_due

pytestmark = pytest.mark.django_db


def _attempt(delivery):
    attempt_delivery(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    return delivery


def test_200_is_delivered_once(receiver, make_delivery):
    delivery = make_delivery(f"{receiver.base_url}/hook/tok?call_id=RGB1&call_revenue=12.50")
    _attempt(delivery)
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.delivered_at
    assert delivery.attempt_count == 1 and delivery.next_attempt_at is None
    [attempt] = delivery.attempts.all()
    assert attempt.status_code == 200 and attempt.response_body == "ok" and attempt.error == ""
    [hit] = receiver.hits
    assert (hit.path, hit.query) == ("/hook/tok", {"call_id": "RGB1", "call_revenue": "12.50"})
    assert hit.user_agent == USER_AGENT
    # Delivered is never due again: a stray task or sweep sends nothing more.
    make_due(delivery)
    assert attempt_delivery(delivery_id=delivery.pk) is None
    assert len(receiver.hits) == 1


def test_500_500_200_is_delivered_on_the_third_attempt(receiver, make_delivery):
    receiver.behaviour.statuses = [500, 500]
    delivery = make_delivery(f"{receiver.base_url}/hook/tok")
    before = timezone.now()
    _attempt(delivery)
    assert delivery.status == DeliveryStatus.RETRYING
    # First retry after ~5 s (±20 %), stored on the row.
    assert before + timedelta(seconds=3.9) <= delivery.next_attempt_at
    assert delivery.next_attempt_at <= timezone.now() + timedelta(seconds=6.1)
    assert attempt_delivery(delivery_id=delivery.pk) is None  # not due yet: nothing sent
    make_due(delivery)
    _attempt(delivery)
    make_due(delivery)
    _attempt(delivery)
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempt_count == 3
    assert [a.status_code for a in delivery.attempts.all()] == [500, 500, 200]
    assert len(receiver.hits) == 3


def test_404_fails_at_once_without_retry(receiver, make_delivery):
    receiver.behaviour.status = 404
    delivery = _attempt(make_delivery(f"{receiver.base_url}/hook/tok"))
    assert delivery.status == DeliveryStatus.FAILED and delivery.next_attempt_at is None
    assert delivery.last_error == "HTTP 404"


@pytest.mark.parametrize(
    "status, outcome",
    [
        (400, DeliveryStatus.FAILED),
        (401, DeliveryStatus.FAILED),
        (410, DeliveryStatus.FAILED),
        (408, DeliveryStatus.RETRYING),
        (429, DeliveryStatus.RETRYING),
        (502, DeliveryStatus.RETRYING),
        (503, DeliveryStatus.RETRYING),
    ],
)
def test_other_statuses(receiver, make_delivery, status, outcome):
    receiver.behaviour.status = status
    assert _attempt(make_delivery(f"{receiver.base_url}/hook/t")).status == outcome


def test_timeout_is_retried(receiver, make_delivery, settings):
    settings.POSTBACK_READ_TIMEOUT = 0.2
    receiver.behaviour.delay = 0.6
    delivery = _attempt(make_delivery(f"{receiver.base_url}/hook/tok"))
    assert delivery.status == DeliveryStatus.RETRYING
    assert delivery.attempts.get().error.startswith("127.0.0.1:")
    assert "did not answer within 0.2 s — timeout: " in delivery.attempts.get().error


def test_connection_refused_is_retried(receiver, make_delivery):
    url = f"{receiver.base_url}/hook/tok"
    receiver.stop()
    delivery = _attempt(make_delivery(url))
    assert delivery.status == DeliveryStatus.RETRYING
    assert delivery.attempts.get().error.startswith(
        f"Connection refused by 127.0.0.1:{receiver.port} — connection error: "
    )


def test_429_with_retry_after_is_honoured(receiver, make_delivery):
    receiver.behaviour.status, receiver.behaviour.retry_after = 429, "120"
    delivery = _attempt(make_delivery(f"{receiver.base_url}/hook/tok"))
    wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
    assert delivery.status == DeliveryStatus.RETRYING and 115 <= wait <= 120


def test_retry_after_is_capped(settings):
    settings.POSTBACK_MAX_RETRY_AFTER = 600
    assert retry_delay(attempt_number=1, retry_after=86400) == 600


def test_the_schedule_runs_out_into_failed(receiver, make_delivery, settings):
    settings.POSTBACK_RETRY_SCHEDULE = [1, 1]
    receiver.behaviour.status = 503
    delivery = make_delivery(f"{receiver.base_url}/hook/tok")
    for _ in range(3):
        make_due(delivery)
        _attempt(delivery)
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempt_count == 3
    make_due(delivery)
    assert attempt_delivery(delivery_id=delivery.pk) is None


def test_jitter_stays_within_twenty_percent(settings):
    settings.POSTBACK_RETRY_SCHEDULE = [100]
    delays = [retry_delay(attempt_number=1, retry_after=None) for _ in range(200)]
    assert 80 <= min(delays) < max(delays) <= 120
    assert retry_delay(attempt_number=2, retry_after=None) is None


def test_redirects_are_not_followed(receiver, make_delivery):
    receiver.behaviour.status, receiver.behaviour.location = 302, "http://127.0.0.1:1/internal"
    delivery = _attempt(make_delivery(f"{receiver.base_url}/hook/tok"))
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.last_error == "redirect not followed (Location: http://127.0.0.1:1/internal)"
    assert len(receiver.hits) == 1


def test_private_address_is_refused_when_the_setting_is_off(receiver, make_delivery, settings):
    settings.POSTBACK_ALLOW_PRIVATE_IPS = False
    delivery = _attempt(make_delivery(f"{receiver.base_url}/hook/tok"))
    assert delivery.status == DeliveryStatus.FAILED
    assert "private, loopback or link-local" in delivery.last_error
    assert receiver.hits == []


def test_private_address_is_reachable_when_the_setting_is_on(receiver, make_delivery):
    assert _attempt(make_delivery(f"{receiver.base_url}/hook/t")).status == "delivered"


def test_a_name_resolving_to_loopback_is_refused_at_connect_time(receiver, make_delivery, settings):
    settings.POSTBACK_ALLOW_PRIVATE_IPS = False
    settings.POSTBACK_ALLOWED_HOSTS = ["localhost"]  # allowed by name, loopback by address
    delivery = _attempt(make_delivery(f"http://localhost:{receiver.port}/hook/tok"))
    assert delivery.status == DeliveryStatus.FAILED and receiver.hits == []


def test_a_host_off_the_allow_list_is_refused_at_send(receiver, make_delivery, settings):
    settings.POSTBACK_ALLOWED_HOSTS = ["webhook.ringba.com"]
    delivery = _attempt(make_delivery(f"{receiver.base_url}/hook/tok"))
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.last_error.startswith("127.0.0.1 is not an allowed postback host")
    assert receiver.hits == []


def test_response_body_is_kept_up_to_2_kb(receiver, make_delivery):
    receiver.behaviour.body = "x" * 10_000
    delivery = _attempt(make_delivery(f"{receiver.base_url}/hook/tok"))
    assert len(delivery.attempts.get().response_body) == 2048


def test_trigger_health_tracks_failures_and_success(receiver, make_delivery):
    receiver.behaviour.statuses = [503, 503]
    delivery = make_delivery(f"{receiver.base_url}/hook/tok")
    for _ in range(2):
        make_due(delivery)
        _attempt(delivery)
    trigger = EventTrigger.objects.get(pk=delivery.trigger_id)
    assert trigger.consecutive_failures == 2 and trigger.last_error == "HTTP 503"
    make_due(delivery)
    _attempt(delivery)
    trigger.refresh_from_db()
    assert trigger.consecutive_failures == 0 and trigger.last_success_at is not None


def test_two_claims_of_the_same_attempt_send_once(receiver, make_delivery):
    delivery = make_delivery(f"{receiver.base_url}/hook/tok")
    assert attempt_delivery(delivery_id=delivery.pk) is not None
    assert attempt_delivery(delivery_id=delivery.pk) is None
    assert len(receiver.hits) == 1
    assert PostbackDelivery.objects.get(pk=delivery.pk).attempts.count() == 1
