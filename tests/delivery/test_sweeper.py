"""The sweeper re-queues a due delivery only when its task is really gone (SPEC §7)."""

import pytest
from django.utils import timezone

from integrations.models import DeliveryStatus, PostbackDelivery
from integrations.services.deliveries import requeue_due_deliveries, resend_delivery

pytestmark = pytest.mark.django_db

DATABASE_QUEUE = {
    "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "postbacks"]}
}


def test_a_waiting_task_is_never_doubled_however_old(make_delivery, settings):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = DATABASE_QUEUE
    delivery = make_delivery("https://webhook.ringba.com/hook/a")
    assert requeue_due_deliveries() == 1  # never queued: queued now
    delivery.refresh_from_db()
    [task] = DBTaskResult.objects.all()
    assert delivery.task_id == str(task.id)

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
