"""The Ringba template works with no edits: each token source, each skip reason."""

from decimal import Decimal

import pytest

from integrations.models import DeliveryStatus, PostbackDelivery
from integrations.services.calls import CallUpdate, update_call
from tests import factories

pytestmark = pytest.mark.django_db


def _converted_call(ringba_setup, *, lead_tokens=None, payout="12.5"):
    lead = None
    if lead_tokens is not None:
        lead = factories.LeadFactory(
            offer=ringba_setup["offer"],
            traffic_source=ringba_setup["source"],
            ringba_call_uuid=lead_tokens.get("ringba_call_uuid"),
            tokens=lead_tokens,
        )
    call = factories.CallFactory(number=ringba_setup["number"], lead=lead)
    update_call(
        call_uuid=call.call_uuid, update=CallUpdate(offer_converted=True, payout=Decimal(payout))
    )
    return call


def test_token_from_the_traffic_source_mapping(
    ringba_setup, ringba_trigger, queued_tasks, django_capture_on_commit_callbacks
):
    factories.MappingFactory(
        trigger=ringba_trigger, traffic_source=ringba_setup["source"], value="MAPTOKEN"
    )
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        call = _converted_call(ringba_setup, lead_tokens={"ringba_call_uuid": "RGB-42"})
        assert queued_tasks == []  # nothing is queued before commit
    assert len(callbacks) == 1

    delivery = PostbackDelivery.objects.get(call=call)
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.url == (
        "https://webhook.ringba.com/hook/MAPTOKEN?call_id=RGB-42"
        "&call_revenue=12.50&sale_successful=true"
    )
    assert delivery.http_method == "GET"
    assert delivery.event == "call_offer_converted"
    assert [task.args[0] for task in queued_tasks] == [delivery.pk]


def test_number_extra_token_overrides_the_mapping(ringba_setup, ringba_trigger):
    factories.MappingFactory(
        trigger=ringba_trigger, traffic_source=ringba_setup["source"], value="MAPTOKEN"
    )
    factories.NumberTokenFactory(number=ringba_setup["number"], value="NUMTOKEN")
    call = _converted_call(ringba_setup, lead_tokens={"ringba_call_uuid": "RGB-43"})
    assert PostbackDelivery.objects.get(call=call).url.startswith(
        "https://webhook.ringba.com/hook/NUMTOKEN?call_id=RGB-43&"
    )


def test_skipped_with_reason_when_no_webhook_token_resolves(
    ringba_setup, ringba_trigger, queued_tasks
):
    call = _converted_call(ringba_setup, lead_tokens={"ringba_call_uuid": "RGB-44"})
    delivery = PostbackDelivery.objects.get(call=call)
    assert delivery.status == DeliveryStatus.SKIPPED
    assert delivery.skip_reason == "missing token: ringba_webhook_token"
    assert queued_tasks == []


def test_skipped_with_reason_when_ringba_call_uuid_is_empty(ringba_setup, ringba_trigger):
    factories.NumberTokenFactory(number=ringba_setup["number"], value="NUMTOKEN")
    call = _converted_call(ringba_setup)  # no lead, so no ringba_call_uuid
    delivery = PostbackDelivery.objects.get(call=call)
    assert delivery.status == DeliveryStatus.SKIPPED
    assert delivery.skip_reason == "condition not met: ringba_call_uuid is populated (value: '')"


def test_a_pixel_cannot_supply_the_webhook_token_or_the_payout(
    base_pixel, client, ringba_setup, ringba_trigger
):
    from tests.api.pixels import post_json

    call = factories.CallFactory(number=ringba_setup["number"], caller_id="+13125550101")
    post_json(
        client,
        {
            **base_pixel,
            "caller_id": "+13125550101",
            "ringba_call_uuid": "RGB-45",
            "ringba_webhook_token": "attacker",
            "payout": "999",
        },
    )
    update_call(
        call_uuid=call.call_uuid, update=CallUpdate(offer_converted=True, payout=Decimal("3"))
    )
    delivery = PostbackDelivery.objects.get(call=call)
    assert delivery.status == DeliveryStatus.SKIPPED
    assert delivery.skip_reason == "missing token: ringba_webhook_token"
    assert "attacker" not in delivery.url and "999" not in delivery.url


def test_other_offers_triggers_do_not_fire(ringba_setup, ringba_trigger):
    ringba_trigger.offer = factories.OfferFactory()
    ringba_trigger.save()
    call = _converted_call(ringba_setup, lead_tokens={"ringba_call_uuid": "RGB-46"})
    assert not PostbackDelivery.objects.filter(call=call).exists()


def test_inactive_triggers_do_not_fire(ringba_setup, ringba_trigger):
    ringba_trigger.active = False
    ringba_trigger.save()
    call = _converted_call(ringba_setup, lead_tokens={"ringba_call_uuid": "RGB-47"})
    assert not PostbackDelivery.objects.filter(call=call).exists()
