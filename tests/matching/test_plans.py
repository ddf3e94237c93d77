"""Matching's lookups cannot be planned through the one-call-per-lead index.

Free calls are ``lead_id IS NULL``. Before migration 0023 the unique index on
``lead_id`` held every call, NULLs included, so a planner without column
statistics (after a restore or a bulk import) could answer "free calls of this
caller" by walking every free call through it: 300 ms per pixel at a million
calls. The index now holds attached calls only, and still enforces one call per
lead on both databases.
"""

import pytest
from django.db import IntegrityError, connection, transaction

from integrations.models import Call
from tests import factories

pytestmark = pytest.mark.django_db

LEAD_INDEX = "integrations_call_lead_id_key"


def _plan(sql: str, params=()) -> str:
    with connection.cursor() as cursor:
        # Seq scans priced out: the planner shows which index it would use if it
        # had to, the way a statistics-free planner may prefer one.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_free_calls_cannot_be_found_through_the_lead_index(postgres_only):
    with transaction.atomic():
        assert LEAD_INDEX not in _plan("SELECT id FROM integrations_call WHERE lead_id IS NULL")


def test_attached_calls_still_follow_by_lead(postgres_only, ringba_setup):
    """A lead's call is still found through the index (lead_id = x implies NOT NULL)."""
    with transaction.atomic():
        assert LEAD_INDEX in _plan("SELECT id FROM integrations_call WHERE lead_id = %s", [1])


def test_a_lead_still_belongs_to_one_call_only(ringba_setup):
    lead = factories.LeadFactory(offer=ringba_setup["offer"], traffic_source=ringba_setup["source"])
    number = ringba_setup["number"]
    factories.CallFactory(number=number, caller_id=lead.caller_id, lead=lead)
    second = factories.CallFactory(number=number, caller_id=lead.caller_id)
    with pytest.raises(IntegrityError), transaction.atomic():
        Call.objects.filter(pk=second.pk).update(lead=lead)
    # Free calls never conflict with each other.
    factories.CallFactory(number=number, caller_id=lead.caller_id)
    assert Call.objects.filter(lead__isnull=True).count() == 2


def test_the_paid_sale_check_follows_the_lead_indexes_not_the_offers_calls(
    postgres_only, ringba_setup
):
    """Every offer conversion asks "was this sale paid through another call?" (issue 24).

    At a million calls that must be index look-ups by lead, never a walk through
    the offer's calls (call_offer_idx) joined to their leads.
    """
    from integrations.services.paid import same_sale_calls

    lead = factories.LeadFactory(
        offer=ringba_setup["offer"], traffic_source=ringba_setup["source"], ringba_call_uuid="RGB-P"
    )
    call = factories.CallFactory(number=ringba_setup["number"], lead=lead)
    call = Call.objects.select_related("lead", "schedule_lead").get(pk=call.pk)
    sql, params = same_sale_calls(call).query.sql_with_params()
    with transaction.atomic():
        plan = _plan(sql, params)
    assert "call_offer_idx" not in plan and "call_source_idx" not in plan, plan
    assert "call_newest_idx" not in plan, plan
    assert LEAD_INDEX in plan, plan
