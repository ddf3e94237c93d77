"""Every attempt against a misbehaving receiver is recorded and ends in time (SPEC §7).

The receivers are real local servers (tests/hostile_server.py). Before this was
fixed, a NUL body failed the attempt insert on PostgreSQL, a truncated body or a
mid-body stall raised out of send(), a drip held the worker for minutes, and
``Retry-After: 1`` burnt the retry schedule in seconds: no attempt row, the
delivery stayed due, and it was sent again and again.
"""

import zlib
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.models import DeliveryStatus, PostbackAttempt
from integrations.services.deliveries import attempt_delivery
from tests.hostile_server import HANG, HostileServer, drip, response

from .conftest import make_due

pytestmark = pytest.mark.django_db

DEADLINE = 2.0
# A receiver left alone would take minutes; the deadline must cut it off long before.
CUT_OFF_BY = DEADLINE + 3


@pytest.fixture
def hostile(settings):
    settings.POSTBACK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.POSTBACK_ALLOW_PRIVATE_IPS = True
    settings.POSTBACK_CONNECT_TIMEOUT = 1.0
    settings.POSTBACK_READ_TIMEOUT = 1.0
    settings.POSTBACK_ATTEMPT_DEADLINE = DEADLINE
    servers = []

    def start(*scripts) -> HostileServer:
        server = HostileServer(*scripts)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def _attempt_once(make_delivery, server):
    delivery = make_delivery(f"{server.base_url}/hook/tok?call_id=R1")
    attempt_delivery(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    return delivery, list(delivery.attempts.all())


def test_a_nul_body_is_recorded_and_the_postback_counts_as_delivered(hostile, make_delivery):
    server = hostile([response("200 OK", b"ok\x00\x00\xff\xfe")])
    delivery, [attempt] = _attempt_once(make_delivery, server)
    assert delivery.status == DeliveryStatus.DELIVERED
    assert attempt.status_code == 200 and "\x00" not in attempt.response_body
    assert attempt.response_body.startswith("ok\ufffd")


def test_a_deflate_bomb_is_read_only_up_to_the_cap_and_stored_clean(hostile, make_delivery):
    bomb = zlib.compress(b"\x00" * 5_000_000, 9)
    server = hostile([response("200 OK", bomb, Content_Encoding="deflate")])
    delivery, [attempt] = _attempt_once(make_delivery, server)
    assert delivery.status == DeliveryStatus.DELIVERED
    assert len(attempt.response_body) <= 2048 and "\x00" not in attempt.response_body


def test_a_truncated_body_is_recorded_and_judged_by_its_status(hostile, make_delivery):
    server = hostile([response("200 OK", b"short", Content_Length="100")])
    delivery, [attempt] = _attempt_once(make_delivery, server)
    assert delivery.status == DeliveryStatus.DELIVERED
    assert attempt.status_code == 200 and "body unreadable" in attempt.error


def test_a_mid_body_stall_ends_at_the_read_timeout_and_is_recorded(hostile, make_delivery):
    head = response("503 Service Unavailable", b"", Content_Length="100")
    server = hostile([head, b"partial", HANG])
    delivery, [attempt] = _attempt_once(make_delivery, server)
    assert delivery.status == DeliveryStatus.RETRYING
    assert attempt.status_code == 503 and "body unreadable" in attempt.error


def test_a_body_dripping_a_byte_at_a_time_is_cut_off_at_the_deadline(hostile, make_delivery):
    # 2,000 bytes at one every 0.3 s would take ten minutes; each byte resets the read
    # timeout, so only the wall-clock deadline can end it.
    head = response("200 OK", b"", Content_Length="2000")
    server = hostile([head, *drip(b"x" * 2000, 0.3)])
    delivery, [attempt] = _attempt_once(make_delivery, server)
    assert attempt.duration_ms < CUT_OFF_BY * 1000
    assert attempt.status_code == 200 and "deadline" in attempt.error
    assert delivery.status == DeliveryStatus.DELIVERED  # the status line was a 200


def test_headers_dripping_a_byte_at_a_time_are_cut_off_at_the_deadline(hostile, make_delivery):
    server = hostile(drip(b"HTTP/1.1 200 OK\r\nX-Slow: " + b"y" * 2000, 0.3))
    delivery, [attempt] = _attempt_once(make_delivery, server)
    assert attempt.duration_ms < CUT_OFF_BY * 1000
    assert attempt.status_code is None and attempt.error.startswith("No complete answer within")
    assert delivery.status == DeliveryStatus.RETRYING


def test_garbage_instead_of_http_is_recorded_as_a_retry(hostile, make_delivery):
    server = hostile([b"\x00\x01garbage\r\n\r\n"])
    delivery, [attempt] = _attempt_once(make_delivery, server)
    assert delivery.status == DeliveryStatus.RETRYING and attempt.error


def test_retry_after_one_second_cannot_shorten_the_schedule(hostile, make_delivery, settings):
    settings.POSTBACK_RETRY_SCHEDULE = [60, 300]
    server = hostile([response("503 Service Unavailable", Retry_After="1")])
    delivery = make_delivery(f"{server.base_url}/hook/tok")
    before = timezone.now()
    attempt_delivery(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.RETRYING
    assert delivery.next_attempt_at >= before + timedelta(seconds=60 * 0.8)


def test_retry_after_can_lengthen_the_wait(hostile, make_delivery, settings):
    settings.POSTBACK_RETRY_SCHEDULE = [5, 300]
    server = hostile([response("429 Too Many Requests", Retry_After="600")])
    delivery = make_delivery(f"{server.base_url}/hook/tok")
    before = timezone.now()
    attempt_delivery(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.next_attempt_at >= before + timedelta(seconds=600)


def test_an_always_failing_receiver_ends_in_a_bounded_number_of_attempts(
    hostile, make_delivery, settings
):
    settings.POSTBACK_RETRY_SCHEDULE = [5, 5, 5]
    server = hostile([response("503 Service Unavailable", b"\x00" * 10)])
    delivery = make_delivery(f"{server.base_url}/hook/tok")
    for _ in range(10):
        attempt_delivery(delivery_id=delivery.pk)
        make_due(delivery)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert PostbackAttempt.objects.filter(delivery=delivery).count() == 4 == len(server.requests)


def test_a_dead_slow_receiver_delays_the_next_delivery_by_at_most_the_deadline(
    hostile, make_delivery
):
    slow = hostile([response("200 OK", b"", Content_Length="2000"), *drip(b"x" * 2000, 0.3)])
    healthy = hostile([response("200 OK")])
    stuck = make_delivery(f"{slow.base_url}/hook/a")
    waiting = make_delivery(f"{healthy.base_url}/hook/b")

    started = timezone.now()
    attempt_delivery(delivery_id=stuck.pk)  # one worker, one delivery after the other
    attempt_delivery(delivery_id=waiting.pk)

    waiting.refresh_from_db()
    assert waiting.status == DeliveryStatus.DELIVERED
    assert waiting.delivered_at - started < timedelta(seconds=CUT_OFF_BY)


def test_a_stopped_stand_in_cuts_its_kept_alive_connections_too():
    """Clients keep connections open; a stopped webhook must not keep answering on them."""
    import http.client

    from integrations.devtools.ringba_stand_in import RingbaReceiver

    receiver = RingbaReceiver().start()
    kept_alive = http.client.HTTPConnection("127.0.0.1", receiver.port, timeout=5)
    kept_alive.request("GET", "/hook/x?call_id=1")
    assert kept_alive.getresponse().read() == b"ok"

    receiver.stop()

    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        kept_alive.request("GET", "/hook/x?call_id=2")
        kept_alive.getresponse().read()
    assert len(receiver.hits) == 1
