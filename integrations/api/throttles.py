"""Throttling of the capture API (Django's cache holds the counters).

Ringba fires from a small pool of addresses, so throttling by IP would punish every
partner at once. A pixel with a known lead token counts against (offer, traffic
source): one partner's retry storm cannot throttle the other partners on the offer.
A pixel whose token is missing or unknown counts against the client address at the
stricter CAPTURE_INVALID_TOKEN_RATE, so guessing tokens neither goes unthrottled nor
adds a cache entry per guess. With several web nodes, configure a shared cache
(CACHE_URL=redis://...) or each node counts alone.
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
        self.key = key
        self.num_requests, self.duration = self.parse_rate(rate)
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        if len(self.history) >= self.num_requests:
            return self.throttle_failure()
        return self.throttle_success()

    def _key_and_rate(self, request):
        if not hasattr(request, "capture_params"):
            return None, None  # not a pixel (OPTIONS, or a method answered 405)
        config = request.capture_config  # read once by the view
        if config is None:
            ip = request.capture_raw.source_ip or "unknown"
            return f"throttle:capture:no-token:{ip}", settings.CAPTURE_INVALID_TOKEN_RATE
        source = str(request.capture_params.get("traffic_source_id", "")).strip()
        if not (source.isascii() and source.isdigit() and int(source) in config.sources):
            source = "other"  # unknown ids share one counter: they cannot grow the cache
        return f"throttle:capture:offer{config.offer_id}:{source}", settings.CAPTURE_THROTTLE_RATE
