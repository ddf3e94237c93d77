"""Send postbacks: claim a due delivery, make one attempt, record it, schedule the next.

The delivery row is the outbox and the source of truth.
- **Claim**: one conditional UPDATE moves ``next_attempt_at`` to the end of a lease
  and writes a fresh ``claim_token``; only one worker's UPDATE can match.
- **Fence**: the outcome is written with a second conditional UPDATE that still
  requires that token and a due status. An attempt that outlived its lease (a
  stalled worker coming back) finds another claim or a final status there; its
  result is kept as a *stray* attempt and changes nothing, so a delivered
  postback is never overwritten or re-sent automatically.
- Every attempt ends within POSTBACK_ATTEMPT_DEADLINE (``postbacks.send``) and the
  lease is longer than that, so a live worker never loses its claim.
- If a worker dies mid-send, the lease runs out and the sweeper queues the
  delivery again: at-least-once, the one duplicate the design allows.
"""

import logging
import random
import uuid
from dataclasses import replace
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import DateTimeField, ExpressionWrapper, F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends
from django_tasks.base import TaskResultStatus
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from ..infra import events
from ..infra.db import database_clock
from ..infra.secrets_at_rest import SecretUnreadable
from ..models import (
    DUE_STATUSES,
    DeliveryStatus,
    DestinationHealth,
    EventTrigger,
    PostbackDelivery,
)
from ..models.triggers import decrypted_secrets
from ..outbound import postbacks, signing
from ..outbound.error_summaries import summary_of
from ..outbound.host_slots import HOST_SLOTS, WAIT_FOR_SLOT_SECONDS
from ..outbound.postbacks import Verdict
from ..rules import ringba
from . import delivery_store, payments

logger = logging.getLogger(__name__)
JITTER = 0.2
# Time a claimed attempt has beyond the attempt deadline to record its outcome.
LEASE_MARGIN_SECONDS = 15
# Without a database queue to ask, a task not picked up within this long is
# presumed lost and queued again.
REQUEUE_AFTER = timedelta(seconds=60)


def lease_seconds() -> float:
    """How long a claimed attempt may take before another worker may retry it."""
    return settings.POSTBACK_ATTEMPT_DEADLINE + LEASE_MARGIN_SECONDS


def retry_delay(*, attempt_number: int, retry_after: int | None) -> float | None:
    """Return seconds until the next try after failed attempt ``attempt_number``.

    None means the schedule is used up. The scheduled delay gets ±20 % jitter so a
    burst of failures does not come back as a burst. ``Retry-After`` (clamped to
    POSTBACK_MAX_RETRY_AFTER) can only lengthen the wait: a receiver answering
    ``Retry-After: 1`` must not burn a day's schedule in seconds.
    """
    schedule = settings.POSTBACK_RETRY_SCHEDULE
    if attempt_number > len(schedule):
        return None
    scheduled = schedule[attempt_number - 1] * random.uniform(1 - JITTER, 1 + JITTER)
    if retry_after is None:
        return scheduled
    return max(float(min(retry_after, settings.POSTBACK_MAX_RETRY_AFTER)), scheduled)


def attempt_delivery(*, delivery_id: int, manual: bool = False) -> PostbackDelivery | None:
    """Make the due attempt of a delivery; return it, or None if it was not due.

    Not due means: delivered, failed, skipped, already claimed by another worker,
    or scheduled for later. The attempt is on record (in flight) before its
    request leaves, and filled in after; the delivery and its trigger's health
    change only while this attempt's claim still holds.
    """
    token = uuid.uuid4().hex
    # Most deliveries have nothing for the gate to decide: one statement claims them.
    claimed = delivery_store.claim(
        delivery_id, token=token, lease_seconds=lease_seconds(), manual=manual, gated=False
    )
    if claimed is None:
        with payments.send_gate(delivery_id) as refusal:
            if refusal:
                logger.info("delivery %s %s", delivery_id, refusal)
                return None
            claimed = delivery_store.claim(
                delivery_id, token=token, lease_seconds=lease_seconds(), manual=manual
            )
    if claimed is None:
        return None
    delivery = claimed.delivery
    if claimed.unknown_before:
        delivery_store.mark_unknown(delivery.pk, before=claimed.attempt, note=UNKNOWN_OUTCOME)
    try:
        request = request_of(delivery)
    except SecretUnreadable as exc:
        # No retry can sign it: failed now, in words, and not counted against the host.
        refused = postbacks.Outcome(
            Verdict.FAILED, 0, error=f"not sent: {exc}; rotate the trigger's signing secret"
        )
        _record(claimed, refused, token=token, counts_for_health=False)
        return delivery
    host = postbacks.destination(delivery.url)
    if not HOST_SLOTS.try_acquire(host, wait=WAIT_FOR_SLOT_SECONDS):
        # Its task ends here, so the row no longer has one (enqueued_at cleared):
        # the sweeper queues it again when the delay is over.
        delay = timedelta(seconds=HOST_SLOTS.busy_delay(host))
        delivery_store.put_back(claimed, token=token, next_attempt_at=timezone.now() + delay)
        return None
    outcome = None
    try:
        outcome = postbacks.send(delivery.http_method, delivery.url, **request)
    finally:
        HOST_SLOTS.release(host, failed=outcome is None or outcome.host_at_fault)
    _record(claimed, _as_known(claimed, outcome), token=token)
    return delivery


