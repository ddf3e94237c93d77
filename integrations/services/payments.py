"""What Ringba was paid, and the one gate every conversion postback passes to be sent.

- ``record_payment``: an attempt of a conversion postback that Ringba answered 2xx
  (or 404 after an attempt whose outcome was lost: that earlier attempt is credited)
  becomes a ``Payment``, a fact nothing rewrites. It is recorded even when the
  attempt's claim was fenced off meanwhile (an un-convert while the request was at
  Ringba): Ringba kept it all the same.
- ``send_gate``: whether a message may still go is decided here, once: a delivery
  past its deadline (a call-start enrichment) is expired, never sent; and whether
  a conversion postback may still go is decided
  when its attempt is claimed, under the call's row lock — the worker, Re-send,
  recover and Rebuild all reach the claim through ``deliveries.attempt_delivery``.
  A call no longer converted, or already paid at Ringba, skips the postback with
  the reason in words.
"""

from contextlib import contextmanager
from decimal import Decimal, InvalidOperation

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from ..infra import events
from ..infra.db import prepared_cursor
from ..models import (
    DUE_STATUSES,
    Call,
    DeliveryStatus,
    Event,
    Payment,
    PostbackAttempt,
    PostbackDelivery,
)
from ..rules import ringba
from . import paid

MONEY_EVENTS = frozenset({Event.CALL_OFFER_CONVERTED})
# How deliveries.UNKNOWN_OUTCOME begins: an attempt whose worker never reported back.
LOST_OUTCOME_PREFIX = "outcome unknown"


def pays_ringba(delivery: PostbackDelivery, url: str | None = None) -> bool:
    """Return whether ``delivery`` reports a real conversion to a Ringba webhook."""
    return (
        delivery.event in MONEY_EVENTS
        and not delivery.is_test
        and delivery.call_id is not None
        and ringba.is_webhook_url(url if url is not None else delivery.url)
    )


def record_payment(
    *, delivery: PostbackDelivery, attempt: PostbackAttempt, evidence: str
) -> Payment | None:
    """Record that Ringba kept ``attempt``'s request; return the payment, or None.

    None when the call has a payment already (Ringba keeps the first conversion
    per call id and answers 404 to the rest) or the delivery pays no Ringba.
    """
    if not pays_ringba(delivery, attempt.url or delivery.url):
        return None
    call_id, revenue = ringba.webhook_conversion(attempt.url or delivery.url)
    payment = Payment(
        call_id=delivery.call_id,
        delivery_id=delivery.pk,
        attempt_id=attempt.pk,
        ringba_call_id=call_id[:200],
        amount=_amount(revenue),
        paid_at=timezone.now(),
        evidence=evidence[:200],
    )
    # The call's unique payment: a second 2xx for it (a duplicate Ringba let through)
    # or a retry's credit of the same attempt leaves the first one as it is.
    call_now = _insert(payment)
    if call_now is None:
        return None
    converted, payout = call_now
    # The common case — the call stands converted at the paid amount — needs nothing
    # more; a difference (returned, corrected meanwhile) is settled by ``adjustments``.
    if not converted or payment.amount is None or payout != payment.amount:
        call_id = payment.call_id
        transaction.on_commit(lambda: events.payment_recorded.send(sender=Payment, call_id=call_id))
    return payment


_INSERT = """
WITH recorded AS (
    INSERT INTO {payment} (call_id, delivery_id, attempt_id, ringba_call_id, amount, paid_at,
                           evidence)
    VALUES (%s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT DO NOTHING
    RETURNING id, call_id
)
SELECT recorded.id, c.offer_converted, c.payout
FROM recorded JOIN {call} AS c ON c.id = recorded.call_id
"""


