"""The delivery row is the outbox: lost tasks are re-queued, nothing is sent twice."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations.models import DeliveryStatus, PostbackDelivery
from integrations.services.calls import CallUpdate, update_call
from integrations.services.deliveries import REQUEUE_AFTER, requeue_due_deliveries
from tests import factories

from .conftest import make_due

pytestmark = pytest.mark.django_db


def run_queued(queued_tasks) -> int:
    """Run what the dummy backend recorded, as a worker would; return how many ran."""
    ran = 0
    while queued_tasks:
        result = queued_tasks.pop(0)
        result.task.call(*result.args, **result.kwargs)
        ran += 1
    return ran


@pytest.fixture
def converted_call(receiver, ringba_setup, ringba_template, settings):
    from integrations.services.triggers import create_trigger_from_template

    settings.RINGBA_WEBHOOK_BASE_URL = receiver.base_url
    trigger = create_trigger_from_template(template=ringba_template)
    factories.MappingFactory(trigger=trigger, traffic_source=ringba_setup["source"], value="TOK")
    lead = factories.LeadFactory(
        offer=ringba_setup["offer"], traffic_source=ringba_setup["source"], ringba_call_uuid="RGB9"
    )
    call = factories.CallFactory(number=ringba_setup["number"], lead=lead)
    return call


def test_a_task_lost_after_commit_is_requeued_by_the_sweeper_and_delivered_once(
    receiver, converted_call, queued_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):  # the queue "loses" the task
        update_call(
            call_uuid=converted_call.call_uuid,
            update=CallUpdate(offer_converted=True, payout=Decimal("4")),
        )
    delivery = PostbackDelivery.objects.get(call=converted_call)
    assert queued_tasks == []
    assert requeue_due_deliveries() == 1  # never handed to the queue: queued at once
    assert requeue_due_deliveries() == 0  # handed over just now: the queue gets its chance

    PostbackDelivery.objects.filter(pk=delivery.pk).update(
        enqueued_at=timezone.now() - REQUEUE_AFTER - timedelta(seconds=1)
    )
    assert requeue_due_deliveries() == 1  # this queue cannot be asked: presumed lost
    queued_tasks.pop()
    assert run_queued(queued_tasks) == 1

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    [hit] = receiver.hits
    assert hit.path == "/hook/TOK" and hit.raw_query == (
        "call_id=RGB9&call_revenue=4.00&sale_successful=true"
    )
    PostbackDelivery.objects.filter(pk=delivery.pk).update(enqueued_at=None)
    assert requeue_due_deliveries() == 0  # delivered is never due


def test_a_worker_killed_mid_send_is_retried_after_its_lease(receiver, make_delivery, queued_tasks):
    delivery = make_delivery(f"{receiver.base_url}/hook/tok")
    # The claim happened (lease set, attempt counted) and then the worker died.
    PostbackDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1),
        attempt_count=1,
        enqueued_at=timezone.now() - timedelta(minutes=5),
    )
    assert requeue_due_deliveries() == 1
    run_queued(queued_tasks)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED and len(receiver.hits) == 1


def test_retries_are_queued_by_the_sweeper_when_due(receiver, make_delivery, queued_tasks):
    receiver.behaviour.statuses = [503]
    delivery = make_delivery(f"{receiver.base_url}/hook/tok")
    from integrations.services.deliveries import attempt_delivery

    attempt_delivery(delivery_id=delivery.pk)
    assert requeue_due_deliveries() == 0  # retry not due yet
    make_due(delivery)
    assert requeue_due_deliveries() == 1
    run_queued(queued_tasks)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempt_count == 2


def test_admin_resend_makes_a_new_manual_attempt_on_the_same_delivery(
    admin_client, receiver, make_delivery, queued_tasks, django_capture_on_commit_callbacks
):
    from integrations.services.deliveries import attempt_delivery

    receiver.behaviour.statuses = [404]
    delivery = make_delivery(f"{receiver.base_url}/hook/tok")
    attempt_delivery(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:integrations_postbackdelivery_changelist"),
            {"action": "resend_now", "_selected_action": [delivery.pk]},
        )
    assert response.status_code == 302
    run_queued(queued_tasks)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert [(a.status_code, a.manual) for a in delivery.attempts.all()] == [
        (404, False),
        (200, True),
    ]
    assert PostbackDelivery.objects.count() == 1


def test_admin_resend_leaves_delivered_ones_alone(admin_client, receiver, make_delivery):
    from integrations.services.deliveries import attempt_delivery

    delivery = make_delivery(f"{receiver.base_url}/hook/tok")
    attempt_delivery(delivery_id=delivery.pk)
    admin_client.post(
        reverse("admin:integrations_postbackdelivery_changelist"),
        {"action": "resend_now", "_selected_action": [delivery.pk]},
    )
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempt_count == 1


def _test_fire(admin_client, trigger, call, **extra):
    return admin_client.post(
        reverse("admin:integrations_eventtrigger_changelist"),
        {
            "action": "test_fire",
            "_selected_action": [trigger.pk],
            "call_uuid": call.call_uuid,
            "apply": "1",
            **extra,
        },
        follow=True,
    )


def test_admin_test_fire_is_queued_with_a_fake_call_id_and_is_not_the_real_delivery(
    admin_client, receiver, converted_call, queued_tasks, django_capture_on_commit_callbacks
):
    update_call(
        call_uuid=converted_call.call_uuid,
        update=CallUpdate(offer_converted=True, payout=Decimal("2")),
    )
    real = PostbackDelivery.objects.get(is_test=False)
    queued_tasks.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = _test_fire(admin_client, real.trigger, converted_call)

    messages = [str(m) for m in response.context["messages"]]
    assert any("Test of" in m and "queued" in m for m in messages), messages
    assert receiver.hits == []  # the admin answered without waiting for the partner
    assert run_queued(queued_tasks) == 1
    test = PostbackDelivery.objects.get(is_test=True)
    assert test.status == DeliveryStatus.DELIVERED and test.attempts.get().manual
    assert test.url.startswith(f"{receiver.base_url}/hook/TOK?call_id=TEST-")
    assert test.url.endswith("&call_revenue=2.00&sale_successful=true")
    [hit] = receiver.hits
    assert hit.query["call_id"].startswith("TEST-")
    real.refresh_from_db()
    assert real.status == DeliveryStatus.PENDING and real.attempt_count == 0


def test_admin_test_fire_sends_the_real_call_id_only_when_asked(
    admin_client, receiver, converted_call, queued_tasks, django_capture_on_commit_callbacks
):
    update_call(
        call_uuid=converted_call.call_uuid,
        update=CallUpdate(offer_converted=True, payout=Decimal("2")),
    )
    trigger = PostbackDelivery.objects.get(is_test=False).trigger
    with django_capture_on_commit_callbacks(execute=True):
        _test_fire(admin_client, trigger, converted_call, use_real_call_id="on")
    test = PostbackDelivery.objects.get(is_test=True)
    assert test.url.endswith("/hook/TOK?call_id=RGB9&call_revenue=2.00&sale_successful=true")


def test_test_fire_skips_when_a_token_is_missing(admin_client, receiver, converted_call):
    trigger = PostbackDelivery._meta.get_field("trigger").related_model.objects.get()
    _test_fire(admin_client, trigger, converted_call)  # not converted: no payout yet
    test = PostbackDelivery.objects.get(is_test=True)
    assert test.status == DeliveryStatus.SKIPPED
    assert test.skip_reason == "missing token: payout"
    assert receiver.hits == []


def test_test_fire_reports_conditions_it_ignored(admin_client, receiver, converted_call):
    update_call(
        call_uuid=converted_call.call_uuid,
        update=CallUpdate(offer_converted=True, payout=Decimal("2")),
    )
    trigger = PostbackDelivery.objects.get().trigger
    trigger.conditions = [{"token": "first_name", "operator": "=", "value": "Zed"}]
    trigger.save()
    _test_fire(admin_client, trigger, converted_call)
    test = PostbackDelivery.objects.get(is_test=True)
    assert test.status == DeliveryStatus.PENDING
    assert test.skip_reason == "test ignored the condition not met: first_name = Zed (value: '')"


def test_trigger_admin_refuses_a_host_off_the_allow_list_at_save(admin_client):
    response = admin_client.post(
        reverse("admin:integrations_eventtrigger_add"),
        {
            "name": "Bad",
            "active": "on",
            "event": "call_offer_converted",
            "http_method": "GET",
            "url_template": "http://169.254.169.254/latest/meta-data?x=[call_uuid]",
            "conditions": "[]",
            "mappings-TOTAL_FORMS": "0",
            "mappings-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert b"169.254.169.254 is not an allowed postback host" in response.content
