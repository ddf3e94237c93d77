"""The worker's reconciler attaches leads and calls that were left apart (SPEC §4.4)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from integrations.management.commands.run_worker import sweep_once
from integrations.models import DeliveryStatus, PostbackDelivery
from integrations.services.calls import CallUpdate, record_call, update_call
from integrations.services.matching import reconcile_unmatched
from tests import factories

pytestmark = pytest.mark.django_db

CALLER = "+13125550143"


def _lead(setup, **fields):
    return factories.LeadFactory(
        offer=setup["offer"], traffic_source=setup["source"], caller_id=CALLER, **fields
    )


def test_a_pair_inserted_apart_is_attached_by_the_worker(ringba_setup):
    # Inserted apart on purpose, as a process killed between insert and match leaves them.
    call = factories.CallFactory(number=ringba_setup["number"], caller_id=CALLER)
    lead = _lead(ringba_setup, ringba_call_uuid="RGB-APART")

    sweep_once()

    call.refresh_from_db()
    assert call.lead == lead


def test_reconciling_a_converted_call_re_plans_its_skipped_postback(ringba_setup, ringba_trigger):
    factories.MappingFactory(
        trigger=ringba_trigger, traffic_source=ringba_setup["source"], value="TOKEN"
    )
    call, _ = record_call(number=ringba_setup["number"].number, caller_id=CALLER)
    update_call(
        call_uuid=call.call_uuid, update=CallUpdate(offer_converted=True, payout=Decimal("7"))
    )
    _lead(ringba_setup, ringba_call_uuid="RGB-LEFT")  # stored, never matched

    assert reconcile_unmatched(lookback_seconds=3600) == 1

    [delivery] = PostbackDelivery.objects.filter(call=call)
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.url.endswith("call_id=RGB-LEFT&call_revenue=7.00&sale_successful=true")


def test_the_reconciler_leaves_alone_what_the_rules_refuse(ringba_setup):
    old_call = factories.CallFactory(
        number=ringba_setup["number"],
        caller_id=CALLER,
        started_at=timezone.now() - timedelta(minutes=30),
        ended_at=timezone.now() - timedelta(minutes=25),
    )
    _lead(ringba_setup)
    other = factories.CallFactory(caller_id=CALLER)  # another offer and partner

    assert reconcile_unmatched(lookback_seconds=3600) == 0
    old_call.refresh_from_db()
    other.refresh_from_db()
    assert old_call.lead is None and other.lead is None


def test_the_reconciler_looks_only_at_recent_rows(ringba_setup):
    old = timezone.now() - timedelta(hours=3)
    factories.CallFactory(number=ringba_setup["number"], caller_id=CALLER, started_at=old)
    _lead(ringba_setup, received_at=old)
    assert reconcile_unmatched(lookback_seconds=3600) == 0


def test_the_reconciler_costs_one_query_when_nothing_is_apart(
    ringba_setup, django_assert_num_queries
):
    factories.CallFactory(number=ringba_setup["number"], caller_id="+13125550999")
    _lead(ringba_setup)
    with django_assert_num_queries(1):
        assert reconcile_unmatched(lookback_seconds=3600) == 0


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # autocommit, as served
@pytest.mark.usefixtures("postgres_only")
def test_a_failure_after_the_lead_is_stored_still_answers_accepted(
    client, base_pixel, ringba_setup, monkeypatch
):
    """On the one-statement path the lead is committed first; the reconciler finishes."""
    from django.db import OperationalError

    from tests.api.pixels import post_json

    call, _ = record_call(number=ringba_setup["number"].number, caller_id=CALLER)
    update_call(
        call_uuid=call.call_uuid, update=CallUpdate(offer_converted=True, payout=Decimal("7"))
    )

    def broken(lead, **kwargs):
        raise OperationalError("connection lost")

    monkeypatch.setattr("integrations.services.capture.match_lead", broken)
    response = post_json(
        client, {**base_pixel, "caller_id": CALLER, "ringba_call_uuid": "RGB-STORED"}
    )

    assert response.status_code == 201, response.json()
    assert response.json()["lead"]["call_uuid"] is None
    monkeypatch.undo()
    assert reconcile_unmatched(lookback_seconds=3600) == 1
    call.refresh_from_db()
    assert call.lead.ringba_call_uuid == "RGB-STORED"


def test_leads_that_no_rule_lets_attach_do_not_starve_a_newer_pair(ringba_setup):
    """A page's worth of old leads whose free call is outside their window must not
    hide, sweep after sweep, a newer pair that was left apart (issue 24, case 2)."""
    now = timezone.now()
    window = ringba_setup["offer"].match_window_seconds
    for index in range(12):  # each: a lead and a free call of its caller, too far apart
        caller = f"+1312555{index:04d}"
        received = now - timedelta(minutes=50) + timedelta(seconds=index)
        factories.LeadFactory(
            offer=ringba_setup["offer"],
            traffic_source=ringba_setup["source"],
            caller_id=caller,
            received_at=received,
        )
        factories.CallFactory(
            number=ringba_setup["number"],
            caller_id=caller,
            started_at=received + timedelta(seconds=window + 60),
        )
    call = factories.CallFactory(number=ringba_setup["number"], caller_id=CALLER)
    lead = _lead(ringba_setup, ringba_call_uuid="RGB-NEWER")

    attached = sum(reconcile_unmatched(lookback_seconds=3600, limit=5) for _ in range(3))

    call.refresh_from_db()
    assert call.lead == lead
    assert attached == 1
