"""Claim a due delivery and record its attempt: one round trip each on PostgreSQL.

A worker sends many postbacks at once from threads of one process, and every
database round trip costs a thread a trip through the GIL; with the ORM a
delivery cost about nine (claim, re-read, BEGIN, update, insert, health, COMMIT,
task result). On PostgreSQL the claim is one statement: a data-modifying CTE
whose ``UPDATE … RETURNING`` takes the claim (lease measured on the database's
clock), reads the trigger's health and counts the earlier attempts still in
flight, and whose INSERT puts this attempt on record, in flight, before any
request leaves. The outcome is one statement too: a CTE applies the fenced
update and fills the attempt in, marked stray when the update matched nothing.
Other databases run the same steps through the ORM in a transaction
(``deliveries`` documents the claim-and-fence protocol itself; this module only
stores it).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from ..infra.db import instance_from_row, prepared_cursor, quoted_columns
from ..models import DUE_STATUSES, Call, Event, Payment, PostbackAttempt, PostbackDelivery


@dataclass(frozen=True)
class TriggerHealth:
    """The trigger's health as it was when the delivery was claimed."""

    consecutive_failures: int
    last_success_at: datetime | None


@dataclass(frozen=True)
class Claim:
    """A claimed delivery, the attempt put on record for it, and what came before."""

    delivery: PostbackDelivery
    health: TriggerHealth
    attempt: PostbackAttempt  # in flight: saved, outcome to be filled in by ``record``
    # Earlier attempts that never reported an outcome (their worker died mid-send).
    unknown_before: int


_CLAIM = """
WITH gate AS (
    -- The send gate in SQL, for the common case: the call still converted and not
    -- paid yet, under its row lock (an un-convert waits, or is waited for).
    SELECT c.id FROM {call} AS c
    WHERE c.id = (SELECT d0.call_id FROM {delivery} AS d0 WHERE d0.id = %s)
        AND c.offer_converted
        AND NOT EXISTS (SELECT 1 FROM {payment} AS p WHERE p.call_id = c.id)
    FOR UPDATE OF c
), claimed AS (
    UPDATE {delivery} AS d
    SET claim_token = %s,
        next_attempt_at = clock_timestamp() + make_interval(secs => %s),
        attempt_count = d.attempt_count + 1,
        updated_at = clock_timestamp()
    FROM {trigger} AS t
    WHERE d.id = %s AND d.status = ANY(%s) AND d.next_attempt_at <= clock_timestamp()
        AND t.id = d.trigger_id AND t.paused_at IS NULL
        AND (%s OR (
            (d.expires_at IS NULL OR d.expires_at > clock_timestamp())
            AND (NOT ({money}) OR EXISTS (SELECT 1 FROM gate))
        ))
    RETURNING {columns}, t.consecutive_failures, t.last_success_at,
        (SELECT count(*) FROM {attempt} AS a WHERE a.delivery_id = d.id AND a.in_flight)
            AS unknown_before
), sending AS (
    INSERT INTO {attempt} (delivery_id, number, url, stray, started_at, duration_ms,
                           status_code, response_body, error, manual, in_flight)
    SELECT id, attempt_count, url, false, clock_timestamp(), 0, NULL, '', '', %s, true
    FROM claimed
    RETURNING id, started_at
)
SELECT claimed.*, sending.id, sending.started_at FROM claimed, sending
"""


# A conversion of a call: the deliveries the send gate decides for. The common claim
# passes them in SQL when the call is converted and unpaid (and a deadline is not
# past); anything else falls back to ``payments.send_gate``, which says why.
_MONEY_SQL = f"d.event = '{Event.CALL_OFFER_CONVERTED}' AND NOT d.is_test AND d.call_id IS NOT NULL"
_GATED = Q(event=Event.CALL_OFFER_CONVERTED, is_test=False, call__isnull=False) | Q(
    expires_at__isnull=False
)


@lru_cache(maxsize=1)
def _claim_sql() -> str:
    trigger = PostbackDelivery._meta.get_field("trigger").related_model
    return _CLAIM.format(
        delivery=PostbackDelivery._meta.db_table,
        trigger=trigger._meta.db_table,
        attempt=PostbackAttempt._meta.db_table,
        call=Call._meta.db_table,
        payment=Payment._meta.db_table,
        columns=quoted_columns(PostbackDelivery._meta.concrete_fields, alias="d"),
        money=_MONEY_SQL,
    )


