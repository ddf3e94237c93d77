"""Work a Lead-to-Call schedule's leads: add, claim, count calls, close (SPEC §12).

Every state change goes through ``_move``: under the lead's row lock, it checks
the state it leaves, writes the new one with a ``ScheduleLeadTransition`` (time
and cause) and sends the event in the same transaction, so each transition and
its triggers happen once, whichever door (pixel, dialer, calls API, worker,
admin) it came through.

    queued ──claim / call──▶ contacting ──▶ converted | expired | exhausted | opted_out
       └──────────────────────────────────▶ expired | opted_out

A conversion is a fact about a call that happened, so it closes a lead from any
state except converted (an exhausted lead whose last call converts late is
converted). The other closed states are final but for the admin's requeue.
"""

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from ..infra import events
from ..infra.db import database_now
from ..models import (
    OPEN_STATES,
    Event,
    Schedule,
    ScheduleLead,
    ScheduleLeadState,
    ScheduleLeadTransition,
)
from ..pixel.clean import CleanPixel
from ..rules.errors import Rejected, RejectionKind
from .offer_cache import active_trigger_events, forget_offer
from .pixel_rows import RawRequest, pixel_row_fields

logger = logging.getLogger(__name__)

State = ScheduleLeadState
PIXEL = "pixel"
WORKER = "worker"
# How many leads one sweep closes or announces per kind (the rest wait 10 s).
SWEEP_BATCH = 500


@dataclass(frozen=True)
class ScheduleCapture:
    lead: ScheduleLead
    created: bool
    traffic_source_id: int  # the partner's public id
    warnings: list[str]


def add_from_pixel(pixel: CleanPixel, raw: RawRequest) -> ScheduleCapture:
    """Store a Finalized pixel as a queued schedule lead; a repeat merges (same call id)."""
    config = pixel.config
    now = timezone.now()
    lead = ScheduleLead(
        schedule_id=config.schedule_id,
        **pixel_row_fields(pixel, raw, now=now),
        expires_at=now + timedelta(hours=config.hours_to_expire),
        next_attempt_at=now,
    )
    try:
        with transaction.atomic():
            lead.save(force_insert=True)
            _record(lead, "", State.QUEUED, cause=PIXEL)
            _announce(lead, Event.SCHEDULE_LEAD_ADDED, PIXEL)
    except IntegrityError:
        if not pixel.ringba_call_uuid:
            forget_offer(pixel.lead_token)  # a source or schedule deleted under us
            raise Rejected(
                RejectionKind.INVALID,
                ["traffic_source_id: is no longer enabled on this schedule; check its id"],
            ) from None
        return _merge(pixel)
    return ScheduleCapture(lead, True, pixel.traffic_source_public_id, pixel.warnings)


def _merge(pixel: CleanPixel) -> ScheduleCapture:
    """Merge a repeat pixel (same ringba_call_uuid on the schedule) into its lead."""
    with transaction.atomic():
        lead = (
            ScheduleLead.objects.select_for_update()
            .select_related("traffic_source")
            .get(schedule_id=pixel.config.schedule_id, ringba_call_uuid=pixel.ringba_call_uuid)
        )
        lead.tokens = {**lead.tokens, **pixel.tokens}
        lead.warnings = pixel.warnings_after(lead.warnings)
        lead.updated_at = timezone.now()
        lead.save(update_fields=["tokens", "warnings", "updated_at"])
    return ScheduleCapture(lead, False, lead.traffic_source.traffic_source_id, pixel.warnings)


# --- The dialer ----------------------------------------------------------------------


def claim_due(
    *, schedule: Schedule, holder: str, limit: int, lease_seconds: int | None = None
) -> list[ScheduleLead]:
    """Lease up to ``limit`` due leads of ``schedule`` to ``holder``; return them.

    Due: open, not expired, attempts left, its retry spacing over, no live lease,
    and the schedule's contact window open now. Rows another dialer is claiming at
    this instant are skipped (``SKIP LOCKED``), so two dialers never get one lead;
    a lease that lapses without a call makes the lead due again. Each lead gets a
    new ``claim_token``, which the dialer sends back with its call report
    (``count_call``). Times are the database's clock, as every lease's are.
    """
    now = database_now()
    if not schedule.active or not schedule.window.is_open(now):
        return []
    lease = timedelta(seconds=lease_seconds or settings.SCHEDULE_LEASE_SECONDS)
    with transaction.atomic():
        leads = list(
            _due(schedule, now)
            .select_for_update(skip_locked=True)
            .order_by("next_attempt_at", "id")[:limit]
        )
        for lead in leads:
            was = lead.state
            lead.state = State.CONTACTING
            lead.lease_expires_at = now + lease
            lead.lease_holder = holder[:100]
            lead.claim_token = uuid.uuid4().hex
            lead.updated_at = now
            lead.save(
                update_fields=[
                    "state",
                    "lease_expires_at",
                    "lease_holder",
                    "claim_token",
                    "updated_at",
                ]
            )
            if was != State.CONTACTING:
                _record(lead, was, State.CONTACTING, cause=f"claimed by {holder}"[:200])
    return leads


