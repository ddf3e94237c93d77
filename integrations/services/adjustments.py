"""Carry returns and corrections to the partner's Ringba once it has been paid (SPEC §16).

Ringba's webhook takes one conversion per call id; after it only Ringba's REST API
changes the amount. ``settle`` compares what Ringba holds for a paid call (the
payment, then the adjustments that went through) with what the call says now
(its payout, or 0 once returned) and, when they differ, writes one
``RingbaAdjustment`` to the new absolute amount — in the transaction that made
the change, under the call's lock, so it happens once whatever crashes after.
A partner's mode decides how it travels: the partner's API token (sent by the
worker, with retries, the outbound guard and an attempt per request), a request
from our buyer account (the partner's admin approves: "requested"), or by hand
(listed for export, marked done by a person).

Before the payment nothing is sent to Ringba's API: a return skips the postback
(``calls.unconvert_call``) and an adjustment re-plans the postback not sent yet
with the final amount (``replan_unsent``).
"""

import json
import logging
import uuid
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.dispatch import receiver
from django.utils import timezone

from ..infra import events
from ..infra.db import database_clock
from ..infra.secrets_at_rest import SecretUnreadable, decrypt
from ..models import (
    ADJUSTMENT_DUE,
    AdjustmentMode,
    AdjustmentStatus,
    Call,
    Event,
    Payment,
    PostbackDelivery,
    RingbaAdjustment,
    RingbaAdjustmentAttempt,
)
from ..outbound import postbacks
from ..outbound.postbacks import Verdict
from ..rules import ringba
from . import paid
from .deliveries import lease_seconds, retry_delay
from .rebuild import rebuild_delivery

logger = logging.getLogger(__name__)
# Settled states: what Ringba holds (or will, once the partner approves or a person
# enters it) is the adjustment's amount.
APPLIED = (AdjustmentStatus.ADJUSTED, AdjustmentStatus.REQUESTED, AdjustmentStatus.DONE_BY_HAND)
LOST_OUTCOME = "outcome unknown: the worker stopped before recording Ringba's answer"


def held_at_ringba(payment: Payment) -> Decimal:
    """What the partner's Ringba holds for the paid call, as far as we have sent it."""
    latest = (
        RingbaAdjustment.objects.filter(payment=payment, status__in=APPLIED)
        .order_by("-finished_at", "-id")
        .values_list("to_amount", flat=True)
        .first()
    )
    if latest is not None:
        return latest
    return payment.amount if payment.amount is not None else Decimal(0)


def settle(
    call: Call, *, reason: str, entry=None, seen_at_ringba: Decimal | None = None
) -> RingbaAdjustment | None:
    """Write the adjustment that brings Ringba to the call's amount now; None if none is due.

    The caller holds the call's row lock in an open transaction. An adjustment
    not yet claimed by a worker is superseded by the new one (its amount is out of
    date); one in flight finishes first (the claim waits for it). ``seen_at_ringba``
    is what the partner's Ringba was found to hold (a reconciliation), when that
    differs from what we sent.
    """
    payment = paid.payment_of(call.pk)
    if payment is None:
        return None
    target = (call.payout or Decimal(0)) if call.offer_converted else Decimal(0)
    waiting = RingbaAdjustment.objects.filter(
        call=call, status__in=[*ADJUSTMENT_DUE, AdjustmentStatus.BY_HAND], claim_token=""
    )
    waiting.update(
        status=AdjustmentStatus.SUPERSEDED,
        last_error="superseded by a later change before it was sent",
        next_attempt_at=None,
        updated_at=timezone.now(),
    )
    in_flight = RingbaAdjustment.objects.filter(call=call, status__in=ADJUSTMENT_DUE).exclude(
        claim_token=""
    )
    if in_flight.exists():
        held = in_flight.order_by("-id").values_list("to_amount", flat=True).first()
    elif seen_at_ringba is not None:
        held = seen_at_ringba
    else:
        held = held_at_ringba(payment)
    if held == target:
        return None
    source = call.traffic_source
    mode = _mode_of(source)
    adjustment = RingbaAdjustment.objects.create(
        call=call,
        payment=payment,
        ledger_entry=entry,
        traffic_source=source,
        mode=mode,
        ringba_call_id=payment.ringba_call_id,
        from_amount=held,
        to_amount=target,
        reason=reason[:500],
        status=AdjustmentStatus.BY_HAND
        if mode == AdjustmentMode.BY_HAND
        else AdjustmentStatus.PENDING,
        next_attempt_at=None if mode == AdjustmentMode.BY_HAND else timezone.now(),
    )
    if adjustment.status == AdjustmentStatus.PENDING:
        transaction.on_commit(
            lambda: events.adjustment_due.send(sender=RingbaAdjustment, adjustment_id=adjustment.pk)
        )
    return adjustment


