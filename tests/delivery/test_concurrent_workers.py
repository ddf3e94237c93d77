"""Worker processes send many postbacks at once, exactly once, bounded per destination.

Real processes on PostgreSQL (two ``run_worker`` with several threads each) against
real local receivers. Not timed: the assertions are about counts and order.
"""

import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from integrations.models import DeliveryStatus, PostbackDelivery
from tests.delivery.conftest import due_deliveries
from tests.hostile_server import HANG, HostileServer
from tests.processes import current_database_url, process_env, start, stop

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.postgres,
    pytest.mark.usefixtures("postgres_only"),
]

PER_HOST = 2


class CountingReceiver:
    """Answers 200 after ``delay`` seconds; records every path and the peak in flight."""

    def __init__(self, delay: float):
        self.paths: list[str] = []
        self.in_flight = 0
        self.peak = 0
        lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                with lock:
                    receiver.in_flight += 1
                    receiver.peak = max(receiver.peak, receiver.in_flight)
                    receiver.paths.append(self.path)
                time.sleep(delay)
                with lock:
                    receiver.in_flight -= 1
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def _workers(tmp_path, count: int, threads: int, **env):
    environment = process_env(
        current_database_url(),
        POSTBACK_PER_HOST_CONCURRENCY=str(PER_HOST),
        POSTBACK_ATTEMPT_DEADLINE="20",
        **env,
    )
    return [
        start(
            "run_worker",
            "--threads",
            str(threads),
            "--interval",
            "0.05",
            "--sweep-interval",
            "0.3",
            env=environment,
            log=tmp_path / f"worker{n}.log",
        )
        for n in range(count)
    ]


def _wait_until(condition, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_threads_in_two_workers_send_each_postback_once_within_the_per_host_bound(tmp_path):
    receiver = CountingReceiver(delay=0.3)
    trigger = due_deliveries(receiver.base_url, 24, "d")
    workers = _workers(tmp_path, count=2, threads=6)
    try:
        done = _wait_until(
            lambda: (
                not PostbackDelivery.objects.filter(trigger=trigger)
                .exclude(status=DeliveryStatus.DELIVERED)
                .exists()
            )
        )
        time.sleep(0.5)  # let any duplicate send surface
    finally:
        stop(*workers)
        receiver.stop()
    logs = "\n".join(path.read_text() for path in tmp_path.glob("worker*.log"))
    assert done, logs
    assert set(Counter(receiver.paths).values()) == {1} and len(receiver.paths) == 24
    # Concurrent, and never more than the bound per destination in each process.
    assert 2 <= receiver.peak <= PER_HOST * 2, receiver.peak
    assert set(
        PostbackDelivery.objects.filter(trigger=trigger).values_list("attempt_count", flat=True)
    ) == {1}


def test_a_destination_that_never_answers_holds_only_its_own_share(tmp_path):
    dead = HostileServer([HANG])
    healthy = CountingReceiver(delay=0.05)
    dead_trigger = due_deliveries(dead.base_url, 8, "dead")
    healthy_trigger = due_deliveries(healthy.base_url, 12, "ok")
    workers = _workers(tmp_path, count=1, threads=4)
    try:
        done = _wait_until(
            lambda: (
                PostbackDelivery.objects.filter(
                    trigger=healthy_trigger, status=DeliveryStatus.DELIVERED
                ).count()
                == 12
            )
        )
        dead_attempts_so_far = len(dead.requests)
        dead_still_waiting = PostbackDelivery.objects.filter(
            trigger=dead_trigger, status=DeliveryStatus.PENDING
        ).count()
    finally:
        stop(*workers)
        dead.stop()
        healthy.stop()
    logs = "\n".join(path.read_text() for path in tmp_path.glob("worker*.log"))
    assert done, logs
    # Every healthy postback went out while the dead destination still held its
    # attempts (20 s deadline), and it never held more than its share of threads.
    assert dead_attempts_so_far <= PER_HOST
    assert dead_still_waiting >= 8 - PER_HOST