def request_of(delivery: PostbackDelivery) -> dict:
    """The body and headers to send with ``delivery``, signed now when its trigger signs.

    The signature is made per attempt (its timestamp is the attempt's) with the
    trigger's secrets as they are now, so a rotation reaches retries; the message id
    is the delivery's, the same on every retry.
    """
    body = (delivery.body or "").encode()
    headers = dict(delivery.request_headers or {})  # Content-Type included with a body
    if delivery.signed:
        stored = (
            EventTrigger.objects.filter(pk=delivery.trigger_id)
            .values_list("signing_secret", "previous_signing_secret")
            .first()
        )
        secrets = decrypted_secrets(*stored) if stored else []
        if secrets:
            headers.update(signing.signed_headers(secrets, signing.message_id(delivery.pk), body))
    return {"body": body, "headers": headers}


UNKNOWN_OUTCOME = (  # begins with payments.LOST_OUTCOME_PREFIX
    "outcome unknown: the worker stopped before recording the answer (killed, or the "
    "database was unreachable); the receiver may have acted on it"
)


def _as_known(claimed: delivery_store.Claim, outcome: postbacks.Outcome) -> postbacks.Outcome:
    """Read Ringba's 404 after an attempt whose outcome was lost as that attempt's success.

    Ringba answers 404 to a conversion of a call id it has already converted (and
    to unknown or old ones). When an earlier attempt of this very postback left
    and never reported back, the likely reading is that it converted the call:
    the delivery is recorded delivered by it, not failed, and nothing more is sent.
    """
    if (
        outcome.status_code == 404
        and claimed.unknown_before
        and ringba.is_webhook_url(claimed.delivery.url)
    ):
        earlier = claimed.attempt.number - 1
        note = (
            f"Ringba answered 404 (already converted): delivered by attempt {earlier}, "
            "whose outcome had been lost"
        )
        return replace(outcome, verdict=Verdict.DELIVERED, error=note)
    return outcome


def _next_state(delivery: PostbackDelivery, outcome, now) -> dict:
    if outcome.verdict is Verdict.DELIVERED:
        return {"status": DeliveryStatus.DELIVERED, "delivered_at": now, "next_attempt_at": None}
    delay = None
    if outcome.verdict is Verdict.RETRY and not delivery.is_test:
        delay = retry_delay(
            attempt_number=delivery.attempt_count, retry_after=outcome.retry_after_seconds
        )
    if delay is None:
        return {"status": DeliveryStatus.FAILED, "next_attempt_at": None}
    retry_at = now + timedelta(seconds=delay)
    if delivery.expires_at is not None and retry_at > delivery.expires_at:
        # Its retry would come after the deadline: no later attempt is worth making.
        return {"status": DeliveryStatus.FAILED, "next_attempt_at": None, "expired": True}
    return {"status": DeliveryStatus.RETRYING, "next_attempt_at": retry_at}