def _mode_of(source) -> str:
    """The partner's mode, falling back to by hand when its credentials are missing."""
    if source.adjustment_mode == AdjustmentMode.PARTNER_TOKEN:
        if source.ringba_account_id and source.has_ringba_token:
            return AdjustmentMode.PARTNER_TOKEN
        return AdjustmentMode.BY_HAND
    if source.adjustment_mode == AdjustmentMode.BUYER_REQUEST:
        if settings.RINGBA_BUYER_ACCOUNT_ID and settings.RINGBA_BUYER_API_TOKEN:
            return AdjustmentMode.BUYER_REQUEST
        return AdjustmentMode.BY_HAND
    return AdjustmentMode.BY_HAND


def replan_unsent(call: Call, *, cause: str) -> int:
    """Re-plan the call's conversion postbacks not sent yet with its amount now.

    Before Ringba is paid a correction costs nothing: the postback carries the
    final amount. One already in flight is left to finish; its payment, if Ringba
    keeps it, is then settled by an adjustment.
    """
    due = PostbackDelivery.objects.filter(
        call=call,
        event=Event.CALL_OFFER_CONVERTED,
        is_test=False,
        status__in=["pending", "retrying"],
    ).values_list("pk", flat=True)
    replanned = 0
    for delivery_id in list(due):
        if not rebuild_delivery(delivery_id=delivery_id, cause=cause).refused:
            replanned += 1
    return replanned


# --- Sending ----------------------------------------------------------------------------


def attempt_adjustment(*, adjustment_id: int) -> RingbaAdjustment | None:
    """Send a due adjustment once; return it, or None when it was not due (or must wait)."""
    token = uuid.uuid4().hex
    claimed = _claim(adjustment_id, token=token)
    if claimed is None:
        return None
    adjustment, attempt = claimed
    try:
        url, body, headers = _request(adjustment)
    except SecretUnreadable as exc:
        outcome = postbacks.Outcome(Verdict.FAILED, 0, error=str(exc))
        url, body = "", {}
    else:
        attempt.url, attempt.request_body = url, json.dumps(body)
        RingbaAdjustmentAttempt.objects.filter(pk=attempt.pk).update(
            url=url, request_body=attempt.request_body
        )
        outcome = postbacks.send("POST", url, body=attempt.request_body.encode(), headers=headers)
    _record(adjustment, attempt, outcome, token=token)
    adjustment.refresh_from_db()
    return adjustment


def _claim(adjustment_id: int, *, token: str):
    with transaction.atomic():
        row = RingbaAdjustment.objects.filter(pk=adjustment_id).values("call_id").first()
        if row is None:
            return None
        Call.objects.select_for_update().filter(pk=row["call_id"]).first()
        now = database_clock()
        # One request at a time per call: a later amount must not overtake an earlier one.
        if (
            RingbaAdjustment.objects.filter(
                call_id=row["call_id"], status__in=ADJUSTMENT_DUE, next_attempt_at__gt=now
            )
            .exclude(claim_token="")
            .exclude(pk=adjustment_id)
            .exists()
        ):
            return None
        claimed = RingbaAdjustment.objects.filter(
            pk=adjustment_id, status__in=ADJUSTMENT_DUE, next_attempt_at__lte=now
        ).update(
            claim_token=token,
            next_attempt_at=timezone.now() + timedelta(seconds=lease_seconds()),
            attempt_count=F("attempt_count") + 1,
            updated_at=timezone.now(),
        )
        if not claimed:
            return None
        adjustment = RingbaAdjustment.objects.select_related("traffic_source").get(pk=adjustment_id)
        adjustment.attempts.filter(in_flight=True).update(in_flight=False, error=LOST_OUTCOME)
        attempt = RingbaAdjustmentAttempt.objects.create(
            adjustment=adjustment,
            number=adjustment.attempt_count,
            url="",
            request_body="",
            started_at=timezone.now(),
        )
    return adjustment, attempt


def _request(adjustment: RingbaAdjustment) -> tuple[str, dict, dict]:
    reason = adjustment.reason or "adjusted by the buyer"
    if adjustment.mode == AdjustmentMode.BUYER_REQUEST:
        url, body = ringba.buyer_override_request(
            base_url=settings.RINGBA_API_BASE_URL,
            buyer_account_id=settings.RINGBA_BUYER_ACCOUNT_ID,
            call_id=adjustment.ringba_call_id,
            amount=adjustment.to_amount,
            reason=reason,
        )
        api_token = settings.RINGBA_BUYER_API_TOKEN
    else:
        source = adjustment.traffic_source
        url, body = ringba.conversion_override(
            base_url=settings.RINGBA_API_BASE_URL,
            account_id=source.ringba_account_id,
            call_id=adjustment.ringba_call_id,
            amount=adjustment.to_amount,
            reason=reason,
        )
        api_token = decrypt(source.ringba_token.ciphertext)
    headers = {"Authorization": f"Token {api_token}", "Content-Type": "application/json"}
    return url, body, headers


