"""Two real worker processes on PostgreSQL deliver each due attempt exactly once."""

import time
from collections import Counter

import pytest

from integrations.models import DeliveryStatus, PostbackDelivery
from tests.delivery.conftest import due_deliveries
from tests.processes import current_database_url, process_env, start, stop

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.postgres,
    pytest.mark.usefixtures("postgres_only"),
]

DELIVERIES = 40


def test_two_workers_deliver_each_due_attempt_exactly_once(receiver, tmp_path):
    due_deliveries(receiver.base_url, DELIVERIES)

    env = process_env(current_database_url())
    workers = [
        start(
            "run_worker",
            "--interval",
            "0.05",
            "--sweep-interval",
            "0.2",
            env=env,
            log=tmp_path / f"worker{n}.log",
        )
        for n in range(2)
    ]
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if not PostbackDelivery.objects.exclude(status=DeliveryStatus.DELIVERED).exists():
                break
            time.sleep(0.2)
        time.sleep(1)  # let any duplicate sends surface
    finally:
        stop(*workers)

    logs = "\n".join((tmp_path / f"worker{n}.log").read_text() for n in range(2))
    assert not PostbackDelivery.objects.exclude(status=DeliveryStatus.DELIVERED).exists(), logs
    hits = Counter(hit.path for hit in receiver.hits)
    assert len(hits) == DELIVERIES and set(hits.values()) == {1}, hits
    assert set(PostbackDelivery.objects.values_list("attempt_count", flat=True)) == {1}
