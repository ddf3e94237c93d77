"""Throttling of the capture API (Django's cache holds the counters).

Ringba fires from a small pool of addresses, so throttling by IP would punish every
partner at once. A pixel with a known lead token counts against (offer, traffic
source): one partner's retry storm cannot throttle the other partners on the offer.
A pixel whose token is missing or unknown counts against the client address at the
stricter CAPTURE_INVALID_TOKEN_RATE, so guessing tokens neither goes unthrottled nor
adds a cache entry per guess. With several web nodes, configure a shared cache
(CACHE_URL=redis://...) or each node counts alone.

DRF's SimpleRateThrottle keeps every request time of the window in one cache entry:
at the default 6,000/min a busy partner's pixel read and wrote a list of up to 6,000
floats (≈50 KB to Redis and back). This throttle counts in fixed windows instead:
one atomic ``incr`` per pixel, whatever the rate. A sender can get up to twice the
rate across a window boundary, which is fine for stopping retry storms.
"""

import time

from django.conf import settings
from django.core.cache import cache as default_cache
from rest_framework.throttling import SimpleRateThrottle

from .client import client_ip


def count_in_window(cache, key: str, *, timeout: int) -> int:
    """Add one to a fixed window's counter and return it (atomic on Redis)."""
    try:
        return cache.incr(key)
    except ValueError:  # the window's first request here (or its entry expired)
        if cache.add(key, 1, timeout):
            return 1
        return cache.incr(key)  # another request created it just now


class FailedLoginGuard:
    """Counts failed API logins per client address; refuses past API_AUTH_FAILURE_RATE.

    Checked before a password is hashed, so guessing costs the attacker a cache
    read, not the server a slow hash, and counted only on failure, so a client
    that logs in correctly is never slowed by it.
    """

    def __init__(self, request):
        self.rate = settings.API_AUTH_FAILURE_RATE
        self.address = client_ip(request) or "unknown"
        if self.rate:
            # DRF's "N/period" syntax, read by DRF's own parser (it uses no state).
            self.allowed, self.duration = SimpleRateThrottle.parse_rate(None, self.rate)

    def _key(self, window: int) -> str:
        return f"throttle:auth-failures:{self.address}:{window}"

    def _window(self) -> int:
        return int(time.time() // self.duration)

    def exhausted(self) -> bool:
        if not self.rate:
            return False
        return (default_cache.get(self._key(self._window())) or 0) >= self.allowed

    def wait(self) -> float:
        return self.duration - time.time() % self.duration

    def failed(self) -> None:
        if self.rate:
            count_in_window(default_cache, self._key(self._window()), timeout=self.duration + 1)


class CaptureThrottle(SimpleRateThrottle):
    scope = "capture"

    def get_rate(self):
        return settings.CAPTURE_THROTTLE_RATE

    def allow_request(self, request, view):
        key, rate = self._key_and_rate(request)
        if key is None or not rate:
            return True
        allowed, duration = self.parse_rate(rate)
        now = self.timer()
        window = int(now // duration)
        self.window_ends_at = (window + 1) * duration
        self.now = now
        return count_in_window(self.cache, f"{key}:{window}", timeout=duration + 1) <= allowed

    def wait(self):
        """Seconds until the window ends (DRF sends them as Retry-After)."""
        return max(0.0, self.window_ends_at - self.now)

    def _key_and_rate(self, request):
        config = request.capture_config  # read once by the view
        if config is None:
            ip = request.capture_raw.source_ip or "unknown"
            return f"throttle:capture:no-token:{ip}", settings.CAPTURE_INVALID_TOKEN_RATE
        source = str(request.capture_params.get("traffic_source_id", "")).strip()
        if not (source.isascii() and source.isdigit() and int(source) in config.sources):
            source = "other"  # unknown ids share one counter: they cannot grow the cache
        owner = f"schedule{config.schedule_id}" if config.schedule_id else f"offer{config.offer_id}"
        return f"throttle:capture:{owner}:{source}", settings.CAPTURE_THROTTLE_RATE