def _record(adjustment, attempt, outcome, *, token: str) -> None:
    now = timezone.now()
    if outcome.verdict is Verdict.DELIVERED:
        done = (
            AdjustmentStatus.REQUESTED
            if adjustment.mode == AdjustmentMode.BUYER_REQUEST
            else AdjustmentStatus.ADJUSTED
        )
        state = {"status": done, "finished_at": now, "next_attempt_at": None, "last_error": ""}
    else:
        delay = None
        if outcome.verdict is Verdict.RETRY:
            delay = retry_delay(
                attempt_number=adjustment.attempt_count, retry_after=outcome.retry_after_seconds
            )
        error = _in_words(outcome)
        if delay is None:
            state = {"status": AdjustmentStatus.FAILED, "next_attempt_at": None}
        else:
            state = {
                "status": AdjustmentStatus.RETRYING,
                "next_attempt_at": now + timedelta(seconds=delay),
            }
        state["last_error"] = error[:500]
    with transaction.atomic():
        RingbaAdjustmentAttempt.objects.filter(pk=attempt.pk).update(
            in_flight=False,
            duration_ms=outcome.duration_ms,
            status_code=outcome.status_code,
            response_body=postbacks.sanitize_text(outcome.body or "", 2000),
            error=_in_words(outcome)[:500] if outcome.verdict is not Verdict.DELIVERED else "",
        )
        held = RingbaAdjustment.objects.filter(
            pk=adjustment.pk, claim_token=token, status__in=ADJUSTMENT_DUE
        ).update(**state, claim_token="", updated_at=now)
    logger.info(
        "ringba adjustment %s attempt %s: %s %s",
        adjustment.pk,
        attempt.number,
        state["status"] if held else "stray",
        outcome.status_code or outcome.error,
    )


def _in_words(outcome) -> str:
    """Ringba's own message for a 4xx ("Conversion would be brought below zero…")."""
    if outcome.status_code and 400 <= outcome.status_code < 500:
        message = _message_in(outcome.body or "")
        return f"Ringba refused the adjustment ({outcome.status_code}): {message}".strip()
    return outcome.error or f"Ringba answered {outcome.status_code}"


def _message_in(body: str) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return body.strip()[:300]
    if isinstance(data, dict):
        for key in ("message", "error", "errors", "Message"):
            if data.get(key):
                return str(data[key])[:300]
    return body.strip()[:300]


def requeue_due_adjustments(*, limit: int = 200) -> int:
    """Announce the adjustments whose (re)try time has come; return how many."""
    due = RingbaAdjustment.objects.filter(
        status__in=ADJUSTMENT_DUE, next_attempt_at__lte=database_clock()
    ).values_list("pk", flat=True)[:limit]
    ids = list(due)
    for adjustment_id in ids:
        events.adjustment_due.send(sender=RingbaAdjustment, adjustment_id=adjustment_id)
    return len(ids)


def settle_recent_payments(*, within: timedelta = timedelta(hours=1)) -> int:
    """Settle payments recorded lately whose call changed since: the worker's safety net.

    A payment can be recorded after the call was returned or corrected (the request
    was at Ringba then); the worker settles it at once, and this catches the one it
    could not (killed between the two). Returns how many adjustments were written.
    """
    since = timezone.now() - within
    candidates = Payment.objects.filter(paid_at__gte=since).filter(
        Q(call__offer_converted=False) | ~Q(call__payout=F("amount"))
    )
    written = 0
    for call_id in candidates.values_list("call_id", flat=True)[:500]:
        with transaction.atomic():
            call = Call.objects.select_for_update().select_related("traffic_source").get(pk=call_id)
            if settle(call, reason="settled after Ringba's answer to the conversion"):
                written += 1
    return written


def mark_done_by_hand(*, adjustment: RingbaAdjustment, who: str) -> bool:
    """Record that a person made the adjustment in Ringba; False if it was not to do."""
    return bool(
        RingbaAdjustment.objects.filter(pk=adjustment.pk, status=AdjustmentStatus.BY_HAND).update(
            status=AdjustmentStatus.DONE_BY_HAND,
            done_by=who[:200],
            finished_at=timezone.now(),
            updated_at=timezone.now(),
        )
    )


@receiver(events.payment_recorded, dispatch_uid="integrations.settle_after_payment")
def settle_after_payment(sender=None, *, call_id: int, **kwargs) -> None:
    """After a payment was recorded: settle it against the call as it is now.

    The request was at Ringba while the call may have been returned or corrected;
    the difference becomes one adjustment (``settle_recent_payments`` catches the
    one a killed worker never settled).
    """
    with transaction.atomic():
        call = (
            Call.objects.select_for_update()
            .select_related("traffic_source")
            .filter(pk=call_id)
            .first()
        )
        if call is not None:
            settle(call, reason="the call changed while its conversion was on its way to Ringba")
