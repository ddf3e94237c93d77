"""Capture a Ringba pixel as a lead (SPEC §4): validate, dedupe, store, match, fire.

The hot path of the product. With the offer configuration cached, an accepted
new pixel on PostgreSQL costs one statement that inserts the lead and matches it
under the (offer, caller) lock (``lead_store``); when it attaches, one more SELECT
loads the call for the answer. Repeats, duplicate policies, lead triggers and
SQLite take slower paths inside one transaction.
"""

import logging
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from ..infra import events
from ..models import Call, DuplicatePolicy, Event, Lead
from ..pixel.clean import CleanPixel
from ..rules.errors import Rejected, RejectionKind
from .lead_store import insert_lead
from .matching import announce_attached, lock_caller, match_lead
from .offer_cache import active_trigger_events, forget_offer
from .pixel_rows import RawRequest, pixel_row_fields
from .schedules import ScheduleCapture, add_from_pixel

__all__ = ["CaptureResult", "RawRequest", "capture_lead"]

logger = logging.getLogger(__name__)


@dataclass
class CaptureResult:
    lead: Lead
    created: bool
    call: Call | None
    traffic_source_id: int | None  # the partner's public id (None: from the call, later)
    warnings: list[str] = field(default_factory=list)


def capture_lead(*, pixel: CleanPixel, raw: RawRequest) -> CaptureResult | ScheduleCapture:
    """Store one clean pixel; return the lead and whether it is new.

    The pixel was parsed and checked at the API boundary (``api.pixel_intake``).
    Raises Rejected (conflict or invalid) with messages naming the field.
    A repeat with the same ``ringba_call_uuid`` on the same offer merges into the
    existing lead — decided by a unique constraint, so concurrent repeats are safe.
    A Lead-to-Call schedule's token stores a schedule lead instead (SPEC §12),
    which never attaches to a direct call.
    """
    config = pixel.config
    if config.schedule_id is not None:
        return add_from_pixel(pixel, raw)
    if pixel.ringba_call_uuid is None and config.duplicate_policy != DuplicatePolicy.ALLOW:
        return _capture_with_policy(pixel, raw)
    try:
        return _store_new(pixel, raw)
    except IntegrityError:
        existing, owner = (
            Lead.objects.filter(offer_id=config.offer_id, ringba_call_uuid=pixel.ringba_call_uuid)
            .values_list("pk", "traffic_source_id")
            .first()
            if pixel.ringba_call_uuid
            else None
        ) or (None, None)
        if existing is not None and owner != pixel.traffic_source_pk:
            # Another partner's call id: refused, and nothing of that lead is told.
            raise Rejected(
                RejectionKind.CONFLICT,
                [
                    "ringba_call_uuid: this offer already has a lead with this Ringba call id "
                    "from another traffic source; check traffic_source_id and ringba_call_uuid"
                ],
            ) from None
        if existing is None:
            # Not a repeat: the cached configuration named a source or offer that has
            # just been deleted. Forget it; the sender is told what the database says.
            forget_offer(pixel.lead_token)
            raise Rejected(
                RejectionKind.INVALID,
                ["traffic_source_id: is no longer enabled on this offer; check its id"],
            ) from None
        return _merge(existing, pixel)


def _store_new(pixel: CleanPixel, raw: RawRequest) -> CaptureResult:
    """Insert the lead, match it to its call and fire ``lead_captured``.

    The common case on PostgreSQL is one autocommitted statement (``lead_store``).
    Anything more — firing lead triggers, matching on SQLite — happens in the
    lead's own transaction, so it commits with the lead or not at all.
    """
    lead = _new_lead(pixel, raw)
    if pixel.is_test:  # stored and answered; never matched, fires nothing
        lead.save(force_insert=True)
        return CaptureResult(lead, True, None, pixel.traffic_source_public_id, pixel.warnings)
    window = pixel.config.match_window_seconds
    fires = Event.LEAD_CAPTURED in active_trigger_events()
    # Inside a caller's transaction (the duplicate policy's) everything joins it.
    one_statement = (
        connection.vendor == "postgresql" and not fires and not connection.in_atomic_block
    )
    with nullcontext() if one_statement else transaction.atomic():
        stored = insert_lead(lead, window_seconds=window)
        call = _attached_call(stored.call_id) if stored.call_id else None
        if not stored.matched and not one_statement:
            call = match_lead(lead, window_seconds=window)
        if fires:
            events.lead_captured.send(sender=Lead, lead=_reload(lead.pk), cause="pixel")
    if not stored.matched and one_statement:
        call = _match_after_commit(lead, window_seconds=window)
    if stored.converted_meanwhile:
        call = announce_attached(stored.call_id)
    return CaptureResult(
        lead=lead,
        created=True,
        call=call,
        warnings=pixel.warnings,
        traffic_source_id=pixel.traffic_source_public_id,
    )


