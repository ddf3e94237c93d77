"""Trigger health: one alert per failing streak, a pause after days, nothing lost (issue 15)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from integrations.models import (
    DeliveryStatus,
    DestinationHealth,
    EventTrigger,
    PostbackDelivery,
)
from integrations.services import trigger_health
from integrations.services.deliveries import attempt_delivery, requeue_due_deliveries
from tests import factories

from .conftest import make_due

pytestmark = pytest.mark.django_db


@pytest.fixture
def health(settings):
    settings.TRIGGER_ALERT_AFTER_FAILURES = 3
    settings.TRIGGER_PAUSE_AFTER_DAYS = 5
    factories.account_manager(email="maria@example.com")
    factories.account_manager(email="")  # nobody to write to: skipped, not an error


def _trigger_alerts():
    return [message for message in mail.outbox if message.subject.startswith("Postbacks failing:")]


def _fail(delivery, times: int):
    for _ in range(times):
        make_due(delivery)
        attempt_delivery(delivery_id=delivery.pk)
        delivery.refresh_from_db()


def test_the_alert_is_sent_once_per_failing_streak(receiver, make_delivery, health):
    receiver.behaviour.status = 500
    delivery = make_delivery(f"{receiver.base_url}/hook/tok")
    _fail(delivery, 2)
    assert trigger_health.check() == {"alerted": 0, "paused": 0}
    _fail(delivery, 1)
    assert trigger_health.check()["alerted"] == 2  # the trigger, and its host
    [alert] = _trigger_alerts()
    assert alert.to == ["maria@example.com"] and delivery.trigger.name in alert.subject
    assert "HTTP 500" in alert.body and "status__exact=failed" in alert.body
    _fail(delivery, 3)  # still the same streak: no second email
    trigger_health.check()
    assert len(_trigger_alerts()) == 1
    receiver.behaviour.status = 200  # a success ends the streak and re-arms the alert
    _fail(delivery, 1)
    assert delivery.status == DeliveryStatus.DELIVERED
    trigger = EventTrigger.objects.get(pk=delivery.trigger_id)
    assert trigger.consecutive_failures == 0 and trigger.alerted_at is None
    receiver.behaviour.status = 500
    again = PostbackDelivery.objects.create(
        trigger=trigger,
        call=factories.ConvertedCallFactory(),
        event=trigger.event,
        url=delivery.url,
    )
    _fail(again, 3)
    trigger_health.check()
    assert len(_trigger_alerts()) == 2


def test_a_trigger_failing_for_days_is_paused_and_its_deliveries_wait(
    receiver, make_delivery, health
):
    receiver.behaviour.status = 500
    delivery = make_delivery(f"{receiver.base_url}/hook/tok")
    _fail(delivery, 1)
    trigger = delivery.trigger
    EventTrigger.objects.filter(pk=trigger.pk).update(
        failing_since=timezone.now() - timedelta(days=5, minutes=1)
    )
    assert trigger_health.check()["paused"] == 1
    trigger.refresh_from_db()
    assert trigger.paused_at and "no postback succeeded since" in trigger.pause_reason
    assert any("paused" in message.subject.lower() for message in mail.outbox)

    receiver.behaviour.status = 200
    hits = len(receiver.hits)
    make_due(delivery)
    assert attempt_delivery(delivery_id=delivery.pk) is None  # not claimed, not sent
    assert requeue_due_deliveries() == 0  # and the sweeper leaves it waiting
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.RETRYING and len(receiver.hits) == hits

    assert trigger_health.resume(trigger)
    assert requeue_due_deliveries() == 1
    attempt_delivery(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED and len(receiver.hits) == hits + 1


def test_a_short_streak_is_not_paused(receiver, make_delivery, health):
    receiver.behaviour.status = 500
    delivery = make_delivery(f"{receiver.base_url}/hook/tok")
    _fail(delivery, 1)
    EventTrigger.objects.filter(pk=delivery.trigger_id).update(
        failing_since=timezone.now() - timedelta(days=4, hours=23)
    )
    assert trigger_health.check()["paused"] == 0


def test_recover_resends_only_the_chosen_period(make_delivery, health):
    recent = make_delivery("http://127.0.0.1:9/hook/tok")
    trigger = recent.trigger
    old = PostbackDelivery.objects.create(
        trigger=trigger, call=factories.ConvertedCallFactory(), event=trigger.event, url=recent.url
    )
    delivered = PostbackDelivery.objects.create(
        trigger=trigger, call=factories.ConvertedCallFactory(), event=trigger.event, url=recent.url
    )
    PostbackDelivery.objects.filter(pk__in=[recent.pk, old.pk]).update(status=DeliveryStatus.FAILED)
    PostbackDelivery.objects.filter(pk=delivered.pk).update(status=DeliveryStatus.DELIVERED)
    PostbackDelivery.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=10)
    )
    since = timezone.now() - timedelta(days=3)
    assert trigger_health.recover_failed(trigger, since=since) == 1
    states = dict(PostbackDelivery.objects.values_list("pk", "status"))
    assert states[recent.pk] == DeliveryStatus.RETRYING
    assert states[old.pk] == DeliveryStatus.FAILED
    assert states[delivered.pk] == DeliveryStatus.DELIVERED


def test_the_admin_banner_names_the_trigger_its_error_and_the_failing_deliveries(
    admin_client, make_delivery, health
):
    delivery = make_delivery("http://127.0.0.1:9/hook/tok")
    EventTrigger.objects.filter(pk=delivery.trigger_id).update(
        consecutive_failures=4, last_error="HTTP 503 from 127.0.0.1"
    )
    page = admin_client.get(reverse("admin:integrations_call_changelist")).text
    assert "Failing 4 times in a row" in page and "HTTP 503 from 127.0.0.1" in page
    assert f"trigger__id__exact={delivery.trigger_id}&amp;status__exact=failed" in page


def test_resume_and_recover_from_the_admin(admin_client, make_delivery, health):
    delivery = make_delivery("http://127.0.0.1:9/hook/tok")
    trigger = delivery.trigger
    EventTrigger.objects.filter(pk=trigger.pk).update(
        paused_at=timezone.now(), pause_reason="Paused automatically: test"
    )
    PostbackDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED)
    changelist = reverse("admin:integrations_eventtrigger_changelist")
    admin_client.post(changelist, {"action": "resume_triggers", "_selected_action": [trigger.pk]})
    trigger.refresh_from_db()
    assert trigger.paused_at is None
    since = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
    admin_client.post(
        changelist,
        {
            "action": "recover_failed_deliveries",
            "_selected_action": [trigger.pk],
            "since": since,
            "apply": "1",
        },
    )
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.RETRYING


def test_a_failing_destination_host_is_tracked_and_alerted_once(
    receiver, make_delivery, health, admin_client
):
    receiver.behaviour.status = 500
    first = make_delivery(f"{receiver.base_url}/hook/a")
    second = make_delivery(f"{receiver.base_url}/hook/b")  # another trigger, same host
    _fail(first, 2)
    _fail(second, 1)
    [host] = DestinationHealth.objects.all()
    assert host.host.startswith("127.0.0.1:") and host.consecutive_failures == 3
    trigger_health.check()
    trigger_health.check()
    assert [m.subject for m in mail.outbox] == [f"Postbacks failing at {host.host}"]
    page = admin_client.get(reverse("admin:integrations_call_changelist")).text
    assert f"Postbacks to <code>{host.host}</code> failing 3 times in a row" in page
    receiver.behaviour.status = 200
    _fail(second, 1)  # a success for the host ends its streak
    host.refresh_from_db()
    assert host.consecutive_failures == 0 and host.alerted_at is None
