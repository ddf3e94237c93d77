"""Signed share links for one (offer or schedule, traffic source) posting-instructions page.

The signature covers the offer, the source and a fingerprint of the offer's
current lead token, so a link cannot be forged or widened to another source,
and it stops verifying the moment the token is rotated. It also stops working
when the source is disabled on the offer or either is deactivated.
"""

import hashlib

from django.conf import settings
from django.core import signing
from django.urls import reverse

from ..models import Offer, Schedule, TrafficSource

SALT = "integrations.partner-instructions"


def _fingerprint(lead_token: str) -> str:
    return hashlib.sha256(f"{SALT}:{lead_token}".encode()).hexdigest()[:16]


# "k" names what the link is for; links made before schedules existed have none.
_SCHEDULE = "schedule"


def make_link_token(owner: Offer | Schedule, source: TrafficSource) -> str:
    data = {"o": owner.pk, "s": source.pk, "t": _fingerprint(owner.lead_token)}
    if isinstance(owner, Schedule):
        data["k"] = _SCHEDULE
    return signing.dumps(data, salt=SALT, compress=True)


def partner_url(owner: Offer | Schedule, source: TrafficSource) -> str:
    """Return the absolute share link (from PUBLIC_BASE_URL)."""
    path = reverse("partner-instructions", args=[make_link_token(owner, source)])
    return f"{settings.PUBLIC_BASE_URL}{path}"


def resolve_link_token(token: str) -> tuple[Offer | Schedule, TrafficSource] | None:
    """Return (offer or schedule, source) for a valid, current link; None for anything else."""
    try:
        data = signing.loads(
            token, salt=SALT, max_age=settings.PARTNER_LINK_MAX_AGE_DAYS * 24 * 3600
        )
    except signing.BadSignature:  # also covers expired links
        return None
    if not isinstance(data, dict):
        return None
    model = Schedule if data.get("k") == _SCHEDULE else Offer
    owner = model.objects.filter(pk=data.get("o"), active=True).first()
    if owner is None or data.get("t") != _fingerprint(owner.lead_token):
        return None
    source = owner.traffic_sources.filter(pk=data.get("s"), active=True).first()
    if source is None:
        return None
    return owner, source
