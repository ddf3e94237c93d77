"""Operators cannot double or erase postbacks, and one bad trigger blocks nothing (SPEC §6.5)."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import ProtectedError
from django.urls import reverse

from integrations.models import DeliveryStatus, EventTrigger, PostbackDelivery
from integrations.services.calls import CallUpdate, update_call
from integrations.services.triggers import create_trigger_from_template
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def call_with_lead(ringba_setup):
    lead = factories.LeadFactory(
        offer=ringba_setup["offer"], traffic_source=ringba_setup["source"], ringba_call_uuid="R7"
    )
    return factories.CallFactory(number=ringba_setup["number"], lead=lead)


def _convert(call):
    update_call(
        call_uuid=call.call_uuid, update=CallUpdate(offer_converted=True, payout=Decimal(3))
    )
    return list(PostbackDelivery.objects.filter(call=call).order_by("trigger_id"))


def test_two_triggers_rendering_the_same_postback_send_it_once(
    ringba_setup, ringba_trigger, call_with_lead
):
    twin = factories.TriggerFactory(url_template=ringba_trigger.url_template)
    for trigger in (ringba_trigger, twin):
        factories.MappingFactory(trigger=trigger, traffic_source=ringba_setup["source"], value="T")

    first, second = _convert(call_with_lead)

    assert first.status == DeliveryStatus.PENDING
    assert second.status == DeliveryStatus.SKIPPED
    assert second.skip_reason == f"same postback as trigger {ringba_trigger.pk}"


def test_the_database_refuses_a_second_delivery_of_the_same_request(call_with_lead, ringba_trigger):
    from django.db import IntegrityError, transaction

    twin = factories.TriggerFactory()
    fields = {"call": call_with_lead, "event": "call_offer_converted", "request_key": "k" * 64}
    PostbackDelivery.objects.create(trigger=ringba_trigger, **fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        PostbackDelivery.objects.create(trigger=twin, **fields)


def test_new_from_template_refuses_a_copy_the_global_trigger_already_covers(
    ringba_template, ringba_trigger, ringba_setup
):
    with pytest.raises(ValidationError) as refused:
        create_trigger_from_template(template=ringba_template, offer=ringba_setup["offer"])
    assert f"trigger {ringba_trigger.pk}, Global" in str(refused.value)
    assert EventTrigger.objects.count() == 1


def test_new_from_template_in_the_admin_says_which_trigger_covers_the_offer(
    admin_client, ringba_template, ringba_trigger, ringba_setup
):
    response = admin_client.post(
        reverse("admin:integrations_eventtrigger_new_from_template"),
        {"template": ringba_template.pk, "offer": ringba_setup["offer"].pk},
    )
    assert response.status_code == 200
    assert "already covers this offer" in response.content.decode()
    assert EventTrigger.objects.count() == 1


def test_offer_scoped_copies_are_named_for_their_offer(ringba_template, ringba_setup):
    trigger = create_trigger_from_template(template=ringba_template, offer=ringba_setup["offer"])
    assert trigger.name.endswith(f"— {ringba_setup['offer'].name}")


def test_a_trigger_with_deliveries_cannot_be_deleted(ringba_trigger, call_with_lead):
    PostbackDelivery.objects.create(trigger=ringba_trigger, call=call_with_lead, event="x")
    with pytest.raises(ProtectedError):
        ringba_trigger.delete()


def test_account_managers_cannot_delete_triggers_or_deliveries(db):
    manager = factories.account_manager()
    assert manager.has_perm("integrations.change_eventtrigger")
    assert not manager.has_perm("integrations.delete_eventtrigger")
    assert not manager.has_perm("integrations.delete_postbackdelivery")


def test_a_broken_trigger_is_skipped_with_its_error_while_another_fires(
    ringba_setup, ringba_trigger, call_with_lead
):
    factories.MappingFactory(
        trigger=ringba_trigger, traffic_source=ringba_setup["source"], value="T"
    )
    broken = factories.TriggerFactory(url_template="https://webhook.ringba.com/other")
    # Rules saved before validation existed: bypass save() as old data would.
    EventTrigger.objects.filter(pk=broken.pk).update(conditions=[{"token": "x"}])

    good, bad = _convert(call_with_lead)

    assert good.trigger_id == ringba_trigger.pk and good.status == DeliveryStatus.PENDING
    assert bad.status == DeliveryStatus.SKIPPED and bad.skip_reason.startswith("error: KeyError")
    call_with_lead.refresh_from_db()
    assert call_with_lead.offer_converted


def test_malformed_conditions_are_refused_on_every_save_path(db):
    trigger = factories.TriggerFactory()
    trigger.conditions = [{"token": "x", "operator": "~"}]
    with pytest.raises(ValidationError) as refused:
        trigger.save()
    assert "conditions" in refused.value.message_dict
