"""Lead ↔ call matching, in both directions (SPEC §4.4).

The pixel fires at connect time, so it may arrive just before or just after the
call is recorded. Whichever comes second attaches to the newest unattached
partner from the same caller on the same offer within the offer's match window.
Attachment is one conditional UPDATE guarded by the one-to-one constraint, so
two racing requests can never attach the same lead or the same call twice.
"""

from datetime import timedelta

from django.db import IntegrityError, connection
from django.utils import timezone

from ..db import savepoint_if_nested
from ..models import Call, Lead

# The capture hot path matches every pixel. Building the equivalent ORM query (six
# filters and a subquery) cost more Python time than the database spent on it, so
# matching is fixed, parameterised SQL, portable to SQLite (3.35+) and PostgreSQL.
# Parameters: offer_id, caller_id, window start, window end.
CANDIDATE_CALL_SQL = """
    SELECT id FROM integrations_call
    WHERE offer_id = %s AND caller_id = %s AND lead_id IS NULL
      AND started_at >= %s AND started_at <= %s
    ORDER BY started_at DESC, id DESC
    LIMIT 1
"""
# The outer "lead_id IS NULL" makes a race with another attach a no-op (PostgreSQL
# re-checks it after taking the row lock). Parameters: lead_id, now, then the above.
ATTACH_LEAD_SQL = f"""
UPDATE integrations_call SET lead_id = %s, updated_at = %s
WHERE id = ({CANDIDATE_CALL_SQL}) AND lead_id IS NULL
RETURNING id
"""  # noqa: S608 (composed of constants only; every value is a parameter)


def match_params(*, offer_id: int, caller_id: str, received_at, window_seconds: int) -> list:
    """Return the parameters of CANDIDATE_CALL_SQL for a lead."""
    window = timedelta(seconds=window_seconds)
    return [offer_id, caller_id, received_at - window, received_at + window]


def attach_lead_to_call(
    *, lead_id: int, offer_id: int, caller_id: str, received_at, window_seconds: int
) -> int | None:
    """Attach the lead to the newest lead-less call of its caller; return the call id."""
    params = [
        lead_id,
        timezone.now(),
        *match_params(
            offer_id=offer_id,
            caller_id=caller_id,
            received_at=received_at,
            window_seconds=window_seconds,
        ),
    ]
    try:
        with savepoint_if_nested(), connection.cursor() as cursor:
            cursor.execute(ATTACH_LEAD_SQL, params)
            row = cursor.fetchone()
    except IntegrityError:  # the lead was attached to another call meanwhile
        return None
    return row[0] if row else None


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
