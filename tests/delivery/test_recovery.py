"""Recovery never pays twice unknowingly, and never calls a paid postback failed (SPEC §14).

Case 12 of issue 24. An attempt is on record as in flight before its request
leaves, so a worker that dies (or a database that restarts) between Ringba's
answer and the recording leaves a visible attempt whose outcome is unknown. The
retry that follows is expected to meet Ringba's 404 ("already converted") and
records the delivery as delivered by that earlier attempt. Leases are measured
on the database's clock, whatever a worker's clock says.
"""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from integrations.devtools.ringba_stand_in import Behaviour, RingbaReceiver
from integrations.models import DeliveryStatus, PostbackAttempt, PostbackDelivery
from integrations.outbound import postbacks
from integrations.services import deliveries
from integrations.services.deliveries import attempt_delivery
from tests.hostile_server import HostileServer, response

from .conftest import make_due

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


class WorkerKilled(BaseException):
    """What a SIGKILL looks like from inside: nothing after it runs."""


def test_the_attempt_is_on_record_before_the_request_leaves(make_delivery, settings):
    settings.POSTBACK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.POSTBACK_ALLOW_PRIVATE_IPS = True
    release = threading.Event()
    server = HostileServer([release, response("200 OK")])
    delivery = make_delivery(f"{server.base_url}/hook/tok?call_id=RGB-1")

    def worker():
        try:
            attempt_delivery(delivery_id=delivery.pk)
        finally:
            connections.close_all()

    sending = threading.Thread(target=worker)
    sending.start()
    try:
        deadline = time.monotonic() + 10
        while not server.requests and time.monotonic() < deadline:
            time.sleep(0.01)
        # The request is at the receiver; this connection sees what was committed.
        in_flight = list(PostbackAttempt.objects.filter(delivery=delivery).values("in_flight"))
    finally:
        release.set()
        sending.join(timeout=30)
        server.stop()

    assert in_flight == [{"in_flight": True}]
    [attempt] = PostbackAttempt.objects.filter(delivery=delivery)
    assert attempt.in_flight is False and attempt.status_code == 200 and not attempt.stray


def test_a_worker_killed_after_ringba_answered_is_recorded_as_delivered_by_its_attempt(
    ringba, make_delivery, monkeypatch
):
    url = f"{ringba.base_url}/hook/TOKEN?call_id=RGB-KILL&call_revenue=10.00&sale_successful=true"
    delivery = make_delivery(url)
    real_send = postbacks.send

    def send_then_die(method, url, **request):
        real_send(method, url)  # Ringba got it and converted the call
        raise WorkerKilled

    monkeypatch.setattr(deliveries.postbacks, "send", send_then_die)
    with pytest.raises(WorkerKilled):
        attempt_delivery(delivery_id=delivery.pk)
    monkeypatch.undo()

    make_due(delivery)  # the dead worker's lease has run out; the sweeper queues it
    attempt_delivery(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED, delivery.last_error
    first, second = delivery.attempts.order_by("number")
    assert first.in_flight is False and "outcome unknown" in first.error
    assert second.status_code == 404 and "delivered by attempt 1" in second.error
    assert [hit.query["call_id"] for hit in ringba.hits] == ["RGB-KILL", "RGB-KILL"]


def test_a_404_without_an_earlier_unknown_attempt_still_fails(ringba, make_delivery):
    ringba.behaviour.status = 404  # unknown call id, or over 30 days old
    delivery = make_delivery(f"{ringba.base_url}/hook/TOKEN?call_id=RGB-NONE&call_revenue=1")
    attempt_delivery(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED


def test_a_404_from_a_receiver_that_is_not_ringba_is_not_taken_for_a_duplicate(
    make_delivery, monkeypatch, settings
):
    settings.POSTBACK_ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    settings.POSTBACK_ALLOW_PRIVATE_IPS = True
    other = RingbaReceiver(behaviour=Behaviour(statuses=[200], status=404)).start()
    settings.RINGBA_WEBHOOK_BASE_URL = "http://webhook.ringba.test"
    try:
        delivery = make_delivery(f"{other.base_url}/partner-hook?id=1")
        real_send = postbacks.send

        def send_then_die(method, url, **request):
            real_send(method, url)
            raise WorkerKilled

        monkeypatch.setattr(deliveries.postbacks, "send", send_then_die)
        with pytest.raises(WorkerKilled):
            attempt_delivery(delivery_id=delivery.pk)
        monkeypatch.undo()
        make_due(delivery)
        attempt_delivery(delivery_id=delivery.pk)
    finally:
        other.stop()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED


def test_a_host_busy_put_back_leaves_no_attempt(make_delivery, monkeypatch, settings):
    settings.POSTBACK_ALLOWED_HOSTS = ["127.0.0.1"]
    delivery = make_delivery("http://127.0.0.1:9/hook/x")
    monkeypatch.setattr(deliveries.HOST_SLOTS, "try_acquire", lambda host, wait: False)
    assert attempt_delivery(delivery_id=delivery.pk) is None
    assert not PostbackAttempt.objects.filter(delivery=delivery).exists()
    delivery.refresh_from_db()
    assert delivery.attempt_count == 0 and delivery.claim_token == ""


@pytest.mark.usefixtures("postgres_only")
def test_a_delivery_lease_is_measured_on_the_database_clock(
    ringba, make_delivery, monkeypatch, settings
):
    """A worker whose clock is an hour slow still claims what is due, with a real lease."""
    from integrations.infra.db import database_now

    delivery = make_delivery(f"{ringba.base_url}/hook/TOKEN?call_id=RGB-CLOCK")
    PostbackDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=database_now() - timedelta(seconds=1)
    )
    slow = timezone.now() - timedelta(hours=1)
    monkeypatch.setattr(deliveries.timezone, "now", lambda: slow)
    seen = {}

    def look(method, url, **request):
        seen["lease"] = PostbackDelivery.objects.get(pk=delivery.pk).next_attempt_at
        seen["db_now"] = database_now()
        return postbacks.Outcome(postbacks.Verdict.DELIVERED, 1, 200)

    monkeypatch.setattr(deliveries.postbacks, "send", look)
    assert attempt_delivery(delivery_id=delivery.pk) is not None
    lease = seen["lease"] - seen["db_now"]
    expected = deliveries.lease_seconds()
    assert timedelta(seconds=expected - 5) < lease <= timedelta(seconds=expected)


@pytest.mark.usefixtures("postgres_only")
def test_a_dialer_claim_is_measured_on_the_database_clock(ringba_setup, monkeypatch):
    from integrations.infra.db import database_now
    from integrations.services import schedules
    from tests import factories

    schedule = factories.ScheduleFactory(
        offer=ringba_setup["offer"], traffic_sources=[ringba_setup["source"]]
    )
    factories.ScheduleLeadFactory(
        schedule=schedule,
        traffic_source=ringba_setup["source"],
        next_attempt_at=database_now() - timedelta(seconds=1),
    )
    slow = timezone.now() - timedelta(hours=1)
    monkeypatch.setattr(schedules.timezone, "now", lambda: slow)

    [lead] = schedules.claim_due(schedule=schedule, holder="dialer", limit=5, lease_seconds=300)

    lease = lead.lease_expires_at - database_now()
    assert timedelta(seconds=290) < lease <= timedelta(seconds=300)
