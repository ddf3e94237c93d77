"""A stalled attempt that comes back after its lease never overwrites a later outcome.

Two workers, each a thread with its own database connection, against a real local
receiver. The first worker's request is held by the receiver; its lease expires
(set in the past, as 45 s of stall would); a second worker claims and delivers;
then the first one's answer (a 500) arrives. Before the fence, the late writer
turned the delivered postback back into ``retrying`` and it was sent again.
"""

import threading
import time

import pytest
from django.db import connections

from integrations.models import DeliveryStatus, EventTrigger, PostbackDelivery
from integrations.services.deliveries import attempt_delivery, requeue_due_deliveries
from tests.hostile_server import HostileServer, response

from .conftest import make_due

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_a_late_attempt_is_recorded_as_stray_and_the_delivery_stays_delivered(
    make_delivery, settings
):
    settings.POSTBACK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.POSTBACK_ALLOW_PRIVATE_IPS = True
    settings.POSTBACK_ATTEMPT_DEADLINE = 20
    release = threading.Event()
    server = HostileServer(
        [release, response("500 Internal Server Error")],  # the first worker's request
        [response("200 OK")],  # the second worker's
    )
    delivery = make_delivery(f"{server.base_url}/hook/tok")

    def first_worker():
        try:
            attempt_delivery(delivery_id=delivery.pk)
        finally:
            connections.close_all()

    stalled = threading.Thread(target=first_worker)
    stalled.start()
    try:
        while len(server.requests) < 1:
            time.sleep(0.01)
        make_due(delivery)  # the first worker's lease has run out
        assert attempt_delivery(delivery_id=delivery.pk).status == DeliveryStatus.DELIVERED
    finally:
        release.set()
        stalled.join(timeout=30)
        server.stop()

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.next_attempt_at is None
    attempts = sorted(delivery.attempts.all(), key=lambda attempt: attempt.number)
    assert [(a.number, a.status_code, a.stray) for a in attempts] == [
        (1, 500, True),
        (2, 200, False),
    ]
    assert EventTrigger.objects.get(pk=delivery.trigger_id).consecutive_failures == 0
    assert requeue_due_deliveries() == 0  # delivered: never sent again automatically
    assert len(server.requests) == 2
    assert PostbackDelivery.objects.filter(status=DeliveryStatus.DELIVERED).count() == 1
