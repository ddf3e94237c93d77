"""Store a new lead and attach it to its call, in one round trip on PostgreSQL.

Every accepted pixel inserts a lead and then looks for the newest lead-less call
of the same caller (SPEC §4.4). On PostgreSQL both happen in one statement (a
data-modifying CTE), which halves the database round trips of the capture hot
path; on SQLite they are two statements. Columns and values come from the
model's own field metadata, exactly as the ORM would send them.
"""

from functools import lru_cache

from django.db import connection

from ..db import savepoint_if_nested
from ..models import Lead
from .matching import CANDIDATE_CALL_SQL, attach_lead_to_call, match_params

# "lead_id IS NULL" on the UPDATE makes a concurrent attach from the call side a
# no-op. The INSERT raises IntegrityError for a repeated ringba_call_uuid, and then
# nothing of the statement is applied.
_INSERT_AND_ATTACH = """
WITH new_lead AS (
    INSERT INTO integrations_lead ({columns}) VALUES ({placeholders}) RETURNING id
), attached AS (
    UPDATE integrations_call SET lead_id = (SELECT id FROM new_lead), updated_at = %s
    WHERE id = ({candidate}) AND lead_id IS NULL
    RETURNING id
)
SELECT (SELECT id FROM new_lead), (SELECT id FROM attached)
"""


@lru_cache(maxsize=1)
def _postgres_statement():
    fields = [field for field in Lead._meta.concrete_fields if not field.primary_key]
    sql = _INSERT_AND_ATTACH.format(
        columns=", ".join(connection.ops.quote_name(field.column) for field in fields),
        placeholders=", ".join(["%s"] * len(fields)),
        candidate=CANDIDATE_CALL_SQL,
    )
    return fields, sql


def insert_lead(lead: Lead, *, window_seconds: int) -> int | None:
    """Insert ``lead`` (setting its pk) and attach it to its call; return the call id.

    Returns None when no lead-less call of the caller is within the window.
    Raises IntegrityError when the offer already has this ringba_call_uuid.
    """
    match = match_params(
        offer_id=lead.offer_id,
        caller_id=lead.caller_id,
        received_at=lead.received_at,
        window_seconds=window_seconds,
    )
    if connection.vendor != "postgresql":
        with savepoint_if_nested():
            lead.save(force_insert=True)
        return attach_lead_to_call(
            lead_id=lead.pk,
            offer_id=lead.offer_id,
            caller_id=lead.caller_id,
            received_at=lead.received_at,
            window_seconds=window_seconds,
        )

    fields, sql = _postgres_statement()
    values = [field.get_db_prep_save(field.pre_save(lead, True), connection) for field in fields]
    with savepoint_if_nested(), connection.cursor() as cursor:
        cursor.execute(sql, [*values, lead.updated_at, *match])
        lead.pk, call_id = cursor.fetchone()
    lead._state.adding, lead._state.db = False, connection.alias
    return call_id