def _match_after_commit(lead: Lead, *, window_seconds: int) -> Call | None:
    """Attach a stored lead to an already-converted call; never undo the stored lead.

    The lead is committed, so a failure here must not answer "nothing was stored":
    it is logged, and the worker's reconciler attaches the pair within seconds.
    """
    try:
        return match_lead(lead, window_seconds=window_seconds)
    except DatabaseError:
        logger.exception("lead %s stored; matching deferred to the reconciler", lead.pk)
        return None


def _new_lead(pixel: CleanPixel, raw: RawRequest) -> Lead:
    return Lead(offer_id=pixel.config.offer_id, **pixel_row_fields(pixel, raw, now=timezone.now()))


def _attached_call(call_id: int) -> Call:
    return Call.objects.select_related("number", "offer", "traffic_source", "lead").get(pk=call_id)


def _merge(lead_pk: int, pixel: CleanPixel) -> CaptureResult:
    """Merge a repeat pixel's fields into an existing lead, under a row lock."""
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead_pk)
        lead.tokens = {**lead.tokens, **pixel.tokens}
        lead.warnings = pixel.warnings_after(lead.warnings)
        lead.updated_at = timezone.now()
        lead.save(update_fields=["tokens", "warnings", "updated_at"])
    call = Call.objects.filter(lead_id=lead.pk).first()
    if call is None:
        call = match_lead(lead, window_seconds=pixel.config.match_window_seconds)
    source_id = (
        lead.traffic_source.traffic_source_id
        if lead.traffic_source_id != pixel.traffic_source_pk
        else pixel.traffic_source_public_id
    )
    return CaptureResult(
        lead=lead, created=False, call=call, warnings=pixel.warnings, traffic_source_id=source_id
    )


def _capture_with_policy(pixel: CleanPixel, raw: RawRequest) -> CaptureResult:
    """Apply the offer's update/reject policy to a pixel without ringba_call_uuid.

    A duplicate is the same caller from the same partner (offer, traffic source,
    caller): another partner's lead for that caller is never merged into or
    refused on. The (offer, caller) lock that matching takes serialises two
    pixels from one caller, so both cannot decide "no previous lead" at once;
    it is the lock ``record_call`` takes first too, so the two never deadlock
    (locking the offer row did: a call's insert needs a key-share lock on it).
    """
    config = pixel.config
    with transaction.atomic():
        lock_caller(offer_id=config.offer_id, caller_id=pixel.caller_id)
        since = timezone.now() - timedelta(seconds=config.match_window_seconds)
        previous = (
            Lead.objects.filter(
                offer_id=config.offer_id,
                traffic_source_id=pixel.traffic_source_pk,
                caller_id=pixel.caller_id,
                received_at__gte=since,
            )
            .order_by("-received_at", "-pk")
            .values_list("pk", flat=True)
            .first()
        )
        if previous is not None and config.duplicate_policy == DuplicatePolicy.REJECT:
            raise Rejected(
                RejectionKind.CONFLICT,
                [
                    f"caller_id: {pixel.caller_id} already sent a lead to this offer within the "
                    f"last {config.match_window_seconds // 3600 or 1} h; this offer rejects "
                    "duplicates (send ringba_call_uuid to update the same call instead)"
                ],
            )
        if previous is None:
            return _store_new(pixel, raw)
    return _merge(previous, pixel)


def _reload(lead_pk: int) -> Lead:
    return Lead.objects.select_related("offer", "traffic_source").get(pk=lead_pk)