def _record(
    claimed: delivery_store.Claim, outcome, *, token: str, counts_for_health: bool = True
) -> None:
    """Fill the attempt in, and the delivery's new state if the claim still holds."""
    delivery, attempt, health = claimed.delivery, claimed.attempt, claimed.health
    now = timezone.now()
    state = _next_state(delivery, outcome, now)
    expired = state.pop("expired", False)
    attempt.duration_ms = outcome.duration_ms
    attempt.status_code = outcome.status_code
    attempt.response_body = outcome.body
    attempt.error = outcome.error
    last_error = "" if outcome.verdict is Verdict.DELIVERED else outcome.error
    if expired:
        last_error = f"expired — not retried past its deadline; last: {outcome.error}"[:500]
    changes = {
        **state,
        "last_error": last_error,
        "claim_token": "",
        "enqueued_at": None,
        "updated_at": now,
    }
    if payments.pays_ringba(delivery):
        with transaction.atomic():  # the attempt's answer and the payment it proves, together
            holds = delivery_store.record(delivery, token=token, changes=changes, attempt=attempt)
            _record_payment(claimed, outcome)
    else:
        holds = delivery_store.record(delivery, token=token, changes=changes, attempt=attempt)
    if (
        holds
        and counts_for_health
        and not delivery.is_test
        and _health_changes(health, outcome, now)
    ):
        _update_trigger_health(delivery.trigger_id, outcome, now)
        _update_destination_health(postbacks.destination(delivery.url), outcome, now)
    if holds:
        for name, value in state.items():
            setattr(delivery, name, value)
        delivery.last_error = last_error
    else:
        delivery.refresh_from_db()
        logger.warning(
            "delivery %s attempt %s finished after its claim expired (%s); recorded as stray, "
            "the delivery stays %s",
            delivery.pk,
            delivery.attempt_count,
            outcome.status_code or summary_of(outcome.error or ""),
            delivery.status,
        )
        return
    # One short line per attempt: the error's summary, not urllib3's 300 characters
    # (the whole text is on the attempt's row).
    logger.info(
        "delivery %s attempt %s: %s %s",
        delivery.pk,
        delivery.attempt_count,
        delivery.status,
        outcome.status_code or summary_of(outcome.error or ""),
    )


def _record_payment(claimed: delivery_store.Claim, outcome) -> None:
    """Record the payment a Ringba conversion answer proves, held claim or not."""
    if outcome.verdict is not Verdict.DELIVERED:
        return
    attempt, evidence = claimed.attempt, f"Ringba answered {outcome.status_code}"
    if outcome.status_code == 404:  # _as_known: an earlier attempt whose outcome was lost
        earlier = payments.credited_attempt(claimed.delivery.pk, before=attempt.number)
        attempt = earlier or attempt
        evidence = f"Ringba answered 404 to attempt {claimed.attempt.number}: already converted"
    payments.record_payment(delivery=claimed.delivery, attempt=attempt, evidence=evidence)


# Every success for a trigger would otherwise write the same row: with many sending
# threads they all queue on its lock. A success is written when it changes the
# health (after failures) or refreshes a last-success time this old.
HEALTH_REFRESH = timedelta(seconds=5)


def _health_changes(health: delivery_store.TriggerHealth, outcome, now) -> bool:
    """False for a success on a healthy trigger whose last success is recent.

    Judged on the health read at claim time; the write itself re-checks in SQL.
    """
    if outcome.verdict is not Verdict.DELIVERED:
        return True
    recent = health.last_success_at is not None and health.last_success_at >= now - HEALTH_REFRESH
    return health.consecutive_failures > 0 or not recent


def _update_trigger_health(trigger_id: int, outcome, now) -> None:
    triggers = EventTrigger.objects.filter(pk=trigger_id)
    if outcome.verdict is Verdict.DELIVERED:
        triggers.filter(
            Q(consecutive_failures__gt=0)
            | Q(last_success_at__isnull=True)
            | Q(last_success_at__lt=now - HEALTH_REFRESH)
        ).update(last_success_at=now, consecutive_failures=0, failing_since=None, alerted_at=None)
    else:
        triggers.update(
            last_failure_at=now,
            last_error=outcome.error,
            consecutive_failures=F("consecutive_failures") + 1,
            failing_since=Coalesce(F("failing_since"), Value(now)),
        )


def _update_destination_health(host: str, outcome, now) -> None:
    """The same streak per destination host; written when the trigger's health is.

    Only the host's own failures count (``Outcome.host_at_fault``): a 4xx answer
    shows the host is up.
    """
    if not host:
        return
    hosts = DestinationHealth.objects.filter(host=host)
    if not outcome.host_at_fault:
        hosts.filter(consecutive_failures__gt=0).update(
            consecutive_failures=0,
            failing_since=None,
            alerted_at=None,
            acknowledged_at=None,
            acknowledged_by="",
            last_success_at=now,
        )
        return
    DestinationHealth.objects.get_or_create(host=host)
    hosts.update(
        last_failure_at=now,
        last_error=outcome.error,
        consecutive_failures=F("consecutive_failures") + 1,
        failing_since=Coalesce(F("failing_since"), Value(now)),
    )


