"""Send postbacks: claim a due delivery, make one attempt, record it, schedule the next.

The delivery row is the outbox and the source of truth. A worker *claims* an
attempt with one conditional UPDATE that moves ``next_attempt_at`` to the end of
a lease; only one worker's UPDATE can match, so two workers never send the same
attempt. If a worker dies mid-send the lease runs out and the sweeper queues the
delivery again; a delivered row is never due again, so it is never re-sent.
"""

import logging
import random
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from .. import conditions, postbacks
from ..models import (
    DUE_STATUSES,
    Call,
    DeliveryStatus,
    EventTrigger,
    PostbackAttempt,
    PostbackDelivery,
)
from ..postbacks import Verdict
from ..tokens import call_context
from .firing import plan_delivery

logger = logging.getLogger(__name__)
JITTER = 0.2
# A queued task not picked up within this long is presumed lost and queued again.
REQUEUE_AFTER = timedelta(seconds=60)


def lease_seconds() -> float:
    """How long a claimed attempt may take before another worker may retry it."""
    return settings.POSTBACK_CONNECT_TIMEOUT + settings.POSTBACK_READ_TIMEOUT + 30


def retry_delay(*, attempt_number: int, retry_after: int | None) -> float | None:
    """Return seconds until the next try after failed attempt ``attempt_number``.

    None means the schedule is used up. ``Retry-After`` replaces the scheduled delay,
    clamped to POSTBACK_MAX_RETRY_AFTER; otherwise the schedule gets ±20 % jitter so
    a burst of failures does not come back as a burst.
    """
    schedule = settings.POSTBACK_RETRY_SCHEDULE
    if attempt_number > len(schedule):
        return None
    if retry_after is not None:
        return float(min(max(retry_after, 1), settings.POSTBACK_MAX_RETRY_AFTER))
    base = schedule[attempt_number - 1]
    return base * random.uniform(1 - JITTER, 1 + JITTER)


def attempt_delivery(*, delivery_id: int, manual: bool = False) -> PostbackDelivery | None:
    """Make the due attempt of a delivery; return it, or None if it was not due.

    Not due means: delivered, failed, skipped, already claimed by another worker,
    or scheduled for later. Writes one PostbackAttempt and updates the delivery
    and its trigger's health fields.
    """
    now = timezone.now()
    claimed = PostbackDelivery.objects.filter(
        pk=delivery_id, status__in=DUE_STATUSES, next_attempt_at__lte=now
    ).update(
        next_attempt_at=now + timedelta(seconds=lease_seconds()),
        attempt_count=F("attempt_count") + 1,
        updated_at=now,
    )
    if not claimed:
        return None
    delivery = PostbackDelivery.objects.select_related("trigger").get(pk=delivery_id)
    outcome = postbacks.send(delivery.http_method, delivery.url)
    _record(delivery, outcome, started_at=now, manual=manual)
    return delivery


def _record(delivery: PostbackDelivery, outcome, *, started_at, manual: bool) -> None:
    now = timezone.now()
    with transaction.atomic():
        PostbackAttempt.objects.create(
            delivery=delivery,
            started_at=started_at,
            duration_ms=outcome.duration_ms,
            status_code=outcome.status_code,
            response_body=outcome.body,
            error=outcome.error[:500],
            manual=manual,
        )
        delivery.last_error = outcome.error[:500]
        delivery.enqueued_at = None
        if outcome.verdict is Verdict.DELIVERED:
            delivery.status, delivery.delivered_at = DeliveryStatus.DELIVERED, now
            delivery.next_attempt_at = None
        else:
            delay = None
            if outcome.verdict is Verdict.RETRY and not delivery.is_test:
                delay = retry_delay(
                    attempt_number=delivery.attempt_count, retry_after=outcome.retry_after_seconds
                )
            if delay is None:
                delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
            else:
                delivery.status = DeliveryStatus.RETRYING
                delivery.next_attempt_at = now + timedelta(seconds=delay)
        delivery.save(
            update_fields=[
                "status",
                "delivered_at",
                "next_attempt_at",
                "enqueued_at",
                "last_error",
                "updated_at",
            ]
        )
        if not delivery.is_test:
            _update_trigger_health(delivery.trigger_id, outcome, now)
    logger.info(
        "delivery %s attempt %s: %s %s",
        delivery.pk,
        delivery.attempt_count,
        delivery.status,
        outcome.status_code or outcome.error,
    )


def _update_trigger_health(trigger_id: int, outcome, now) -> None:
    triggers = EventTrigger.objects.filter(pk=trigger_id)
    if outcome.verdict is Verdict.DELIVERED:
        triggers.update(last_success_at=now, consecutive_failures=0)
    else:
        triggers.update(
            last_failure_at=now,
            last_error=outcome.error[:500],
            consecutive_failures=F("consecutive_failures") + 1,
        )


def requeue_due_deliveries(*, limit: int = 500) -> int:
    """Queue deliveries that are due and have no live task; return how many.

    Covers retries whose time has come, tasks lost with a killed worker or a
    restarted broker, and enqueues refused at commit time.
    """
    from ..tasks import enqueue_delivery

    now = timezone.now()
    due = (
        PostbackDelivery.objects.filter(status__in=DUE_STATUSES, next_attempt_at__lte=now)
        .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - REQUEUE_AFTER))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    # Sweepers on several workers may queue the same delivery twice; that is harmless,
    # because attempt_delivery's conditional claim lets only one task send it.
    ids = list(due)
    if not ids:
        return 0
    PostbackDelivery.objects.filter(pk__in=ids).update(enqueued_at=now)
    for delivery_id in ids:
        enqueue_delivery(delivery_id)
    return len(ids)


def resend_delivery(*, delivery: PostbackDelivery) -> bool:
    """Make a failed or retrying delivery due now and queue it; False if not allowed.

    The next attempt is recorded on the same delivery as a manual attempt.
    Delivered and skipped deliveries are never re-sent this way.
    """
    from ..tasks import enqueue_delivery

    now = timezone.now()
    updated = PostbackDelivery.objects.filter(
        pk=delivery.pk, status__in=[DeliveryStatus.FAILED, DeliveryStatus.RETRYING]
    ).update(status=DeliveryStatus.RETRYING, next_attempt_at=now, enqueued_at=now, updated_at=now)
    if updated:
        delivery_id = delivery.pk
        transaction.on_commit(lambda: enqueue_delivery(delivery_id, manual=True))
    return bool(updated)


def fire_test_postback(*, trigger: EventTrigger, call: Call) -> PostbackDelivery:
    """Render ``trigger`` for ``call`` and send it once, now; return the test delivery.

    Conditions are reported but do not stop a test; a missing token does (the URL
    would be half-built). A test is never counted as the real delivery and is
    never retried.
    """
    mappings = {
        mapping.token_name: mapping.value
        for mapping in trigger.mappings.filter(traffic_source_id=call.traffic_source_id)
    }
    context = call_context(call, mapping_tokens=mappings)
    plan = plan_delivery(trigger=trigger, context=context, check_conditions=False)
    condition_note = conditions.evaluate(trigger.conditions, context)
    if condition_note and plan["status"] == DeliveryStatus.PENDING:
        plan["skip_reason"] = f"test ignored the {condition_note}"
    delivery = PostbackDelivery.objects.create(
        trigger=trigger, event=trigger.event, call=call, is_test=True, **plan
    )
    if delivery.status == DeliveryStatus.PENDING:
        return attempt_delivery(delivery_id=delivery.pk, manual=True) or delivery
    return delivery
