"""Lead ↔ call matching, in both directions (SPEC §4.4).

The pixel fires at connect time, so it may arrive just before, just after or at
the same instant as the call is recorded. Two transactions that each insert one
side and look for the other cannot see each other's uncommitted rows, so both
paths first take a lock on (offer, caller): ``pg_advisory_xact_lock`` on
PostgreSQL; on SQLite every transaction begins IMMEDIATE (settings), which
serialises writers. Whichever side takes the lock second sees the first side's
committed row. The capture hot path does the same inside one database function
(``lead_store``); the reconciler (``reconcile_unmatched``) repairs anything that
still slipped through, e.g. a process killed between two statements.

Candidate rules, whatever the timing:
- same offer, same caller, same traffic source (a call on a number assigned to
  another partner is never a candidate), neither side attached yet; a lead sent
  without a traffic source (TrackDrive's ``POST /api/v1/leads``) belongs to the
  offer, takes any of its partners' calls, and then that call's partner;
- within the offer's match window, nearest in time wins;
- for a new pixel, a call that ended, or converted, more than
  MATCH_ENDED_TOLERANCE_SECONDS before the pixel arrived is a repeat caller's
  old call, not this pixel's: it is not a candidate.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone

from ..infra import events
from ..infra.db import savepoint_if_nested
from ..models import Call, Event, Lead

logger = logging.getLogger(__name__)

# Advisory-lock namespace (the first key) for lead matching; the second key is
# hashtext('<offer_id>:<caller_id>'). The database function in migration 0005
# builds the same key, so both paths queue on the same lock.
MATCH_LOCK_NAMESPACE = 4401
LOCK_SQL = "SELECT pg_advisory_xact_lock(%s, hashtext(%s))"
# How many nearest-first candidates to consider; one caller has few calls in a window.
_CANDIDATES = 20


def tolerance() -> timedelta:
    return timedelta(seconds=settings.MATCH_ENDED_TOLERANCE_SECONDS)


def lock_caller(*, offer_id: int, caller_id: str) -> None:
    """Serialise matching for one (offer, caller) until the transaction ends.

    Must run inside a transaction. On SQLite the IMMEDIATE transaction already
    holds the database's write lock, so there is nothing more to take.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(LOCK_SQL, [MATCH_LOCK_NAMESPACE, f"{offer_id}:{caller_id}"])


def _nearest(rows, moment, attribute: str):
    return min(rows, key=lambda row: (abs(getattr(row, attribute) - moment), -row.pk), default=None)


def candidate_call_for_lead(lead: Lead, *, window_seconds: int) -> Call | None:
    """Return the call ``lead`` should attach to under the rules above, or None."""
    window = timedelta(seconds=window_seconds)
    too_old = lead.received_at - tolerance()
    # A lead sent without a partner (TrackDrive's POST /api/v1/leads) takes the call's.
    same_partner = {"traffic_source_id": lead.traffic_source_id} if lead.traffic_source_id else {}
    calls = (
        Call.objects.filter(
            offer_id=lead.offer_id,
            caller_id=lead.caller_id,
            **same_partner,
            lead__isnull=True,
            schedule_lead__isnull=True,  # a schedule's callback belongs to its schedule lead
            started_at__gte=lead.received_at - window,
            started_at__lte=lead.received_at + window,
        )
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gte=too_old))
        .filter(Q(offer_converted=False) | Q(offer_converted_at__gte=too_old))
        .filter(Q(buyer_converted=False) | Q(buyer_converted_at__gte=too_old))
        .order_by("-started_at", "-pk")[:_CANDIDATES]
    )
    return _nearest(list(calls), lead.received_at, "started_at")


def candidate_lead_for_call(call: Call, *, window_seconds: int) -> Lead | None:
    """Return the unattached lead ``call`` should take, nearest in time, or None."""
    window = timedelta(seconds=window_seconds)
    leads = Lead.objects.filter(
        Q(traffic_source_id=call.traffic_source_id) | Q(traffic_source__isnull=True),
        offer_id=call.offer_id,
        caller_id=call.caller_id,
        call__isnull=True,
        is_test=False,
        received_at__gte=call.started_at - window,
        received_at__lte=call.started_at + window,
    ).order_by("-received_at", "-pk")[:_CANDIDATES]
    return _nearest(list(leads), call.started_at, "received_at")


def _attach(*, call_id: int, lead_id: int, sourceless: bool = False) -> bool:
    """Set the call's lead if both are still free; False if either was taken meanwhile."""
    try:
        with savepoint_if_nested():
            attached = bool(
                Call.objects.filter(pk=call_id, lead__isnull=True).update(
                    lead_id=lead_id, updated_at=timezone.now()
                )
            )
            if attached and sourceless:
                take_partner_of_call(lead_id=lead_id, call_id=call_id)
            return attached
    except IntegrityError:  # the lead was attached to another call meanwhile
        return False


def take_partner_of_call(*, lead_id: int, call_id: int) -> None:
    """Give a lead sent without a partner the partner of the call it attached to."""
    Lead.objects.filter(pk=lead_id, traffic_source__isnull=True).update(
        traffic_source_id=Subquery(Call.objects.filter(pk=call_id).values("traffic_source_id")[:1])
    )


