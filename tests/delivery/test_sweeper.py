"""The sweeper re-queues a due delivery only when its task is really gone (SPEC §7)."""

import pytest
from django.utils import timezone

from integrations.models import DeliveryStatus, PostbackDelivery
from integrations.services.deliveries import requeue_due_deliveries, resend_delivery

pytestmark = pytest.mark.django_db

DATABASE_QUEUE = {
    "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "postbacks"]}
}


def test_a_waiting_task_is_never_doubled_however_old(
    make_delivery, settings, django_assert_num_queries
):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = DATABASE_QUEUE
    delivery = make_delivery("https://webhook.ringba.com/hook/a")
    assert requeue_due_deliveries() == 1  # never queued: queued now
    delivery.refresh_from_db()
    [task] = DBTaskResult.objects.all()
    assert delivery.task_id == str(task.id)
    with django_assert_num_queries(1):  # handed over just now: not even the queue is asked
        assert requeue_due_deliveries() == 0

    PostbackDelivery.objects.filter(pk=delivery.pk).update(
        enqueued_at=timezone.now().replace(year=2000)
    )
    assert requeue_due_deliveries() == 0  # a backlog: the task still waits its turn
    assert DBTaskResult.objects.count() == 1

    task.delete()  # the queue lost it (restored backup, manual clean-up)
    assert requeue_due_deliveries() == 1
    assert DBTaskResult.objects.count() == 1


def test_resend_is_refused_while_a_delivery_is_retrying(make_delivery):
    delivery = make_delivery("https://webhook.ringba.com/hook/a")
    PostbackDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.RETRYING)
    assert resend_delivery(delivery=delivery) is False
    PostbackDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED)
    assert resend_delivery(delivery=delivery) is True


def test_an_attempt_put_back_because_its_host_is_full_is_queued_again_when_due(
    make_delivery, settings
):
    from datetime import timedelta

    from integrations.outbound.host_slots import HOST_SLOTS
    from integrations.outbound.postbacks import destination
    from integrations.services.deliveries import attempt_delivery

    settings.POSTBACK_PER_HOST_CONCURRENCY = 1
    url = "http://127.0.0.1:9/hook/a"  # loopback; never reached: its one slot is taken
    delivery = make_delivery(url)
    PostbackDelivery.objects.filter(pk=delivery.pk).update(enqueued_at=timezone.now())
    assert HOST_SLOTS.try_acquire(destination(url))  # another thread holds the only slot
    try:
        assert attempt_delivery(delivery_id=delivery.pk) is None
    finally:
        HOST_SLOTS.release(destination(url), failed=False)
    delivery.refresh_from_db()
    assert (delivery.attempt_count, delivery.status) == (0, DeliveryStatus.PENDING)
    assert requeue_due_deliveries() == 0  # put back for a moment: not due yet
    PostbackDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    assert requeue_due_deliveries() == 1  # its task ended without sending: queued again


def test_a_task_run_before_its_hand_over_is_noted_does_not_hide_the_row(make_delivery, settings):
    """The worker may run a task before ``enqueue_delivery`` notes it on the row."""
    from datetime import timedelta

    from integrations.outbound.host_slots import HOST_SLOTS
    from integrations.outbound.postbacks import destination
    from integrations.tasks import enqueue_delivery

    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
            "QUEUES": ["default", "postbacks"],
        }
    }
    settings.POSTBACK_PER_HOST_CONCURRENCY = 1
    url = "http://127.0.0.1:9/hook/a"  # loopback; never reached: its one slot is taken
    delivery = make_delivery(url)
    assert HOST_SLOTS.try_acquire(destination(url))
    try:
        assert enqueue_delivery(delivery.pk)  # runs at once: the host is full, put back
    finally:
        HOST_SLOTS.release(destination(url), failed=False)
    delivery.refresh_from_db()
    assert delivery.enqueued_at is None and delivery.attempt_count == 0
    PostbackDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    settings.TASKS = DATABASE_QUEUE
    assert requeue_due_deliveries() == 1
