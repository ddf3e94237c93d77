"""Background tasks (Django's Tasks API) and the subscriber that queues them.

Tasks take ids and call one service. Services never import this module: they
announce ``events.delivery_due`` after commit, and ``queue_due_delivery`` below
turns that into a queued task.
"""

import logging

from django.dispatch import receiver
from django.utils import timezone
from django_tasks import task
from django_tasks.signals import task_enqueued
from django_tasks_db.backend import DatabaseBackend

from .infra import events
from .models import DUE_STATUSES, PostbackDelivery
from .services.adjustments import attempt_adjustment
from .services.deliveries import attempt_delivery
from .worker import wakeup

logger = logging.getLogger(__name__)


@task(queue_name="postbacks")
def deliver_postback(delivery_id: int, manual: bool = False) -> str | None:
    """Make the due attempt of one delivery; return its status afterwards."""
    delivery = attempt_delivery(delivery_id=delivery_id, manual=manual)
    return delivery.status if delivery else None


def enqueue_delivery(delivery_id: int, *, manual: bool = False) -> bool:
    """Queue a delivery attempt and note the task on the row; False if the queue refused.

    A refused enqueue loses nothing: the delivery row stays due and the sweeper
    queues it again (see ``services.deliveries.requeue_due_deliveries``).
    """
    try:
        result = deliver_postback.enqueue(delivery_id, manual)
    except Exception:  # the queue's failure must not undo the committed event
        logger.exception("could not queue delivery %s; the sweeper will retry", delivery_id)
        return False
    # Noted only while the row still waits for this task: a worker may already have
    # run it and put the delivery back for later (or sent it), and a recent
    # hand-over noted after that would keep the sweeper away from a row that no
    # longer has a task.
    now = timezone.now()
    PostbackDelivery.objects.filter(
        pk=delivery_id, status__in=DUE_STATUSES, next_attempt_at__lte=now
    ).update(task_id=str(result.id)[:64], enqueued_at=now)
    return True


@receiver(events.delivery_due, dispatch_uid="integrations.queue_due_delivery")
def queue_due_delivery(sender, *, delivery_id: int, manual: bool = False, **kwargs):
    enqueue_delivery(delivery_id, manual=manual)


@task(queue_name="postbacks")
def send_ringba_adjustment(adjustment_id: int) -> str | None:
    """Send one due return or correction to the partner's Ringba; return its status."""
    adjustment = attempt_adjustment(adjustment_id=adjustment_id)
    return adjustment.status if adjustment else None


@receiver(events.adjustment_due, dispatch_uid="integrations.queue_due_adjustment")
def queue_due_adjustment(sender, *, adjustment_id: int, **kwargs):
    try:
        send_ringba_adjustment.enqueue(adjustment_id)
    except Exception:  # the row stays due; the sweeper announces it again
        logger.exception("could not queue Ringba adjustment %s; the sweeper will", adjustment_id)


@receiver(task_enqueued, dispatch_uid="integrations.wake_idle_workers")
def wake_idle_workers(sender, **kwargs):
    """A queued task wakes an idle worker now instead of at its next poll (task_wakeup)."""
    if not (isinstance(sender, type) and issubclass(sender, DatabaseBackend)):
        return
    try:
        wakeup.announce_ready()
    except Exception:  # the worker still polls: a lost wake-up only costs that
        logger.warning("could not announce a queued task; workers will poll", exc_info=True)
