"""What Ringba was paid is a fact, and one gate decides at the send (issue 31, defects 1-2).

Defect 1: a conversion at 10.00 is at Ringba (the answer not recorded yet) when the
account manager un-converts and the calls API re-converts at 20.00. Ringba keeps
10.00. The payment is recorded from the attempt Ringba answered, although the
un-convert fenced that attempt off; the re-conversion does not re-plan the delivery
in place, and nothing more is sent: Ringba would answer 404 to it.

Defect 2: a conversion postback failed (Ringba down), then the call was
un-converted. Re-send, the "Re-send now" action and trigger health's recover each
made it due again and sent it, paying a call that is no longer converted. Every
door reaches the send through the gate, which checks the call under its lock.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations.models import DeliveryStatus, Payment, PostbackDelivery
from integrations.outbound import postbacks
from integrations.services import deliveries
from integrations.services.calls import CallUpdate, update_call
from integrations.services.rebuild import rebuild_delivery
from integrations.services.returns import Conversion, unconvert_call
from integrations.services.trigger_health import recover_failed
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def call(ringba, ringba_setup, ringba_trigger):
    factories.MappingFactory(
        trigger=ringba_trigger, traffic_source=ringba_setup["source"], value="HOOK"
    )
    lead = factories.LeadFactory(
        offer=ringba_setup["offer"], traffic_source=ringba_setup["source"], ringba_call_uuid="RGB-F"
    )
    return factories.CallFactory(number=ringba_setup["number"], lead=lead)


def _convert(call, payout: str):
    call.refresh_from_db()
    return update_call(
        call_uuid=call.call_uuid,
        update=CallUpdate(offer_converted=True, payout=Decimal(payout)),
        expected_version=call.version,  # as a person converting a returned call again does
    )


def _unconvert(call):
    call.refresh_from_db()
    return unconvert_call(
        call_uuid=call.call_uuid,
        conversion=Conversion.OFFER,
        expected_version=call.version,
        cause="account manager",
    )


def _send_everything_due(call) -> None:
    """Run the worker until the call has nothing due (bounded)."""
    for _ in range(5):
        due = PostbackDelivery.objects.filter(call=call, status__in=["pending", "retrying"])
        ids = list(due.values_list("pk", flat=True))
        if not ids:
            return
        PostbackDelivery.objects.filter(pk__in=ids).update(next_attempt_at=timezone.now())
        for delivery_id in ids:
            deliveries.attempt_delivery(delivery_id=delivery_id)


def _revenues(ringba) -> list[str]:
    return [hit.query.get("call_revenue") for hit in ringba.hits if hit.path.startswith("/hook/")]


def test_an_unconvert_while_the_postback_is_at_ringba_keeps_what_ringba_was_paid(
    ringba, call, calls_client, monkeypatch
):
    _convert(call, "10.00")
    real_send = postbacks.send

    def answered_then_unconverted(method, url, **kwargs):
        # Ringba has the request and answers 200; before the answer is recorded,
        # the account manager un-converts and the API re-converts at 20.00.
        outcome = real_send(method, url, **kwargs)
        monkeypatch.setattr(postbacks, "send", real_send)
        _unconvert(call)
        read = calls_client.get(f"/api/v1/calls/{call.call_uuid}").json()["version"]
        converted = calls_client.post(
            f"/api/v1/calls/{call.call_uuid}",
            {"offer_converted": "true", "payout": "20.00", "version": read},
        )
        assert converted.status_code == 200, converted.content
        return outcome

    monkeypatch.setattr(postbacks, "send", answered_then_unconverted)
    [delivery] = PostbackDelivery.objects.filter(call=call, is_test=False)
    deliveries.attempt_delivery(delivery_id=delivery.pk)
    _send_everything_due(call)

    assert _revenues(ringba) == ["10.00"]  # nothing after the payment
    payment = Payment.objects.get(call=call)
    assert payment.amount == Decimal("10.00") and payment.ringba_call_id == "RGB-F"
    assert "call_revenue=10.00" in payment.attempt.url
    paid = calls_client.get(f"/api/v1/calls/{call.call_uuid}").json()["paid_postback"]
    assert paid["payout_sent"] == "10.00" and paid["matches_call"] is False
    assert "Ringba was paid 10.00" in paid["note"]


def test_a_payment_is_not_rewritten_by_a_later_answer(ringba, call):
    _convert(call, "10.00")
    [delivery] = PostbackDelivery.objects.filter(call=call, is_test=False)
    deliveries.attempt_delivery(delivery_id=delivery.pk)
    first = Payment.objects.get(call=call)

    # A re-plan by hand (the old Rebuild, a migration): the payment stays as it was.
    PostbackDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.RETRYING,
        url=delivery.url.replace("10.00", "99.00"),
        next_attempt_at=timezone.now(),
    )
    deliveries.attempt_delivery(delivery_id=delivery.pk)

    assert _revenues(ringba) == ["10.00"]  # the gate saw the payment: nothing sent
    assert list(Payment.objects.filter(call=call)) == [first]
    assert Payment.objects.get(call=call).amount == Decimal("10.00")
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SKIPPED
    assert "already paid 10.00" in delivery.skip_reason


def _failed_then_unconverted(ringba, call):
    ringba.behaviour.status = 400  # refused: failed at once, no retry
    _convert(call, "10.00")
    [delivery] = PostbackDelivery.objects.filter(call=call, is_test=False)
    deliveries.attempt_delivery(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    ringba.behaviour.status = 200  # Ringba is back
    _unconvert(call)
    return delivery


def _resend(delivery, admin_client):
    deliveries.resend_delivery(delivery=delivery)


def _resend_now_action(delivery, admin_client):
    response = admin_client.post(
        reverse("admin:integrations_postbackdelivery_changelist"),
        {"action": "resend_now", "_selected_action": [delivery.pk]},
    )
    assert response.status_code == 302


def _recover(delivery, admin_client):
    recover_failed(delivery.trigger, since=timezone.now() - timedelta(days=1))


@pytest.mark.parametrize("door", [_resend, _resend_now_action, _recover])
def test_no_door_sends_the_postback_of_a_call_unconverted_after_it_failed(
    ringba, call, admin_client, door, django_capture_on_commit_callbacks
):
    delivery = _failed_then_unconverted(ringba, call)
    sent_before = len(ringba.hits)

    with django_capture_on_commit_callbacks(execute=True):
        door(delivery, admin_client)
    _send_everything_due(call)

    assert len(ringba.hits) == sent_before  # nothing reached Ringba
    assert not Payment.objects.filter(call=call).exists()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SKIPPED
    assert "no longer converted" in delivery.skip_reason


def test_a_reconversion_after_a_refused_postback_is_rebuilt_and_paid_once(
    ringba, call, django_capture_on_commit_callbacks
):
    """Nothing reached Ringba before the un-convert: Rebuild sends the new amount."""
    ringba.behaviour.status = 400
    _convert(call, "10.00")
    [delivery] = PostbackDelivery.objects.filter(call=call, is_test=False)
    deliveries.attempt_delivery(delivery_id=delivery.pk)
    ringba.behaviour.status = 200
    _unconvert(call)
    _convert(call, "20.00")
    with django_capture_on_commit_callbacks(execute=True):
        assert not rebuild_delivery(delivery_id=delivery.pk, cause="test").refused
    _send_everything_due(call)

    assert _revenues(ringba) == ["10.00", "20.00"]  # the refused one, then the payment
    assert Payment.objects.get(call=call).amount == Decimal("20.00")
