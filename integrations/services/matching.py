"""Lead ↔ call matching, in both directions (SPEC §4.4).

The pixel fires at connect time, so it may arrive just before or just after the
call is recorded. Whichever comes second attaches to the newest unattached
partner from the same caller on the same offer within the offer's match window.
Attachment is one conditional UPDATE guarded by the one-to-one constraint, so
two racing requests can never attach the same lead or the same call twice.
"""

from datetime import timedelta

from django.db import IntegrityError
from django.db.models import Subquery

from ..db import savepoint_if_nested
from ..models import Call, Lead


def attach_lead_to_call(
    *, lead_id: int, offer_id: int, caller_id: str, received_at, window_seconds: int
) -> Call | None:
    """Attach the lead to the newest lead-less call of its caller; return that call."""
    window = timedelta(seconds=window_seconds)
    newest_call = (
        Call.objects.filter(
            offer_id=offer_id,
            caller_id=caller_id,
            lead__isnull=True,
            started_at__gte=received_at - window,
            started_at__lte=received_at + window,
        )
        .order_by("-started_at", "-pk")
        .values("pk")[:1]
    )
    if not _set_lead(Call.objects.filter(pk=Subquery(newest_call)), lead_id):
        return None
    return (
        Call.objects.select_related("number", "offer", "traffic_source", "lead")
        .filter(lead_id=lead_id)
        .first()
    )


def attach_call_to_lead(*, call: Call, window_seconds: int) -> Lead | None:
    """Attach the newest unattached lead of the call's caller to ``call``; return it."""
    window = timedelta(seconds=window_seconds)
    candidate = (
        Lead.objects.filter(
            offer_id=call.offer_id,
            caller_id=call.caller_id,
            received_at__gte=call.started_at - window,
            received_at__lte=call.started_at + window,
            call__isnull=True,
        )
        .order_by("-received_at", "-pk")
        .first()
    )
    if candidate is None or not _set_lead(Call.objects.filter(pk=call.pk), candidate.pk):
        return None
    call.lead = candidate
    return candidate


def _set_lead(calls, lead_id: int) -> bool:
    """Set ``lead_id`` on the first lead-less call of ``calls``; False if none or taken."""
    try:
        with savepoint_if_nested():
            return bool(calls.filter(lead__isnull=True).update(lead_id=lead_id))
    except IntegrityError:  # the lead was attached to another call meanwhile
        return False
