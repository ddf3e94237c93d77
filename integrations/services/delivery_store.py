"""Claim a due delivery and record its attempt: one round trip each on PostgreSQL.

A worker sends many postbacks at once from threads of one process, and every
database round trip costs a thread a trip through the GIL; with the ORM a
delivery cost about nine (claim, re-read, BEGIN, update, insert, health, COMMIT,
task result). On PostgreSQL the claim is one ``UPDATE … RETURNING`` that also
reads the trigger's health, and the outcome is one statement: a data-modifying
CTE applies the fenced update and inserts the attempt, marked stray when the
update matched nothing, atomically as a single statement. Other databases run
the same steps through the ORM in a transaction (``deliveries`` documents the
claim-and-fence protocol itself; this module only stores it).
"""

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from django.db import connection, transaction
from django.db.models import F

from ..db import instance_from_row, quoted_columns
from ..models import DUE_STATUSES, PostbackAttempt, PostbackDelivery


@dataclass(frozen=True)
class TriggerHealth:
    """The trigger's health as it was when the delivery was claimed."""

    consecutive_failures: int
    last_success_at: datetime | None


_CLAIM = """
    UPDATE {delivery} AS d
    SET claim_token = %s, next_attempt_at = %s, attempt_count = d.attempt_count + 1,
        updated_at = %s
    FROM {trigger} AS t
    WHERE d.id = %s AND d.status = ANY(%s) AND d.next_attempt_at <= %s AND t.id = d.trigger_id
        AND t.paused_at IS NULL
    RETURNING {columns}, t.consecutive_failures, t.last_success_at
"""


@lru_cache(maxsize=1)
def _claim_sql() -> str:
    trigger = PostbackDelivery._meta.get_field("trigger").related_model
    return _CLAIM.format(
        delivery=PostbackDelivery._meta.db_table,
        trigger=trigger._meta.db_table,
        columns=quoted_columns(PostbackDelivery._meta.concrete_fields, alias="d"),
    )


def claim(
    delivery_id: int, *, token: str, now: datetime, lease_until: datetime
) -> tuple[PostbackDelivery, TriggerHealth] | None:
    """Claim the delivery if it is due; return it (as claimed) and its trigger's health.

    A delivery of a paused trigger is not claimed: it stays due and waits.
    """
    if connection.vendor != "postgresql":
        return _claim_with_orm(delivery_id, token=token, now=now, lease_until=lease_until)
    with connection.cursor() as cursor:
        cursor.execute(
            _claim_sql(),
            [token, lease_until, now, delivery_id, list(DUE_STATUSES), now],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    width = len(PostbackDelivery._meta.concrete_fields)
    delivery = instance_from_row(PostbackDelivery, row[:width], using=connection.alias)
    return delivery, TriggerHealth(*row[width:])


def _claim_with_orm(delivery_id, *, token, now, lease_until):
    claimed = PostbackDelivery.objects.filter(
        pk=delivery_id,
        status__in=DUE_STATUSES,
        next_attempt_at__lte=now,
        trigger__paused_at__isnull=True,
    ).update(
        claim_token=token,
        next_attempt_at=lease_until,
        attempt_count=F("attempt_count") + 1,
        updated_at=now,
    )
    if not claimed:
        return None
    delivery = PostbackDelivery.objects.select_related("trigger").get(pk=delivery_id)
    if delivery.claim_token != token:
        return None  # claimed again between our UPDATE and SELECT (lease already over)
    trigger = delivery.trigger
    return delivery, TriggerHealth(trigger.consecutive_failures, trigger.last_success_at)


_RECORD = """
    WITH moved AS (
        UPDATE {delivery} SET {assignments}
        WHERE id = %s AND claim_token = %s AND status = ANY(%s)
        RETURNING id
    )
    INSERT INTO {attempt} ({columns})
    VALUES ({placeholders}, NOT EXISTS (SELECT 1 FROM moved))
    RETURNING id, stray
"""


def record(
    delivery: PostbackDelivery, *, token: str, changes: dict, attempt: PostbackAttempt
) -> bool:
    """Apply ``changes`` if this claim still holds, and insert ``attempt`` either way.

    Returns whether the claim held; ``attempt.stray`` and its pk are set. The two
    writes commit together or not at all.
    """
    if connection.vendor != "postgresql":
        return _record_with_orm(delivery, token=token, changes=changes, attempt=attempt)
    sql, delivery_fields, attempt_fields = _record_statement(tuple(changes))
    params = [
        *(field.get_db_prep_save(changes[field.name], connection) for field in delivery_fields),
        delivery.pk,
        token,
        list(DUE_STATUSES),
        *(
            field.get_db_prep_save(field.pre_save(attempt, True), connection)
            for field in attempt_fields
        ),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        attempt.pk, attempt.stray = cursor.fetchone()
    attempt._state.adding, attempt._state.db = False, connection.alias
    return not attempt.stray


@lru_cache(maxsize=8)
def _record_statement(changed: tuple[str, ...]):
    """The statement for one set of changed delivery fields (a verdict's set)."""
    delivery_fields = [PostbackDelivery._meta.get_field(name) for name in changed]
    attempt_fields = [
        field
        for field in PostbackAttempt._meta.concrete_fields
        if not field.primary_key and field.name != "stray"
    ]
    sql = _RECORD.format(
        delivery=PostbackDelivery._meta.db_table,
        assignments=", ".join(
            f"{connection.ops.quote_name(field.column)} = %s" for field in delivery_fields
        ),
        attempt=PostbackAttempt._meta.db_table,
        columns=quoted_columns([*attempt_fields, PostbackAttempt._meta.get_field("stray")]),
        placeholders=", ".join(["%s"] * len(attempt_fields)),
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
        attempt.save(force_insert=True)
    return holds