def _insert(payment: Payment) -> tuple[bool, object] | None:
    """Insert ``payment`` unless the call has one; return the call's (converted, payout).

    One statement on PostgreSQL (a worker sends from many threads; each round trip
    costs a trip through the GIL). None when nothing was inserted.
    """
    if connection.vendor != "postgresql":
        Payment.objects.bulk_create([payment], ignore_conflicts=True)
        stored = Payment.objects.filter(attempt_id=payment.attempt_id).first()
        if stored is None:
            return None
        payment.pk = stored.pk
        return Call.objects.filter(pk=payment.call_id).values_list(
            "offer_converted", "payout"
        ).first() or (False, None)
    sql = _INSERT.format(payment=Payment._meta.db_table, call=Call._meta.db_table)
    with prepared_cursor() as cursor:
        cursor.execute(
            sql,
            [
                payment.call_id,
                payment.delivery_id,
                payment.attempt_id,
                payment.ringba_call_id,
                payment.amount,
                payment.paid_at,
                payment.evidence,
            ],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    payment.pk = row[0]
    payment._state.adding, payment._state.db = False, connection.alias
    return row[1], row[2]


def credited_attempt(delivery_id: int, *, before: int) -> PostbackAttempt | None:
    """Return the latest earlier attempt whose outcome was lost (Ringba's 404 credits it)."""
    return (
        PostbackAttempt.objects.filter(
            delivery_id=delivery_id, number__lt=before, error__startswith=LOST_OUTCOME_PREFIX
        )
        .order_by("-number")
        .first()
    )


def may_have_reached(delivery: PostbackDelivery) -> bool:
    """Return whether an attempt of ``delivery`` may have reached its receiver.

    In flight, answered 2xx, credited with a payment, or whose outcome was lost
    (a worker killed mid-send): such a delivery is a record of what was sent and is
    never re-planned in place. A refused connection never reached anyone.
    """
    return (
        delivery.attempts.filter(
            Q(in_flight=True)
            | Q(status_code__range=(200, 299))
            | Q(status_code__isnull=True, error__startswith=LOST_OUTCOME_PREFIX)
        ).exists()
        or Payment.objects.filter(delivery_id=delivery.pk).exists()
    )


@contextmanager
def send_gate(delivery_id: int):
    """Yield why the delivery may not be sent now ('' when it may), holding the call's lock.

    The caller claims the delivery inside the ``with`` block, so the check and the
    claim commit together: an un-convert either commits first (and is seen here)
    or waits for the claim (and then fences off the attempt, whose answer is still
    recorded as a payment). A refused delivery is skipped with the reason.
    """
    row = (
        PostbackDelivery.objects.filter(pk=delivery_id)
        .only("event", "is_test", "call_id", "url", "expires_at")
        .first()
    )
    if row is not None and row.expires_at is not None and row.expires_at <= timezone.now():
        yield _expire(row)
        return
    if row is None or row.event not in MONEY_EVENTS or row.is_test or row.call_id is None:
        yield ""
        return
    with transaction.atomic():
        # The call's row lock, and whether Ringba was paid, in one statement.
        call = (
            Call.objects.select_for_update(of=("self",))
            .filter(pk=row.call_id)
            .annotate(paid=paid.is_paid())
            .only("offer_converted", "version")
            .first()
        )
        reason = _refusal(row, call)
        if reason:
            _skip(delivery_id, reason)
        yield reason


EXPIRED = (
    "expired — not sent: it was worth sending only until {moment:%H:%M:%S} UTC (Ringba "
    "attaches enrichment to the caller's next call, so late data would land on the wrong one)"
)


def _expire(row: PostbackDelivery) -> str:
    """Record a delivery past its deadline as expired; return the reason."""
    reason = EXPIRED.format(moment=row.expires_at)
    _skip(row.pk, reason)
    return reason


def _skip(delivery_id: int, reason: str) -> None:
    """Record a due delivery the gate refused as skipped, with the reason in words."""
    PostbackDelivery.objects.filter(pk=delivery_id, status__in=DUE_STATUSES).update(
        status=DeliveryStatus.SKIPPED,
        skip_reason=reason[:500],
        next_attempt_at=None,
        claim_token="",
        enqueued_at=None,
        updated_at=timezone.now(),
    )


def _refusal(delivery: PostbackDelivery, call: Call | None) -> str:
    if call is None or not call.offer_converted:
        return (
            "not sent: the call is no longer converted (un-converted before this postback "
            "could go); nothing is owed to the partner for it"
        )
    if not call.paid or not ringba.is_webhook_url(delivery.url):
        return ""
    payment = paid.payment_of(delivery.call_id)
    if payment is None:
        return ""
    amount = f"{payment.amount} " if payment.amount is not None else ""
    return (
        f"not sent: Ringba was already paid {amount}for this call by attempt "
        f"{payment.attempt.number} of postback #{payment.delivery_id} "
        f"({payment.paid_at:%Y-%m-%d %H:%M} UTC); Ringba accepts one conversion per call id, "
        "so a different amount is an adjustment"
    )


def _amount(text: str) -> Decimal | None:
    try:
        amount = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    return amount.quantize(Decimal("0.01")) if amount.is_finite() else None
