"""A real ``run_worker`` asked to stop finishes the postback it is sending, then exits.

A deploy sends SIGTERM; the attempt in flight must be recorded (delivered, once),
not abandoned to be sent again by another worker's sweeper.
"""

import signal
import threading
import time

import pytest
from django_tasks_db.models import DBTaskResult

from integrations.models import DeliveryStatus, PostbackDelivery
from tests.delivery.conftest import due_deliveries
from tests.hostile_server import HostileServer
from tests.processes import current_database_url, process_env, start, stop

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.postgres,
    pytest.mark.usefixtures("postgres_only"),
]

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"


def _wait_for(condition, timeout=30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def _worker(tmp_path):
    env = process_env(current_database_url(), POSTBACK_ATTEMPT_DEADLINE="30")
    log = tmp_path / "worker.log"
    args = ("run_worker", "--interval", "0.05", "--sweep-interval", "0.2")
    return start(*args, env=env, log=log), log


def test_sigterm_lets_the_postback_in_flight_finish_and_record_once(tmp_path):
    answer = threading.Event()
    server = HostileServer([answer, OK])
    trigger = due_deliveries(server.base_url, 1)
    worker, log = _worker(tmp_path)
    try:
        assert _wait_for(lambda: len(server.requests) == 1), log.read_text()
        worker.send_signal(signal.SIGTERM)
        assert _wait_for(lambda: "finishing the tasks in flight" in log.read_text())
        assert worker.poll() is None  # still waiting for the answer
        answer.set()
        assert _wait_for(lambda: worker.poll() is not None), log.read_text()
    finally:
        answer.set()
        stop(worker)
        server.stop()
    assert worker.returncode == 0, log.read_text()
    delivery = PostbackDelivery.objects.get(trigger=trigger)
    assert (delivery.status, delivery.attempt_count) == (DeliveryStatus.DELIVERED, 1)
    assert len(server.requests) == 1
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"SUCCESSFUL"}


def test_an_idle_worker_exits_at_once_on_sigterm(tmp_path):
    worker, log = _worker(tmp_path)
    try:
        assert _wait_for(lambda: "claiming tasks" in log.read_text()), log.read_text()
        worker.send_signal(signal.SIGTERM)
        assert _wait_for(lambda: worker.poll() is not None), log.read_text()
    finally:
        stop(worker)
    assert worker.returncode == 0, log.read_text()
