"""Keep what the capture API refused, so an account manager can fix a partner's pixel.

A refused pixel (malformed, unknown token, invalid field, duplicate) used to leave
no trace but the partner's own logs. ``record_rejection`` keeps the request and the
errors for ``REJECTED_PIXEL_DAYS`` (pruned daily) with every credential (lead token,
API key) cut to its first four characters, read from the text itself: a refused body
may be one no parser accepts. Writing is budgeted: at most ``REJECTED_PIXELS_PER_MINUTE``
rows per offer and client address a minute (a cache counter), so a flood of bad
requests, which is refused before any throttle, costs at most that many inserts.
"""

import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, transaction

from ..models import RejectedPixel
from ..rules.credentials import redact_text
from ..rules.phones import InvalidPhoneNumber, normalize_phone
from .offer_cache import OfferConfig

logger = logging.getLogger(__name__)

# 429 (throttled) and 5xx are not the partner's pixel's fault, or are counted elsewhere.
LOGGED_STATUSES = frozenset({400, 401, 409, 413, 415, 422})
STORED_TEXT_LIMIT = 16 * 1024


@dataclass(frozen=True)
class Refusal:
    """A refused capture request, as much of it as was read before it was refused."""

    status_code: int
    errors: list[str]
    config: OfferConfig | None = None
    params: dict = field(default_factory=dict)
    body: str = ""
    query: str = ""
    content_type: str = ""
    source_ip: str | None = None
    user_agent: str = ""


def record_rejection(refusal: Refusal) -> RejectedPixel | None:
    """Store ``refusal`` if it is worth keeping and within budget; never raise."""
    if settings.REJECTED_PIXEL_DAYS <= 0 or refusal.status_code not in LOGGED_STATUSES:
        return None
    config = refusal.config
    if not _within_budget(config.offer_id if config else None, refusal.source_ip):
        return None
    sent_source = str(refusal.params.get("traffic_source_id") or "")[:64]
    source_pk = None
    if config is not None and sent_source.isascii() and sent_source.isdigit():
        source_pk = config.sources.get(int(sent_source), (None, False))[0]
    try:
        with transaction.atomic():  # a failure here must not spoil a caller's transaction
            return RejectedPixel.objects.create(
                offer_id=config.offer_id if config else None,
                traffic_source_id=source_pk,
                traffic_source_id_sent=storable(sent_source),
                caller_id=storable(_caller(refusal.params.get("caller_id"))),
                status_code=refusal.status_code,
                errors=[storable(str(error)[:500]) for error in refusal.errors[:50]],
                raw_body=storable(redact_text(refusal.body)[:STORED_TEXT_LIMIT]),
                raw_query=storable(redact_text(refusal.query)[:STORED_TEXT_LIMIT]),
                content_type=storable(refusal.content_type[:200]),
                source_ip=refusal.source_ip,
                user_agent=storable(refusal.user_agent[:500]),
            )
    except (DatabaseError, ValueError) as exc:  # the partner still gets its answer
        logger.warning("could not keep a rejected pixel: %s", exc)
        return None


def storable(text: str) -> str:
    """``text`` as a database can store it: NUL written out, lone surrogates as U+FFFD.

    Refused requests are exactly the ones that carry such characters.
    """
    text = text.replace("\x00", "\\u0000")
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def _within_budget(offer_id: int | None, source_ip: str | None) -> bool:
    limit = settings.REJECTED_PIXELS_PER_MINUTE
    key = f"rejected-pixels:{offer_id}:{source_ip}"
    cache.add(key, 0, timeout=60)
    try:
        return cache.incr(key) <= limit
    except ValueError:  # expired between add and incr: a new minute
        cache.add(key, 1, timeout=60)
        return True


def _caller(value) -> str:
    text = str(value or "").strip()
    try:
        return normalize_phone(text)
    except InvalidPhoneNumber:
        return text[:32]
