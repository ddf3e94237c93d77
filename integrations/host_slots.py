"""How many postbacks one worker process may have in flight to one host.

A worker sends many deliveries at once (``run_worker --threads``). Without a bound
per destination, one partner whose endpoint hangs would soon hold every thread,
and everyone else's postbacks would wait. ``HOST_SLOTS`` gives each host at most
POSTBACK_PER_HOST_CONCURRENCY attempts in flight; an attempt that finds its host
full is put back a little later instead of waiting (a waiting thread would be a
thread held by that host). A host whose recent attempts failed is put back for a
whole attempt deadline, so a dead partner's backlog does not spin.
"""

import random
import threading
import time

from django.conf import settings

# How long a host counts as failing after an attempt to it failed.
FAILING_FOR_SECONDS = 60.0


class HostSlots:
    def __init__(self):
        self._lock = threading.Lock()
        self._in_flight: dict[str, int] = {}
        self._failed_at: dict[str, float] = {}

    def try_acquire(self, host: str) -> bool:
        """Take a slot for ``host``; False (and nothing taken) when it is full."""
        with self._lock:
            if self._in_flight.get(host, 0) >= settings.POSTBACK_PER_HOST_CONCURRENCY:
                return False
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

    def busy_delay(self, host: str) -> float:
        """Seconds to put back an attempt whose host is full (jittered)."""
        with self._lock:
            failed_at = self._failed_at.get(host)
        failing = failed_at is not None and time.monotonic() - failed_at < FAILING_FOR_SECONDS
        base = settings.POSTBACK_ATTEMPT_DEADLINE if failing else 1.0
        return base * random.uniform(1.0, 1.5)

    def in_flight(self, host: str) -> int:
        with self._lock:
            return self._in_flight.get(host, 0)


HOST_SLOTS = HostSlots()