def _due(schedule: Schedule, now: datetime):
    return ScheduleLead.objects.filter(
        Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now),
        schedule=schedule,
        state__in=OPEN_STATES,
        is_test=False,  # a sample pixel is never called back
        next_attempt_at__lte=now,
        expires_at__gt=now,
        attempts__lt=schedule.max_contact_attempts,
    )


def count_call(lead_uuid, *, cause: str, claim: str | None = None) -> ScheduleLead:
    """Count a call placed to a schedule lead (inside the call's transaction).

    Ends its lease and spaces the next attempt by the schedule's retry minutes.
    Raises Rejected: not found for an unknown lead; conflict when the lead is
    closed, expired (even before the sweep closes it), out of attempts, or held
    by another dialer's claim (``claim`` is the one ``claim_due`` handed out; a
    dialer that never claims may report while no lease is live).
    """
    lead = _locked(lead_uuid)
    now = database_now()
    _refuse_report(lead, claim=claim, now=now)
    was = lead.state
    lead.attempts = F("attempts") + 1
    lead.state = State.CONTACTING
    lead.lease_expires_at, lead.lease_holder = None, ""
    lead.next_attempt_at = now + timedelta(minutes=lead.schedule.retry_minutes)
    lead.updated_at = now
    lead.save(
        update_fields=[
            "attempts",
            "state",
            "lease_expires_at",
            "lease_holder",
            "next_attempt_at",
            "updated_at",
        ]
    )
    lead.refresh_from_db(fields=["attempts"])
    if was != State.CONTACTING:
        _record(lead, was, State.CONTACTING, cause=cause)
    return lead


def _refuse_report(lead: ScheduleLead, *, claim: str | None, now: datetime) -> None:
    """Raise Rejected (conflict) when this call report must not count for ``lead``."""
    problem = None
    if not lead.is_open:
        problem = f"is {lead.state}; it takes no more calls"
    elif lead.expires_at <= now:
        problem = f"expired at {lead.expires_at.isoformat()}; it takes no more calls"
    elif lead.attempts >= lead.schedule.max_contact_attempts:
        problem = (
            f"has had all {lead.schedule.max_contact_attempts} contact attempts the "
            "schedule allows; it takes no more calls"
        )
    elif claim and claim != lead.claim_token:
        problem = f"is claimed by {_holder(lead, now)}; your claim is no longer current"
    elif not claim and lead.lease_expires_at and lead.lease_expires_at > now:
        problem = f"is claimed by {_holder(lead, now)}; send the claim you were given"
    if problem:
        raise Rejected(RejectionKind.CONFLICT, [f"schedule_lead: {lead.uuid} {problem}"])


def _holder(lead: ScheduleLead, now: datetime) -> str:
    if lead.lease_expires_at and lead.lease_expires_at > now:
        return f"{lead.lease_holder or 'another dialer'} until {lead.lease_expires_at.isoformat()}"
    return "a later claim"


def lock(lead_id: int) -> None:
    """Lock a schedule lead's row until the transaction ends (its calls' conversions)."""
    ScheduleLead.objects.select_for_update().filter(pk=lead_id).values_list("pk").first()


def _locked(lead_uuid) -> ScheduleLead:
    try:
        return (
            ScheduleLead.objects.select_for_update(of=("self",))
            .select_related("schedule", "traffic_source")
            .get(uuid=lead_uuid)
        )
    except (ScheduleLead.DoesNotExist, ValueError):
        raise Rejected(
            RejectionKind.NOT_FOUND, [f"schedule_lead: no schedule lead {lead_uuid}"]
        ) from None


# --- Closing a lead --------------------------------------------------------------------


def opt_out(lead_uuid, *, cause: str) -> ScheduleLead:
    """Stop calling this person (do-not-call). Idempotent; a converted lead stays so."""
    with transaction.atomic():
        lead = _locked(lead_uuid)
        if lead.state in (State.OPTED_OUT, State.CONVERTED):
            return lead
        _move(lead, State.OPTED_OUT, cause=cause)
    return lead


