"""Store a new lead and attach it to its call: one round trip on PostgreSQL.

Every accepted pixel inserts a lead and then looks for its call (SPEC §4.4). On
PostgreSQL both happen in one statement: a data-modifying CTE inserts the lead and
hands its id to ``integrations_match_new_lead`` (migration 0005), which takes the
(offer, caller) advisory lock and only then looks for the call. A VOLATILE
function's queries each take a fresh snapshot in READ COMMITTED, so a call
committed while the function waited for the lock is seen. The function applies
the rules of ``matching.candidate_call_for_lead`` and attaches, except to a call
that has already converted: that one is left to ``matching.match_lead``, which
attaches and re-announces the conversion in one transaction. A call that converted
while the attach waited on its row lock is attached and reported (migration 0025):
the caller announces that conversion (``matching.announce_attached``).

On SQLite the caller runs ``matching.match_lead`` in the same IMMEDIATE
transaction instead. Columns and values come from the model's own field
metadata, exactly as the ORM would send them; the statement is prepared once per
connection (``db.prepared_cursor``).
"""

from dataclasses import dataclass
from functools import lru_cache, partial
from operator import attrgetter

from django.conf import settings
from django.db import connection

from ..infra.db import prepared_cursor, quoted_columns
from ..models import Lead

_INSERT_AND_MATCH = """
WITH new_lead AS (
    INSERT INTO integrations_lead ({columns}) VALUES ({placeholders}) RETURNING id
)
SELECT new_lead.id, matched.attached_call, matched.converted_call
FROM new_lead, integrations_match_new_lead(new_lead.id, %s, %s, %s, %s, %s, %s) AS matched
"""


@dataclass(frozen=True)
class StoredLead:
    """What happened to a newly inserted lead's match."""

    call_id: int | None = None  # the call it attached to in the same statement
    matched: bool = False  # False: run matching.match_lead to find (or re-check) its call
    # Attached to a call that converted while the attach waited: announce it.
    converted_meanwhile: bool = False


@lru_cache(maxsize=1)
def _postgres_statement():
    fields = [field for field in Lead._meta.concrete_fields if not field.primary_key]
    sql = _INSERT_AND_MATCH.format(
        columns=quoted_columns(fields),
        placeholders=", ".join(["%s"] * len(fields)),
    )
    return fields, sql


# Lead columns whose Python value psycopg sends as the ORM would, on PostgreSQL: the
# ORM's get_db_prep_save returns them unchanged (aware datetimes, UUIDs, ints, text).
_SENT_AS_IS = frozenset(
    {"BooleanField", "CharField", "DateTimeField", "ForeignKey", "TextField", "UUIDField"}
)


@lru_cache(maxsize=1)
def _column_readers() -> list:
    """Per column of the capture statement: how to read its value off a new Lead.

    Asking each field's ``pre_save`` and ``get_db_prep_save`` costs a tenth of a
    millisecond per pixel (a chain of calls per column). Most columns are read as
    they are; JSON goes through the backend's adapter directly; any other type (the
    client address, whose IPv6 form the ORM normalises, a timestamp set on save, or
    a column added later) keeps the ORM's own preparation.
    ``tests/api/test_lead_store_values.py`` checks the values equal the ORM's.
    """
    fields, _ = _postgres_statement()
    readers = []
    for field in fields:
        kind = field.get_internal_type()
        set_on_save = getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
        if kind in _SENT_AS_IS and not set_on_save:
            readers.append(attrgetter(field.attname))
        elif kind == "JSONField":
            readers.append(partial(_json, field))
        else:
            readers.append(partial(_orm, field))
    return readers


def _json(field, lead):
    value = getattr(lead, field.attname)
    if value is None:  # the ORM's own rule for a JSON null
        return _orm(field, lead)
    return connection.ops.adapt_json_value(value, field.encoder)


def _orm(field, lead):
    return field.get_db_prep_save(field.pre_save(lead, True), connection)


def insert_lead(lead: Lead, *, window_seconds: int) -> StoredLead:
    """Insert ``lead`` (setting its pk) and, on PostgreSQL, attach it to its call.

    Raises IntegrityError when the offer already has this ringba_call_uuid; then
    nothing of the statement is applied. Inside a transaction the error leaves it
    unusable: callers let it propagate out of their ``atomic`` block.
    """
    if connection.vendor != "postgresql":
        lead.save(force_insert=True)
        return StoredLead()

    _, sql = _postgres_statement()
    values = [read(lead) for read in _column_readers()]
    match = [
        lead.offer_id,
        lead.traffic_source_id,
        lead.caller_id,
        lead.received_at,
        window_seconds,
        settings.MATCH_ENDED_TOLERANCE_SECONDS,
    ]
    with prepared_cursor() as cursor:
        cursor.execute(sql, [*values, *match])
        lead.pk, call_id, converted_call_id = cursor.fetchone()
    lead._state.adding, lead._state.db = False, connection.alias
    if call_id is not None and converted_call_id is not None:
        return StoredLead(call_id=call_id, matched=True, converted_meanwhile=True)
    return StoredLead(call_id=call_id, matched=converted_call_id is None)
