"""Money races after the conversion, released together on PostgreSQL (issue 31).

- Defect 4: Rebuild locked only the delivery and read the call from before an
  un-convert committed, so a rebuild racing an un-convert sent the postback of a
  call no longer converted. Now the send passes the gate under the call's lock;
  whoever wins, the partner's Ringba ends holding nothing for the call (either
  nothing was sent, or the payment was returned by exactly one override to 0).
- Two returns of one paid call at the same instant write (and queue) exactly one
  adjustment.
"""

import threading

import pytest
from django.db import connections
from django.utils import timezone

from integrations.infra import events
from integrations.models import DeliveryStatus, PostbackDelivery, RingbaAdjustment
from integrations.services import adjustments, deliveries
from integrations.services.calls import CallUpdate, update_call
from integrations.services.rebuild import rebuild_delivery
from integrations.services.returns import Conversion, unconvert_call
from tests import factories
from tests.races import run_rounds

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("postgres_only"),
]

ROUNDS = 12


def _call(setup, index: int):
    lead = factories.LeadFactory(
        offer=setup["offer"],
        traffic_source=setup["source"],
        ringba_call_uuid=f"RGB-RACE-{index}",
        caller_id=f"+1312555{index:04d}",
    )
    call = factories.CallFactory(number=setup["number"], lead=lead, caller_id=lead.caller_id)
    update_call(call_uuid=call.call_uuid, update=CallUpdate(offer_converted=True, payout=10))
    call.refresh_from_db()
    return call


def _settle_everything() -> None:
    for _ in range(3):
        due = RingbaAdjustment.objects.filter(status__in=["pending", "retrying"])
        for adjustment_id in list(due.values_list("pk", flat=True)):
            RingbaAdjustment.objects.filter(pk=adjustment_id).update(next_attempt_at=timezone.now())
            adjustments.attempt_adjustment(adjustment_id=adjustment_id)


def test_rebuild_racing_an_unconvert_never_leaves_ringba_paid(ringba, partner):
    ringba.behaviour.status = 503
    calls, failed = [], []
    for index in range(ROUNDS):
        call = _call(partner, index)
        [delivery] = PostbackDelivery.objects.filter(call=call)
        PostbackDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED)
        calls.append(call)
        failed.append(delivery.pk)
    ringba.behaviour.status = 200

    def rebuild_and_send(round_number: int):
        rebuilt = rebuild_delivery(delivery_id=failed[round_number], cause="race")
        if not rebuilt.refused:
            deliveries.attempt_delivery(delivery_id=failed[round_number], manual=True)
        return rebuilt.refused

    def unconvert(round_number: int):
        call = calls[round_number]
        return unconvert_call(
            call_uuid=call.call_uuid,
            conversion=Conversion.OFFER,
            expected_version=None,
            cause="race",
            reason="returned in the race",
        )

    results = run_rounds(ROUNDS, [rebuild_and_send, unconvert])
    assert not [r for round_ in results for r in round_ if isinstance(r, Exception)], results
    for delivery_id in failed:  # whatever the rebuild left due is sent now, through the gate
        deliveries.attempt_delivery(delivery_id=delivery_id)
    _settle_everything()

    assert all(amount == 0.0 for amount in ringba.conversion_amounts.values()), (
        ringba.conversion_amounts
    )
    paid = [hit for hit in ringba.hits if hit.path.startswith("/hook/")]
    overrides = ringba.api_hits()
    assert len(overrides) == len(paid)  # each payment that slipped through was returned once


def test_two_returns_at_once_write_and_queue_one_adjustment(ringba, partner):
    calls = []
    for index in range(ROUNDS):
        call = _call(partner, index)
        [delivery] = PostbackDelivery.objects.filter(call=call)
        deliveries.attempt_delivery(delivery_id=delivery.pk)
        calls.append(call)
    queued, lock = [], threading.Lock()

    def on_due(sender, *, adjustment_id, **kwargs):
        with lock:
            queued.append(adjustment_id)

    events.adjustment_due.connect(on_due, weak=False, dispatch_uid="tests.race.adjustments")
    try:

        def give_back(round_number: int):
            call = calls[round_number]
            try:
                return unconvert_call(
                    call_uuid=call.call_uuid,
                    conversion=Conversion.OFFER,
                    expected_version=None,
                    cause="race",
                    reason="twice",
                )[1]
            finally:
                connections.close_all()

        results = run_rounds(ROUNDS, [give_back, give_back, give_back])
    finally:
        events.adjustment_due.disconnect(dispatch_uid="tests.race.adjustments")

    assert not [r for round_ in results for r in round_ if isinstance(r, Exception)], results
    assert RingbaAdjustment.objects.count() == ROUNDS
    assert len(queued) == ROUNDS and len(set(queued)) == ROUNDS
    _settle_everything()
    assert len(ringba.api_hits()) == ROUNDS
    assert set(ringba.conversion_amounts.values()) == {0.0}