def requeue_due_deliveries(*, limit: int = 500) -> int:
    """Queue deliveries that are due and have no task waiting for them; return how many.

    Covers retries whose time has come, tasks lost with a killed worker or a
    restarted broker, and enqueues refused at commit time. A delivery handed to the
    queue less than REQUEUE_AFTER ago is left to it. For older ones, the database
    queue is asked whether the task still waits, so a long backlog never piles up
    duplicate tasks; with another engine they go by age alone. (Leaving recent
    hand-overs out keeps a burst's sweeps cheap: the worker's threads share the
    sweeper's process.) "Due" is judged on the database's clock, as the claim is.
    """
    now = database_clock()
    handed_over_before = (
        now - REQUEUE_AFTER
        if isinstance(now, datetime)
        else ExpressionWrapper(now - REQUEUE_AFTER, output_field=DateTimeField())
    )
    due = PostbackDelivery.objects.filter(
        Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=handed_over_before),
        status__in=DUE_STATUSES,
        next_attempt_at__lte=now,
        trigger__paused_at__isnull=True,  # a paused trigger's deliveries wait
    )
    database_queue = isinstance(task_backends[DEFAULT_TASK_BACKEND_ALIAS], DatabaseBackend)
    rows = list(due.order_by("next_attempt_at").values_list("pk", "task_id")[:limit])
    if database_queue and rows:
        waiting = _waiting_task_ids([task_id for _, task_id in rows])
        rows = [(pk, task_id) for pk, task_id in rows if task_id not in waiting]
    # Sweepers on several workers may queue the same delivery twice; that is harmless,
    # because attempt_delivery's conditional claim lets only one task send it. Sent at
    # once, not on commit: the sweeper runs in autocommit.
    for delivery_id, _ in rows:
        events.delivery_due.send(sender=PostbackDelivery, delivery_id=delivery_id, manual=False)
    return len(rows)


def _waiting_task_ids(task_ids: list[str]) -> set[str]:
    """Return which of ``task_ids`` are still waiting (READY) in django-tasks-db."""
    valid = []
    for task_id in task_ids:
        try:
            valid.append(uuid.UUID(task_id))
        except (TypeError, ValueError):
            continue  # never queued, or queued by another engine
    if not valid:
        return set()
    ready = DBTaskResult.objects.filter(id__in=valid, status=TaskResultStatus.READY)
    return {str(task_id) for task_id in ready.values_list("id", flat=True)}


def skip_undelivered(*, call, event: str, reason: str) -> int:
    """Skip the call's real postbacks for ``event`` that are not delivered yet; return how many.

    For a conversion undone before its postback went out. Clearing the claim
    fences off an attempt in flight: its outcome is recorded as stray.
    """
    return PostbackDelivery.objects.filter(
        call=call, event=event, is_test=False, status__in=DUE_STATUSES
    ).update(
        status=DeliveryStatus.SKIPPED,
        skip_reason=reason[:500],
        next_attempt_at=None,
        claim_token="",
        updated_at=timezone.now(),
    )


def resend_delivery(*, delivery: PostbackDelivery) -> bool:
    """Make a failed delivery due now and announce it; False if not allowed.

    Only ``failed`` deliveries can be re-sent: a ``retrying`` one may have an
    attempt in flight and will be retried anyway; delivered and skipped ones are
    never re-sent this way. The attempt is recorded on the same delivery as manual.
    """
    now = timezone.now()
    updated = PostbackDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.FAILED).update(
        status=DeliveryStatus.RETRYING, next_attempt_at=now, updated_at=now
    )
    if updated:
        announce_due(delivery.pk, manual=True)
    return bool(updated)


def retry_now(*, delivery: PostbackDelivery) -> bool:
    """Bring a waiting retry forward to now (the delivery page's "Retry now").

    Only a retrying delivery whose next attempt is later: one due already may be in
    flight, and the claim's lease keeps two attempts from overlapping either way.
    """
    now = timezone.now()
    updated = PostbackDelivery.objects.filter(
        pk=delivery.pk, status=DeliveryStatus.RETRYING, next_attempt_at__gt=now, claim_token=""
    ).update(next_attempt_at=now, updated_at=now)
    if updated:
        announce_due(delivery.pk, manual=True)
    return bool(updated)


def announce_due(delivery_id: int, *, manual: bool = False) -> None:
    """After commit, tell whoever queues work (``tasks``) that a delivery is due.

    The one way services hand a delivery to the queue: they never import ``tasks``.
    """
    transaction.on_commit(
        lambda: events.delivery_due.send(
            sender=PostbackDelivery, delivery_id=delivery_id, manual=manual
        )
    )