def claim(
    delivery_id: int, *, token: str, lease_seconds: float, manual: bool, gated: bool = True
) -> Claim | None:
    """Claim the delivery if it is due and put its attempt on record, in flight.

    Returns None when it is not due. A delivery of a paused trigger is not
    claimed: it stays due and waits. "Due" and the lease are measured on the
    database's clock, never a worker's. ``gated=False``: the gate is checked here
    (PostgreSQL: in the same statement, under the call's row lock; SQLite: only
    deliveries with nothing to gate are claimed), and None sends the caller to
    ``payments.send_gate``; ``gated=True``: the caller has passed the gate.
    """
    if connection.vendor != "postgresql":
        return _claim_with_orm(
            delivery_id, token=token, lease_seconds=lease_seconds, manual=manual, gated=gated
        )
    with prepared_cursor() as cursor:  # planned once per connection, not per claim
        cursor.execute(
            _claim_sql(),
            [delivery_id, token, lease_seconds, delivery_id, list(DUE_STATUSES), gated, manual],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    width = len(PostbackDelivery._meta.concrete_fields)
    delivery = instance_from_row(PostbackDelivery, row[:width], using=connection.alias)
    failures, last_success, unknown_before, attempt_id, started_at = row[width:]
    attempt = PostbackAttempt(
        pk=attempt_id,
        delivery=delivery,
        number=delivery.attempt_count,
        url=delivery.url,
        started_at=started_at,
        manual=manual,
        in_flight=True,
    )
    attempt._state.adding, attempt._state.db = False, connection.alias
    return Claim(delivery, TriggerHealth(failures, last_success), attempt, unknown_before)


def _claim_with_orm(delivery_id, *, token, lease_seconds, manual, gated) -> Claim | None:
    # SQLite runs in this process: its clock is this machine's.
    now = timezone.now()
    with transaction.atomic():
        due = PostbackDelivery.objects.filter(
            pk=delivery_id,
            status__in=DUE_STATUSES,
            next_attempt_at__lte=now,
            trigger__paused_at__isnull=True,
        )
        claimed = (due if gated else due.exclude(_GATED)).update(
            claim_token=token,
            next_attempt_at=now + timedelta(seconds=lease_seconds),
            attempt_count=F("attempt_count") + 1,
            updated_at=now,
        )
        if not claimed:
            return None
        delivery = PostbackDelivery.objects.select_related("trigger").get(pk=delivery_id)
        unknown_before = delivery.attempts.filter(in_flight=True).count()
        attempt = PostbackAttempt.objects.create(
            delivery=delivery,
            number=delivery.attempt_count,
            url=delivery.url,
            started_at=now,
            manual=manual,
            in_flight=True,
        )
    trigger = delivery.trigger
    health = TriggerHealth(trigger.consecutive_failures, trigger.last_success_at)
    return Claim(delivery, health, attempt, unknown_before)


def put_back(claimed: Claim, *, token: str, next_attempt_at: datetime) -> None:
    """Give back a claim whose request never left: no attempt made, none counted."""
    with transaction.atomic():
        PostbackDelivery.objects.filter(pk=claimed.delivery.pk, claim_token=token).update(
            claim_token="",
            enqueued_at=None,
            next_attempt_at=next_attempt_at,
            attempt_count=F("attempt_count") - 1,
        )
        PostbackAttempt.objects.filter(pk=claimed.attempt.pk, in_flight=True).delete()


_RECORD = """
    WITH moved AS (
        UPDATE {delivery} SET {assignments}
        WHERE id = %s AND claim_token = %s AND status = ANY(%s)
        RETURNING id
    )
    UPDATE {attempt} SET {attempt_assignments}, in_flight = false,
        stray = NOT EXISTS (SELECT 1 FROM moved)
    WHERE id = %s
    RETURNING stray
"""

# What the outcome fills in on the attempt row that the claim put on record.
OUTCOME_FIELDS = ("duration_ms", "status_code", "response_body", "error")


def record(
    delivery: PostbackDelivery, *, token: str, changes: dict, attempt: PostbackAttempt
) -> bool:
    """Apply ``changes`` if this claim still holds, and fill ``attempt`` in either way.

    Returns whether the claim held; ``attempt.stray`` is set. The two writes
    commit together or not at all.
    """
    attempt.in_flight = False
    if connection.vendor != "postgresql":
        return _record_with_orm(delivery, token=token, changes=changes, attempt=attempt)
    sql, delivery_fields, attempt_fields = _record_statement(tuple(changes))
    params = [
        *(field.get_db_prep_save(changes[field.name], connection) for field in delivery_fields),
        delivery.pk,
        token,
        list(DUE_STATUSES),
        *(
            field.get_db_prep_save(getattr(attempt, field.attname), connection)
            for field in attempt_fields
        ),
        attempt.pk,
    ]
    with prepared_cursor() as cursor:  # one plan per connection and verdict
        cursor.execute(sql, params)
        row = cursor.fetchone()
    attempt.stray = True if row is None else row[0]
    return not attempt.stray


@lru_cache(maxsize=8)
def _record_statement(changed: tuple[str, ...]):
    """The statement for one set of changed delivery fields (a verdict's set)."""
    delivery_fields = [PostbackDelivery._meta.get_field(name) for name in changed]
    attempt_fields = [PostbackAttempt._meta.get_field(name) for name in OUTCOME_FIELDS]
    quote = connection.ops.quote_name
    sql = _RECORD.format(
        delivery=PostbackDelivery._meta.db_table,
        assignments=", ".join(f"{quote(field.column)} = %s" for field in delivery_fields),
        attempt=PostbackAttempt._meta.db_table,
        attempt_assignments=", ".join(f"{quote(field.column)} = %s" for field in attempt_fields),
    )
    return sql, delivery_fields, attempt_fields


def _record_with_orm(delivery, *, token, changes, attempt) -> bool:
    with transaction.atomic():
        holds = bool(
            PostbackDelivery.objects.filter(
                pk=delivery.pk, claim_token=token, status__in=DUE_STATUSES
            ).update(**changes)
        )
        attempt.stray = not holds
        attempt.save(update_fields=[*OUTCOME_FIELDS, "in_flight", "stray"])
    return holds


def mark_unknown(delivery_id: int, *, before: PostbackAttempt, note: str) -> int:
    """Close the delivery's earlier attempts that never reported; return how many.

    They stay on record (the receiver may have acted on them) with ``note``.
    A worker that was only slow and reports later still fills its row in.
    """
    return PostbackAttempt.objects.filter(
        delivery_id=delivery_id, in_flight=True, number__lt=before.number
    ).update(in_flight=False, error=note[:500])