def match_lead(lead: Lead, *, window_seconds: int) -> Call | None:
    """Attach ``lead`` to its call and announce the call's past conversions again.

    Runs in one transaction under the (offer, caller) lock, so the attachment and
    the re-evaluation of a conversion that was skipped for want of the lead's
    tokens (``ringba_call_uuid``) commit together or not at all. Returns the call,
    or None when there is no candidate.
    """
    if lead.is_test:
        return None  # a sample or test pixel never takes a real call
    # No savepoint when nested: every caller lets an error end its whole transaction.
    with transaction.atomic(savepoint=False):
        lock_caller(offer_id=lead.offer_id, caller_id=lead.caller_id)
        call = candidate_call_for_lead(lead, window_seconds=window_seconds)
        sourceless = lead.traffic_source_id is None
        if call is None or not _attach(call_id=call.pk, lead_id=lead.pk, sourceless=sourceless):
            return None
        if sourceless:
            lead.traffic_source_id = call.traffic_source_id
        if call.offer_converted or call.buyer_converted or connection.vendor == "postgresql":
            # On PostgreSQL the attach may have waited on the call's row lock while a
            # conversion committed: what was read above is stale, so read it again
            # (the row is ours now). SQLite's IMMEDIATE transaction has held the
            # write lock since BEGIN: nothing can have committed in between.
            return announce_attached(call.pk)
        call.lead = lead
    return call


def announce_attached(call_id: int) -> Call:
    """Announce the conversions of a call whose lead was just attached; return the call.

    Locks the call (the attaching transaction may hold it already), so a
    conversion cannot slip between this read and the announcement: either it
    committed before (announced here) or it runs after and sees the lead.
    """
    with transaction.atomic(savepoint=False):
        call = (
            Call.objects.select_for_update(of=("self",))
            .select_related("number", "offer", "traffic_source", "lead")
            .get(pk=call_id)
        )
        announce_past_conversions(call)
    return call


LATE_PIXEL_CAUSE = "the conversion re-announced when a late pixel attached its lead"


def announce_past_conversions(call: Call) -> None:
    """Emit the conversion events ``call`` has had; firing re-plans skipped deliveries.

    Firing writes at most one delivery per (trigger, call, event), so announcing
    again can only turn a skipped delivery into a due one, never add a second.
    """
    for event, happened in (
        (Event.CALL_OFFER_CONVERTED, call.offer_converted),
        (Event.CALL_BUYER_CONVERTED, call.buyer_converted),
    ):
        if happened:
            events.call_event.send(sender=Call, call=call, event=event, cause=LATE_PIXEL_CAUSE)


def match_call(call: Call, *, window_seconds: int) -> Lead | None:
    """Attach the nearest unattached lead to a new ``call``; return it, or None.

    Call inside the transaction that inserts the call, after ``lock_caller``.
    """
    lead = candidate_lead_for_call(call, window_seconds=window_seconds)
    sourceless = lead is not None and lead.traffic_source_id is None
    if lead is None or not _attach(call_id=call.pk, lead_id=lead.pk, sourceless=sourceless):
        return None
    if sourceless:
        lead.traffic_source_id = call.traffic_source_id
    call.lead = lead
    return lead


# Where the reconciler's last sweep stopped (received_at, id), shared through the
# cache by every worker, so each sweep moves on instead of re-reading the oldest page.
RECONCILE_CURSOR_KEY = "matching:reconcile-after"
# Pages one sweep reads at most; the cursor carries the walk on at the next sweep.
RECONCILE_PAGES = 5


def reconcile_unmatched(*, lookback_seconds: int, limit: int = 200) -> int:
    """Attach recent unattached leads that have a free call waiting; return how many.

    Belt and braces behind the lock: it finds pairs left apart by anything the
    lock cannot cover (a process killed between the insert and the match). The
    query keeps the candidate rules both databases can express (same partner,
    both free, the call not long over before the pixel); ``match_lead`` applies
    the rest (the offer's window). Leads the rules still refuse would fill every
    page forever, so the walk is a keyset: each sweep reads up to
    RECONCILE_PAGES pages of ``limit`` after where the last one stopped, and
    starts over once it reaches the newest lead.
    """
    now = timezone.now()
    since = now - timedelta(seconds=lookback_seconds)
    too_old = OuterRef("received_at") - tolerance()
    free_calls = Call.objects.filter(
        Q(ended_at__isnull=True) | Q(ended_at__gte=too_old),
        Q(offer_converted=False) | Q(offer_converted_at__gte=too_old),
        Q(buyer_converted=False) | Q(buyer_converted_at__gte=too_old),
        offer_id=OuterRef("offer_id"),
        caller_id=OuterRef("caller_id"),
        lead__isnull=True,
        schedule_lead__isnull=True,
        started_at__gte=since,
    )
    same_partner = free_calls.filter(traffic_source_id=OuterRef("traffic_source_id"))
    waiting = (
        Lead.objects.filter(received_at__gte=since, call__isnull=True, is_test=False)
        .filter(Exists(same_partner) | (Q(traffic_source__isnull=True) & Exists(free_calls)))
        .select_related("offer")
        .order_by("received_at", "pk")
    )
    after = cache.get(RECONCILE_CURSOR_KEY)
    attached = 0
    for _ in range(RECONCILE_PAGES):
        page = waiting
        if after is not None:
            at, pk = after
            page = page.filter(Q(received_at__gt=at) | Q(received_at=at, pk__gt=pk))
        leads = list(page[:limit])
        for lead in leads:
            attached += _reconcile(lead)
        if len(leads) < limit:  # the newest lead was read: start over next time
            after = None
            break
        after = (leads[-1].received_at, leads[-1].pk)
    cache.set(RECONCILE_CURSOR_KEY, after, timeout=lookback_seconds)
    return attached


def _reconcile(lead: Lead) -> int:
    call = match_lead(lead, window_seconds=lead.offer.match_window_seconds)
    if call is None:
        return 0
    logger.warning(
        "reconciler attached lead %s to call %s (they had been left apart)",
        lead.pk,
        call.call_uuid,
    )
    return 1
