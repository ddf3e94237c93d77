"""Events fire once per real transition, from every door, and only after commit."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from integrations.models import Call, DeliveryStatus, Event, PostbackDelivery
from integrations.services.calls import CallUpdate, record_call, update_call
from tests import factories
from tests.admin.forms import change_form_data
from tests.api.pixels import post_json

pytestmark = pytest.mark.django_db


@pytest.fixture
def wired(ringba_setup, ringba_trigger):
    """A Ringba trigger with a mapping, and a call with a lead carrying ringba_call_uuid."""
    factories.MappingFactory(
        trigger=ringba_trigger, traffic_source=ringba_setup["source"], value="TOKEN"
    )
    lead = factories.LeadFactory(
        offer=ringba_setup["offer"],
        traffic_source=ringba_setup["source"],
        ringba_call_uuid="RGB-F1",
    )
    call = factories.CallFactory(number=ringba_setup["number"], lead=lead)
    return {**ringba_setup, "trigger": ringba_trigger, "call": call}


def _deliveries(call):
    return list(PostbackDelivery.objects.filter(call=call, is_test=False))


def test_api_conversion_fires_once_and_a_second_fires_nothing(
    calls_client, wired, emitted, django_capture_on_commit_callbacks
):
    url = f"/api/v1/calls/update_call/{wired['call'].call_uuid}"
    with django_capture_on_commit_callbacks(execute=True):
        first = calls_client.post(url, {"offer_converted": "true", "payout": "12.5"}, format="json")
        second = calls_client.post(url, {"offer_converted": "yes", "payout": "99"}, format="json")
    assert first.status_code == second.status_code == 200
    assert emitted.conversions(wired["call"]) == 1 and len(emitted.due) == 1
    [delivery] = _deliveries(wired["call"])
    assert delivery.url.endswith("call_id=RGB-F1&call_revenue=12.50&sale_successful=true")
    call = Call.objects.get(pk=wired["call"].pk)
    assert call.payout == Decimal("12.50")  # write-once: the second payout changed nothing


def test_admin_action_conversion_fires_once(
    admin_client, wired, emitted, django_capture_on_commit_callbacks
):
    url = reverse("admin:integrations_call_changelist")
    payload = {
        "action": "mark_converted",
        "_selected_action": [wired["call"].pk],
        f"version_{wired['call'].pk}": wired["call"].version,
        "kind": "offer",
        "amount": "7.25",
        "apply": "1",
    }
    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client.post(url, payload).status_code == 302
        assert admin_client.post(url, payload).status_code == 302
    assert emitted.conversions(wired["call"]) == 1 and len(emitted.due) == 1
    [delivery] = _deliveries(wired["call"])
    assert "call_revenue=7.25" in delivery.url


def test_admin_actions_that_move_money_leave_a_record(admin_client, wired):
    from django.contrib.admin.models import LogEntry

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
    admin_client.post(
        reverse("admin:integrations_offer_changelist"),
        {"action": "rotate_lead_tokens", "_selected_action": [wired["offer"].pk], "confirm": "yes"},
    )
    messages = sorted(entry.get_change_message() for entry in LogEntry.objects.all())
    assert messages == [
        "Lead token rotated (old token and links revoked)",
        "Marked offer-converted by hand (7.25)",
    ]


def test_a_converted_calls_payout_is_shown_not_offered(admin_client, wired):
    """Editing it used to say "changed successfully" and keep the old amount."""
    call = wired["call"]
    update_call(call_uuid=call.call_uuid, update=CallUpdate(offer_converted=True, payout=5))
    url = reverse("admin:integrations_call_change", args=[call.pk])
    response = admin_client.get(url)
    page = response.content.decode()
    assert 'name="payout"' not in page and 'name="revenue"' in page
    assert "payout and revenue are fixed" in page
    form = change_form_data(response, payout="7.00")
    assert admin_client.post(url, form).status_code == 302
    call.refresh_from_db()
    assert call.payout == Decimal("5.00")
    assert len(_deliveries(call)) == 1


def test_admin_action_asks_for_the_amount_first(admin_client, wired):
    response = admin_client.post(
        reverse("admin:integrations_call_changelist"),
        {"action": "mark_converted", "_selected_action": [wired["call"].pk]},
    )
    assert response.status_code == 200
    assert b"Mark converted" in response.content
    assert _deliveries(wired["call"]) == []


def test_admin_form_conversion_fires_once(
    admin_client, wired, emitted, django_capture_on_commit_callbacks
):
    call = wired["call"]
    url = reverse("admin:integrations_call_change", args=[call.pk])
    form = change_form_data(admin_client.get(url), offer_converted="on", payout="5.00")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, form)
        assert response.status_code == 302, response.content[:2000]
        # The same form posted again was read before the conversion: refused, fires nothing.
        assert admin_client.post(url, form).status_code == 200
    assert emitted.conversions(call) == 1 and len(emitted.due) == 1
    [delivery] = _deliveries(call)
    assert "call_revenue=5.00" in delivery.url


def test_an_unticked_box_on_the_form_never_unconverts(admin_client, wired):
    call = wired["call"]
    update_call(
        call_uuid=call.call_uuid, update=CallUpdate(offer_converted=True, payout=Decimal(1))
    )
    url = reverse("admin:integrations_call_change", args=[call.pk])
    form = change_form_data(admin_client.get(url), duration="30")
    form.pop("offer_converted", None)  # what a browser posts for an unticked box
    assert admin_client.post(url, form).status_code == 302
    call.refresh_from_db()
    assert call.offer_converted is True and call.payout == Decimal("1.00")
    assert call.duration == 30


def test_api_refuses_to_unconvert(calls_client, wired):
    call = wired["call"]
    update_call(
        call_uuid=call.call_uuid, update=CallUpdate(offer_converted=True, payout=Decimal(1))
    )
    response = calls_client.post(
        f"/api/v1/calls/update_call/{call.call_uuid}", {"offer_converted": "false"}, format="json"
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        "offer_converted: false alone changes nothing; to return the call send "
        "offer_converted=false with return_reason (the offer side), or un-convert it "
        "from the admin"
    ]


def test_duration_rule_converts_when_the_call_ends_long_enough(calls_client, wired):
    call = wired["call"]  # the offer pays 12.50 from 90 s
    response = calls_client.post(
        f"/api/v1/calls/update_call/{call.call_uuid}", {"duration": 90}, format="json"
    )
    assert response.json()["offer_converted"] is True
    assert response.json()["payout"] == "12.50"
    [delivery] = _deliveries(call)
    assert "call_revenue=12.50" in delivery.url


def test_duration_rule_does_not_convert_a_short_call(calls_client, wired):
    call = wired["call"]
    calls_client.post(
        f"/api/v1/calls/update_call/{call.call_uuid}", {"duration": 89}, format="json"
    )
    call.refresh_from_db()
    assert call.offer_converted is False and call.duration == 89
    assert _deliveries(call) == []


def test_admin_end_action_applies_the_duration_rule(admin_client, wired):
    from datetime import timedelta

    call = wired["call"]
    Call.objects.filter(pk=call.pk).update(started_at=call.started_at - timedelta(minutes=5))
    admin_client.post(
        reverse("admin:integrations_call_changelist"),
        {"action": "end_now", "_selected_action": [call.pk]},
    )
    call.refresh_from_db()
    assert call.duration >= 300 and call.offer_converted
    assert len(_deliveries(call)) == 1


def test_a_rolled_back_conversion_fires_nothing(
    wired, queued_tasks, django_capture_on_commit_callbacks
):
    call = wired["call"]
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        update_call(
            call_uuid=call.call_uuid, update=CallUpdate(offer_converted=True, payout=Decimal(1))
        )
        raise RuntimeError("something after the conversion failed")
    assert callbacks == [] and queued_tasks == []
    assert _deliveries(call) == []
    call.refresh_from_db()
    assert call.offer_converted is False


def test_the_database_allows_one_delivery_per_trigger_call_and_event(wired):
    call, trigger = wired["call"], wired["trigger"]
    PostbackDelivery.objects.create(trigger=trigger, call=call, event=trigger.event)
    with pytest.raises(IntegrityError), transaction.atomic():
        PostbackDelivery.objects.create(trigger=trigger, call=call, event=trigger.event)
    PostbackDelivery.objects.create(
        trigger=trigger, call=call, event=trigger.event, is_test=True
    )  # tests are not the real delivery


def test_late_pixel_re_evaluates_a_skipped_conversion_once(
    base_pixel, client, ringba_setup, ringba_trigger, emitted, django_capture_on_commit_callbacks
):
    factories.MappingFactory(
        trigger=ringba_trigger, traffic_source=ringba_setup["source"], value="TOKEN"
    )
    call, _ = record_call(number=ringba_setup["number"].number, caller_id="3125550123")
    update_call(
        call_uuid=call.call_uuid, update=CallUpdate(offer_converted=True, payout=Decimal("9"))
    )
    [skipped] = _deliveries(call)
    assert skipped.status == DeliveryStatus.SKIPPED

    body = {
        **base_pixel,
        "caller_id": "+13125550123",
        "ringba_call_uuid": "RGB-LATE",
    }
    with django_capture_on_commit_callbacks(execute=True):
        assert post_json(client, body).json()["lead"]["call_uuid"] == call.call_uuid
        post_json(client, body)  # a repeat of the pixel changes nothing more
    assert len(emitted.due) == 1  # the re-planned postback, handed to the queue once

    [delivery] = _deliveries(call)
    assert delivery.pk == skipped.pk
    assert delivery.status == DeliveryStatus.PENDING and delivery.skip_reason == ""
    assert delivery.url.endswith("call_id=RGB-LATE&call_revenue=9.00&sale_successful=true")


def test_call_started_and_ended_triggers_fire(ringba_setup):
    started = factories.TriggerFactory(
        event=Event.CALL_STARTED,
        conditions=[],
        url_template="https://webhook.ringba.com/s/[call_uuid]",
    )
    ended = factories.TriggerFactory(
        event=Event.CALL_ENDED,
        conditions=[],
        url_template="https://webhook.ringba.com/e/[duration]",
    )
    call, _ = record_call(number=ringba_setup["number"].number, caller_id="3125550123")
    update_call(call_uuid=call.call_uuid, update=CallUpdate(duration=30))
    update_call(call_uuid=call.call_uuid, update=CallUpdate(duration=60))  # already ended
    urls = {d.trigger_id: d.url for d in _deliveries(call)}
    assert urls == {
        started.pk: f"https://webhook.ringba.com/s/{call.call_uuid}",
        ended.pk: "https://webhook.ringba.com/e/30",
    }


def test_lead_captured_triggers_fire_for_new_leads(base_pixel, client, ringba_setup):
    trigger = factories.TriggerFactory(
        event=Event.LEAD_CAPTURED,
        conditions=[],
        url_template="https://webhook.ringba.com/lead?caller=[caller_id]&name=[first_name]{none}",
    )
    body = {
        **base_pixel,
        "caller_id": "+13125550123",
        "ringba_call_uuid": "RGB-LC",
        "first_name": "Jo",
    }
    post_json(client, body)
    post_json(client, body)  # duplicate: no second event
    [delivery] = PostbackDelivery.objects.filter(trigger=trigger)
    assert delivery.url == "https://webhook.ringba.com/lead?caller=%2B13125550123&name=Jo"
