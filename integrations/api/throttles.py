"""Per-lead-token throttling of the capture API (Django's cache holds the counters).

Ringba fires from a small pool of addresses, so throttling by IP would punish every
partner at once; the offer's lead token is the fair key. With several web nodes,
configure a shared cache (CACHE_URL=redis://...) or each node counts alone.
"""

import hashlib

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class LeadTokenThrottle(SimpleRateThrottle):
    scope = "capture"

    def get_rate(self):
        return settings.CAPTURE_THROTTLE_RATE

    def get_cache_key(self, request, view):
        token = getattr(request, "capture_lead_token", None)
        if not token:
            return None  # refused later as 401; nothing to count against
        return "throttle:capture:" + hashlib.sha256(token.encode()).hexdigest()[:32]