def requeue(lead: ScheduleLead, *, cause: str) -> bool:
    """Give a closed or stuck lead a fresh round (attempts and expiry reset); admin only."""
    with transaction.atomic():
        lead = _locked(lead.uuid)
        if lead.state in (State.CONVERTED, State.OPTED_OUT):
            return False
        now = timezone.now()
        lead.attempts = 0
        lead.next_attempt_at = now
        lead.expires_at = now + timedelta(hours=lead.schedule.hours_to_expire)
        lead.due_announced_for = None
        _move(
            lead,
            State.QUEUED,
            cause=cause,
            also=["attempts", "next_attempt_at", "expires_at", "due_announced_for"],
        )
    return True


def convert_for_call(call, *, cause: str) -> None:
    """A schedule lead's call converted: the lead is converted (inside the call's lock)."""
    lead = _locked(call.schedule_lead.uuid)
    if lead.state == State.CONVERTED:
        return
    _move(lead, State.CONVERTED, cause=cause, event=Event.SCHEDULE_LEAD_CONVERTED)


def _move(lead: ScheduleLead, to: str, *, cause: str, event: str | None = None, also=()) -> None:
    """Write ``lead``'s new state (it is locked by the caller), record it, announce it."""
    was = lead.state
    lead.state = to
    if to not in OPEN_STATES:
        lead.lease_expires_at, lead.lease_holder = None, ""
    lead.updated_at = timezone.now()
    lead.save(update_fields=["state", "lease_expires_at", "lease_holder", "updated_at", *also])
    _record(lead, was, to, cause=cause)
    if event:
        _announce(lead, event, cause)


def _record(lead: ScheduleLead, was: str, to: str, *, cause: str) -> None:
    ScheduleLeadTransition.objects.create(lead=lead, from_state=was, to_state=to, cause=cause)


def _announce(lead: ScheduleLead, event: str, cause: str) -> None:
    events.schedule_lead_event.send(sender=ScheduleLead, lead=lead, event=event, cause=cause)


# --- The worker's sweep ---------------------------------------------------------------


def sweep(now: datetime | None = None) -> dict[str, int]:
    """Expire, exhaust and announce due leads; return how many of each."""
    now = now or database_now()
    return {
        "expired": _close_each(
            ScheduleLead.objects.filter(state__in=OPEN_STATES, expires_at__lte=now),
            State.EXPIRED,
            cause=f"{WORKER}: not converted within the schedule's hours to expire",
            event=Event.SCHEDULE_LEAD_EXPIRED,
        ),
        "exhausted": _close_each(
            ScheduleLead.objects.filter(
                Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now),
                state=State.CONTACTING,
                attempts__gte=F("schedule__max_contact_attempts"),
                next_attempt_at__lte=now,
            ),
            State.EXHAUSTED,
            cause=f"{WORKER}: every contact attempt used without a conversion",
        ),
        "announced_due": _announce_due(now),
    }


def _close_each(candidates, to: str, *, cause: str, event: str | None = None) -> int:
    closed = 0
    for pk in candidates.values_list("pk", flat=True)[:SWEEP_BATCH]:
        with transaction.atomic():
            # Locked and re-checked in one query: the lead may have changed since.
            lead = (
                candidates.select_for_update(skip_locked=True, of=("self",)).filter(pk=pk).first()
            )
            if lead is None:
                continue  # another worker has it, or it no longer qualifies
            _move(lead, to, cause=cause, event=event)
            closed += 1
    return closed


def _announce_due(now: datetime) -> int:
    """Send ``schedule_lead_due`` once per due period, for push-style dialers.

    A period is identified by the lead's next_attempt_at: a call moves it on, so
    the lead is announced again when its retry spacing is over. Only when a
    trigger listens, and only while the schedule's contact window is open.
    """
    if Event.SCHEDULE_LEAD_DUE not in active_trigger_events():
        return 0
    announced = 0
    for schedule in Schedule.objects.filter(active=True):
        if not schedule.window.is_open(now):
            continue
        fresh = _due(schedule, now).exclude(due_announced_for=F("next_attempt_at"))
        for pk in fresh.values_list("pk", flat=True)[:SWEEP_BATCH]:
            with transaction.atomic():
                lead = fresh.select_for_update(skip_locked=True).filter(pk=pk).first()
                if lead is None:
                    continue
                lead.due_announced_for = lead.next_attempt_at
                lead.save(update_fields=["due_announced_for"])
                _announce(lead, Event.SCHEDULE_LEAD_DUE, WORKER)
                announced += 1
    return announced
