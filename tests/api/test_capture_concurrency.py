"""Concurrent identical pixels make one lead (a unique constraint decides, SPEC §4.5)."""

import threading

import pytest
from django.test import Client

from integrations.models import Lead

from .pixels import post_json

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.postgres,
    pytest.mark.usefixtures("postgres_only"),
]

CONCURRENT = 24


def _fire_together(body: dict, count: int) -> list[int]:
    barrier = threading.Barrier(count)
    statuses: list[int] = []
    lock = threading.Lock()

    def fire():
        from django.db import connections

        try:
            barrier.wait(timeout=10)
            status = post_json(Client(), body).status_code
            with lock:
                statuses.append(status)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=fire) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return statuses


def test_simultaneous_identical_pixels_make_one_lead(base_pixel, ringba_setup):
    body = {
        **base_pixel,
        "caller_id": "+13125550101",
        "ringba_call_uuid": "RGB-RACE",
        "first_name": "Ann",
    }

    statuses = _fire_together(body, CONCURRENT)

    assert len(statuses) == CONCURRENT
    assert all(200 <= status < 300 for status in statuses), statuses
    assert statuses.count(201) == 1 and statuses.count(200) == CONCURRENT - 1
    assert Lead.objects.filter(ringba_call_uuid="RGB-RACE").count() == 1


def test_reject_policy_holds_under_concurrency(ringba_setup):
    offer = ringba_setup["offer"]
    offer.duplicate_policy = "reject"
    offer.save()
    body = {
        "lead_token": offer.lead_token,
        "traffic_source_id": ringba_setup["source"].traffic_source_id,
        "caller_id": "+13125550177",
    }

    statuses = _fire_together(body, 12)

    assert sorted(set(statuses)) == [201, 409], statuses
    assert statuses.count(201) == 1
    assert Lead.objects.filter(caller_id="+13125550177").count() == 1
