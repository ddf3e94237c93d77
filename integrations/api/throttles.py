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

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


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
        return self._count(f"{key}:{window}", timeout=duration + 1) <= allowed

    def _count(self, key: str, *, timeout: int) -> int:
        """Add one to the window's counter and return it (atomic on Redis)."""
        try:
            return self.cache.incr(key)
        except ValueError:  # the window's first request here (or its entry expired)
            if self.cache.add(key, 1, timeout):
                return 1
            return self.cache.incr(key)  # another request created it just now

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
