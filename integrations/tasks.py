"""Background tasks (Django's Tasks API). Tasks take ids and call one service."""

import logging

from django_tasks import task

logger = logging.getLogger(__name__)


@task(queue_name="postbacks")
def deliver_postback(delivery_id: int, manual: bool = False) -> str | None:
    """Make the due attempt of one delivery; return its status afterwards."""
    from .services.deliveries import attempt_delivery

    delivery = attempt_delivery(delivery_id=delivery_id, manual=manual)
    return delivery.status if delivery else None


def enqueue_delivery(delivery_id: int, *, manual: bool = False) -> bool:
    """Queue a delivery attempt; return False (and log) if the queue refused it.

    A refused enqueue loses nothing: the delivery row stays due and the sweeper
    queues it again (see ``services.deliveries.requeue_due_deliveries``).
    """
    try:
        deliver_postback.enqueue(delivery_id, manual)
    except Exception:  # the queue's failure must not undo the committed event
        logger.exception("could not queue delivery %s; the sweeper will retry", delivery_id)
        return False
    return True
