"""Why, in one click: each delivery says what fired it and where its values came from."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from integrations.models import Call, PostbackDelivery
from integrations.outbound.tokens import FIELD_MAPPING, NUMBER_TOKEN, PIXEL, SYSTEM
from integrations.services.calls import CallUpdate, update_call
from integrations.services.firing import plan_test_fire
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def wired(ringba_setup, ringba_trigger):
    """The issue's case: the number's extra token beats the source's field mapping."""
    factories.MappingFactory(
        trigger=ringba_trigger, traffic_source=ringba_setup["source"], value="FROM-MAPPING"
    )
    factories.NumberTokenFactory(number=ringba_setup["number"], value="FROM-NUMBER")
    lead = factories.LeadFactory(
        offer=ringba_setup["offer"],
        traffic_source=ringba_setup["source"],
        ringba_call_uuid="RGB-WHY",
    )
    call = factories.CallFactory(number=ringba_setup["number"], lead=lead)
    return {**ringba_setup, "trigger": ringba_trigger, "call": call}


def _delivery(call) -> PostbackDelivery:
    return PostbackDelivery.objects.get(call=call, is_test=False)


def _tokens(delivery) -> dict:
    return {token["name"]: token for token in delivery.explanation["tokens"]}


def test_a_delivery_names_its_cause_conditions_and_token_sources(calls_client, wired):
    url = f"/api/v1/calls/update_call/{wired['call'].call_uuid}"
    calls_client.post(url, {"offer_converted": "true", "payout": "12.5"}, format="json")
    delivery = _delivery(wired["call"])
    explanation = delivery.explanation
    assert explanation["cause"].startswith("calls API (")
    assert all(rule["holds"] for rule in explanation["conditions"])
    assert {"rule": "ringba_call_uuid is populated", "value": "RGB-WHY", "holds": True} in (
        explanation["conditions"]
    )
    tokens = _tokens(delivery)
    webhook = tokens["ringba_webhook_token"]
    assert webhook["value"] == "FROM-NUMBER" and webhook["source"] == NUMBER_TOKEN
    assert webhook["overridden"] == [{"source": FIELD_MAPPING, "value": "FROM-MAPPING"}]
    assert tokens["ringba_call_uuid"]["source"] == PIXEL
    assert tokens["payout"] == {
        "name": "payout",
        "value": "12.50",
        "source": SYSTEM,
        "overridden": [],
    }


def test_the_admin_shows_it_in_one_click(admin_client, calls_client, wired):
    url = f"/api/v1/calls/update_call/{wired['call'].call_uuid}"
    calls_client.post(url, {"offer_converted": "true", "payout": "12.5"}, format="json")
    delivery = _delivery(wired["call"])
    page = admin_client.get(
        reverse("admin:integrations_postbackdelivery_change", args=[delivery.pk])
    ).text
    assert "the tracking number&#x27;s extra tokens" in page
    assert "FROM-MAPPING" in page  # the value it beat, and where that came from
    assert "the trigger&#x27;s custom field mapping for this traffic source" in page
    assert "✔ holds" in page and "calls API (" in page


def test_a_failing_condition_shows_the_value_it_saw(calls_client, wired):
    wired["call"].lead.ringba_call_uuid = None
    wired["call"].lead.tokens = {}
    wired["call"].lead.save()
    url = f"/api/v1/calls/update_call/{wired['call'].call_uuid}"
    calls_client.post(url, {"offer_converted": "true", "payout": "1"}, format="json")
    delivery = _delivery(wired["call"])
    assert delivery.status == "skipped"
    [rule] = [c for c in delivery.explanation["conditions"] if not c["holds"]]
    assert rule == {"rule": "ringba_call_uuid is populated", "value": "", "holds": False}


def test_the_duration_rule_is_named_as_the_cause(wired):
    offer = wired["offer"]
    offer.payout, offer.min_duration_seconds = Decimal("9.00"), 90
    offer.save()
    call = wired["call"]
    update_call(
        call_uuid=call.call_uuid,
        update=CallUpdate(ended_at=call.started_at + timedelta(seconds=120)),
        cause="calls API (dialer)",
    )
    call = Call.objects.get(pk=call.pk)
    assert call.offer_converted_by.startswith("the offer's duration rule: 120 s ≥ 90 s")
    assert "calls API (dialer)" in call.offer_converted_by
    assert _delivery(call).explanation["cause"] == call.offer_converted_by


def test_an_admin_conversion_names_the_person(admin_client, admin_user, wired):
    admin_client.post(
        reverse("admin:integrations_call_changelist"),
        {
            "action": "mark_converted",
            "_selected_action": [wired["call"].pk],
            f"version_{wired['call'].pk}": wired["call"].version,
            "kind": "offer",
            "amount": "7.25",
            "apply": "1",
        },
    )
    call = Call.objects.get(pk=wired["call"].pk)
    assert call.offer_converted_by == f"admin: Mark converted ({admin_user.username})"
    page = admin_client.get(reverse("admin:integrations_call_change", args=[call.pk])).text
    assert f"admin: Mark converted ({admin_user.username})" in page


def test_a_test_fire_says_the_call_id_was_replaced(wired):
    delivery = plan_test_fire(trigger=wired["trigger"], call=wired["call"], use_real_call_id=False)
    call_id = _tokens(delivery)["ringba_call_uuid"]
    assert call_id["source"] == "test fire" and call_id["value"].startswith("TEST-")
    assert call_id["overridden"] == [{"source": PIXEL, "value": "RGB-WHY"}]
