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
    """The capture API's three counters, each in fixed windows.

    - Accepted pixels, per (offer or schedule, traffic source), at
      CAPTURE_THROTTLE_RATE. Checked before the pixel is read further, counted
      only once it is accepted: junk that claims another partner's source id
      never uses up that partner's budget.
    - Refused pixels with a known token, per client address, at
      CAPTURE_REFUSED_RATE: past it, a refused pixel is answered 429 instead of
      its error (a valid pixel from the same address still goes through, since
      Ringba's few addresses carry every partner's pixels).
    - Pixels with a missing or unknown token, per client address, at
      CAPTURE_INVALID_TOKEN_RATE, counted before anything else is read.
    """

    scope = "capture"

    def get_rate(self):
        return settings.CAPTURE_THROTTLE_RATE

    def allow_request(self, request, view):
        config = request.capture_config  # read once by the view
        if config is None:
            return self._take(
                self._address_key(request, "no-token"), settings.CAPTURE_INVALID_TOKEN_RATE
            )
        return not self._used_up(self._accepted_key(request), settings.CAPTURE_THROTTLE_RATE)

    def count_accepted(self, request) -> None:
        """Count a stored pixel against its partner's budget."""
        if settings.CAPTURE_THROTTLE_RATE and request.capture_config is not None:
            self._take(self._accepted_key(request), settings.CAPTURE_THROTTLE_RATE)

    def allow_refusal(self, request) -> bool:
        """Count a refused pixel against its address; False once past CAPTURE_REFUSED_RATE."""
        return self._take(self._address_key(request, "refused"), settings.CAPTURE_REFUSED_RATE)

    def _take(self, key: str, rate: str | None) -> bool:
        """Count one against ``key``; False when that goes past ``rate``."""
        if not rate:
            return True
        allowed, duration = self._window(rate)
        return (
            count_in_window(self.cache, f"{key}:{self._current}", timeout=duration + 1) <= allowed
        )

    def _used_up(self, key: str, rate: str | None) -> bool:
        if not rate:
            return False
        allowed, _ = self._window(rate)
        return (self.cache.get(f"{key}:{self._current}") or 0) >= allowed

    def _window(self, rate: str) -> tuple[int, int]:
        allowed, duration = self.parse_rate(rate)
        now = self.timer()
        self._current = int(now // duration)
        self.window_ends_at = (self._current + 1) * duration
        self.now = now
        return allowed, duration

    def wait(self):
        """Seconds until the window ends (DRF sends them as Retry-After)."""
        return max(0.0, self.window_ends_at - self.now)

    @staticmethod
    def _address_key(request, kind: str) -> str:
        ip = request.capture_raw.source_ip or "unknown"
        return f"throttle:capture:{kind}:{ip}"

    @staticmethod
    def _accepted_key(request) -> str:
        config = request.capture_config
        source = str(request.capture_params.get("traffic_source_id", "")).strip()
        if not (source.isascii() and source.isdigit() and int(source) in config.sources):
            source = "other"  # unknown ids share one counter: they cannot grow the cache
        owner = f"schedule{config.schedule_id}" if config.schedule_id else f"offer{config.offer_id}"
        return f"throttle:capture:{owner}:{source}"
