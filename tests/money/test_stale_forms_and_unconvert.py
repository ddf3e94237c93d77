"""People as actors: a form read before a conversion, and un-converting (SPEC §14).

Case 3: a form opened before the API converted the call, saved after the
postback was delivered, must not un-convert it or erase its payout. Case 4:
un-converting is a confirmed action that skips the conversion's postbacks not
sent yet, in the same transaction. Case 5: a re-conversion at another payout
after a delivered postback is shown as not what Ringba was paid.
"""

from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from integrations.models import Call, DeliveryStatus, PostbackDelivery
from integrations.services.calls import CallUpdate, update_call
from integrations.services.deliveries import attempt_delivery
from integrations.services.returns import Conversion, unconvert_call
from tests import factories
from tests.admin.forms import change_form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid_call(ringba_setup, ringba_trigger):
    factories.MappingFactory(
        trigger=ringba_trigger, traffic_source=ringba_setup["source"], value="HOOK"
    )
    lead = factories.LeadFactory(
        offer=ringba_setup["offer"], traffic_source=ringba_setup["source"], ringba_call_uuid="RGB-P"
    )
    return factories.CallFactory(number=ringba_setup["number"], lead=lead)


def _convert(call, payout="10.00"):
    return update_call(
        call_uuid=call.call_uuid,
        update=CallUpdate(offer_converted=True, payout=Decimal(payout)),
    )


def _deliver(call):
    """Record the call's conversion postback delivered and paid, as the worker would on a 200."""
    for delivery in PostbackDelivery.objects.filter(call=call, is_test=False):
        factories.record_paid(delivery)


def test_a_form_opened_before_the_conversion_cannot_unconvert_it(admin_client, paid_call):
    url = reverse("admin:integrations_call_change", args=[paid_call.pk])
    stale_form = change_form_data(admin_client.get(url), duration="95")  # read: not converted
    _convert(paid_call)  # the API converts meanwhile, and the postback is delivered
    _deliver(paid_call)

    response = admin_client.post(url, stale_form)

    assert response.status_code == 200
    assert "changed after you opened it" in response.content.decode()
    call = Call.objects.get(pk=paid_call.pk)
    assert call.offer_converted and call.payout == Decimal("10.00")
    assert call.duration is None  # nothing of the stale form was applied
    assert not LogEntry.objects.exists()


def test_the_service_refuses_a_stale_version_whoever_calls_it(paid_call):
    read_at = Call.objects.get(pk=paid_call.pk).version
    _convert(paid_call)
    from integrations.rules.errors import Rejected

    with pytest.raises(Rejected) as refused:
        update_call(
            call_uuid=paid_call.call_uuid, update=CallUpdate(duration=95), expected_version=read_at
        )
    assert "changed since you read it" in refused.value.errors[0]
    with pytest.raises(Rejected):
        unconvert_call(
            call_uuid=paid_call.call_uuid,
            conversion=Conversion.OFFER,
            expected_version=read_at,
            cause="test",
        )
    assert Call.objects.get(pk=paid_call.pk).offer_converted


def test_unconverting_asks_for_confirmation_and_a_reason(admin_client, paid_call):
    _convert(paid_call)
    changelist = reverse("admin:integrations_call_changelist")

    page = admin_client.post(
        changelist, {"action": "unconvert", "_selected_action": [paid_call.pk]}
    )

    assert page.status_code == 200
    assert "Un-convert" in page.content.decode() and "reason" in page.content.decode()
    assert Call.objects.get(pk=paid_call.pk).offer_converted


def test_unconverting_skips_the_queued_postback_in_the_same_transaction(
    admin_client, paid_call, queued_tasks
):
    _convert(paid_call)
    [delivery] = PostbackDelivery.objects.filter(call=paid_call)
    assert delivery.status == DeliveryStatus.PENDING
    version = Call.objects.get(pk=paid_call.pk).version

    response = admin_client.post(
        reverse("admin:integrations_call_changelist"),
        {
            "action": "unconvert",
            "_selected_action": [paid_call.pk],
            f"version_{paid_call.pk}": version,
            "conversion": "offer",
            "reason": "buyer disputed the sale",
            "apply": "1",
        },
    )

    assert response.status_code == 302
    call = Call.objects.get(pk=paid_call.pk)
    assert not call.offer_converted and call.payout is None
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SKIPPED
    assert "buyer disputed the sale" in delivery.skip_reason
    # The queued task, when it runs, finds nothing due: nothing is sent.
    assert attempt_delivery(delivery_id=delivery.pk) is None
    assert delivery.attempts.count() == 0
    [entry] = LogEntry.objects.all()
    assert "Un-converted the offer conversion (buyer disputed the sale)" in str(entry)


def test_a_stale_unconvert_confirmation_is_refused(admin_client, paid_call):
    _convert(paid_call)
    read_at = Call.objects.get(pk=paid_call.pk).version
    update_call(call_uuid=paid_call.call_uuid, update=CallUpdate(duration=200))  # meanwhile

    admin_client.post(
        reverse("admin:integrations_call_changelist"),
        {
            "action": "unconvert",
            "_selected_action": [paid_call.pk],
            f"version_{paid_call.pk}": read_at,
            "conversion": "offer",
            "reason": "mistake",
            "apply": "1",
        },
    )

    assert Call.objects.get(pk=paid_call.pk).offer_converted


def test_a_reconversion_after_a_delivered_postback_says_what_ringba_was_paid(
    calls_client, admin_client, paid_call
):
    _convert(paid_call, "10.00")
    _deliver(paid_call)
    call = Call.objects.get(pk=paid_call.pk)
    unconvert_call(
        call_uuid=call.call_uuid,
        conversion=Conversion.OFFER,
        expected_version=call.version,
        cause="test",
    )

    version = Call.objects.get(pk=call.pk).version  # converting a returned call again
    response = calls_client.post(
        f"/api/v1/calls/update_call/{call.call_uuid}",
        {"offer_converted": True, "payout": "50.00", "version": version},
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["payout"] == "50.00"
    paid = body["paid_postback"]
    assert paid["payout_sent"] == "10.00" and paid["matches_call"] is False
    assert "Ringba was paid 10.00" in paid["note"]
    [delivery] = PostbackDelivery.objects.filter(call=call, is_test=False)
    assert delivery.status == DeliveryStatus.DELIVERED  # nothing re-sent
    page = admin_client.get(reverse("admin:integrations_call_change", args=[call.pk]))
    assert "Ringba was paid 10.00" in page.content.decode()


def test_a_paid_call_whose_payout_stands_reports_a_match(calls_client, paid_call):
    _convert(paid_call, "10.00")
    _deliver(paid_call)
    body = calls_client.get(f"/api/v1/calls/{paid_call.call_uuid}").json()
    assert body["paid_postback"]["matches_call"] is True
    assert body["paid_postback"]["note"] == ""
