"""How many postbacks one worker process may have in flight to one host.

A worker sends many deliveries at once (``run_worker --threads``). Without a bound
per destination, one partner whose endpoint hangs would soon hold every thread,
and everyone else's postbacks would wait. ``HOST_SLOTS`` gives each host at most
POSTBACK_PER_HOST_CONCURRENCY attempts in flight. An attempt that finds a healthy
host full waits a moment for a slot (a busy host answering in 250 ms frees one
every few milliseconds, and putting work back costs more than the wait); if none
frees up, or the host's recent attempts failed, the attempt is put back instead of
waiting longer (a waiting thread is a thread held by that host). A failing host's
attempts are put back for a whole attempt deadline, so a dead partner's backlog
does not spin.
"""

import random
import threading
import time

from django.conf import settings

# How long a host counts as failing after an attempt to it failed.
FAILING_FOR_SECONDS = 60.0
# How long an attempt waits for a slot at a full, healthy host before it is put back.
WAIT_FOR_SLOT_SECONDS = 0.5


class HostSlots:
    def __init__(self):
        self._lock = threading.Lock()
        self._slot_freed = threading.Condition(self._lock)
        self._in_flight: dict[str, int] = {}
        self._failed_at: dict[str, float] = {}

    def try_acquire(self, host: str, *, wait: float = 0.0) -> bool:
        """Take a slot for ``host``; False (and nothing taken) when it stays full.

        Waits up to ``wait`` seconds for a slot, unless the host is failing.
        """
        deadline = time.monotonic() + wait
        with self._lock:
            while self._in_flight.get(host, 0) >= settings.POSTBACK_PER_HOST_CONCURRENCY:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._failing(host):
                    return False
                self._slot_freed.wait(remaining)
            self._in_flight[host] = self._in_flight.get(host, 0) + 1
            return True

    def release(self, host: str, *, failed: bool) -> None:
        with self._lock:
            self._in_flight[host] -= 1
            if not self._in_flight[host]:
                del self._in_flight[host]
            if failed:
                self._failed_at[host] = time.monotonic()
            else:
                self._failed_at.pop(host, None)
            self._slot_freed.notify_all()

    def _failing(self, host: str) -> bool:
        failed_at = self._failed_at.get(host)
        return failed_at is not None and time.monotonic() - failed_at < FAILING_FOR_SECONDS

    def busy_delay(self, host: str) -> float:
        """Seconds to put back an attempt whose host is full (jittered)."""
        with self._lock:
            failing = self._failing(host)
        base = settings.POSTBACK_ATTEMPT_DEADLINE if failing else 1.0
        return base * random.uniform(1.0, 1.5)

    def in_flight(self, host: str) -> int:
        with self._lock:
            return self._in_flight.get(host, 0)


HOST_SLOTS = HostSlots()
