"""Was this sale paid? The one rule, and what the partner was actually paid.

A call is paid when a ``Payment`` is recorded for it: Ringba accepts one
conversion per call id and answers 404 to any later one, so the payment recorded
from the attempt Ringba kept (``services.payments``) is what the partner got,
whatever the call or its delivery says now (un-converted since, re-converted at
another payout, re-planned). A sale (one Ringba call id on an offer, or one
schedule lead and its callbacks) is paid when any of its calls is offer-converted
or paid. Everything that asks either question asks it here: the send gate, the
conversion refusal, adjustments, reconciliation fixes, the admin and the calls
API (SPEC §14).
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.db.models import Exists, OuterRef, Q

from ..models import Call, Lead, Payment, ScheduleLead
from . import schedules

# Advisory-lock namespace for "one paid conversion per Ringba call id": two calls
# converting for one Ringba call id queue here (the second then sees the first).
PAID_LOCK_NAMESPACE = 4402


def payment_of(call_id: int) -> Payment | None:
    """Return the payment recorded for the call, or None when Ringba was never paid."""
    return Payment.objects.filter(call_id=call_id).select_related("attempt").first()


def is_paid(call_ref: str = "pk") -> Exists:
    """An expression: the call at ``call_ref`` (an outer column) has a recorded payment."""
    return Exists(Payment.objects.filter(call_id=OuterRef(call_ref)))


def ringba_call_id(call: Call) -> str | None:
    """Return the Ringba call id the call's lead (direct or schedule) carried, or None."""
    if call.lead_id:
        return call.lead.ringba_call_uuid
    if call.schedule_lead_id:
        return call.schedule_lead.ringba_call_uuid
    return None


def same_sale_calls(call: Call):
    """Return ``call``'s sale's other calls (a queryset; a handful of rows at most).

    The same sale: the same schedule lead (its callbacks), or the same Ringba call
    id on this offer (a direct lead and a schedule lead of one Ringba call). The
    few lead ids are read first (one look-up in each unique index), so the calls
    are found through their lead indexes; unordered, since an ORDER BY (the
    model's newest-first) tempts the planner to walk the whole calls table.
    """
    ringba_id = ringba_call_id(call)
    lead_ids, schedule_lead_ids = [], [call.schedule_lead_id] if call.schedule_lead_id else []
    if ringba_id:
        lead_ids = list(
            Lead.objects.filter(offer_id=call.offer_id, ringba_call_uuid=ringba_id).values_list(
                "pk", flat=True
            )
        )
        schedule_lead_ids += ScheduleLead.objects.filter(
            ringba_call_uuid=ringba_id, schedule__offer_id=call.offer_id
        ).values_list("pk", flat=True)
    return (
        Call.objects.filter(Q(lead_id__in=lead_ids) | Q(schedule_lead_id__in=schedule_lead_ids))
        .exclude(pk=call.pk)
        .order_by()
    )


def paid_by_another_call(call: Call) -> Call | None:
    """Return another paid call of the same sale, or None.

    Paid: offer-converted now, or Ringba was paid for it (a recorded payment: Ringba
    keeps that conversion, whatever the call says since). Serialised with every
    other conversion of the same sale: the schedule lead's row lock, and an
    advisory lock on (offer, Ringba call id).
    """
    if call.schedule_lead_id:
        schedules.lock(call.schedule_lead_id)
    ringba_id = ringba_call_id(call)
    if ringba_id and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                [PAID_LOCK_NAMESPACE, f"{call.offer_id}:{ringba_id}"],
            )
    others = (
        same_sale_calls(call)
        .annotate(paid=is_paid())
        .only("call_uuid", "offer_converted", "offer_converted_by")
    )
    paid = [other for other in others if other.offer_converted or other.paid]
    # A converted call names the sale's payment best; a paid, un-converted one next.
    paid.sort(key=lambda other: not other.offer_converted)
    return paid[0] if paid else None


@dataclass(frozen=True)
class PaidPostback:
    delivery_id: int
    delivered_at: datetime
    payout_sent: Decimal | None  # None when the postback carried no [payout] token

    def differs_from(self, call: Call) -> bool:
        """True when the call's stored payout is not what this postback carried."""
        if not call.offer_converted:
            return True
        return self.payout_sent is not None and self.payout_sent != call.payout

    def note(self, call: Call) -> str:
        """Say how the stored conversion and the paid one differ; '' when they agree."""
        if not self.differs_from(call):
            return ""
        sent = f"{self.payout_sent}" if self.payout_sent is not None else "a conversion"
        now = f"now {call.payout}" if call.offer_converted else "now un-converted"
        return (
            f"Ringba was paid {sent} for this call by postback #{self.delivery_id} "
            f"({self.delivered_at:%Y-%m-%d %H:%M} UTC); the call is {now}. Ringba accepts "
            "one conversion per call id, so this change was not sent."
        )


def paid_postback(call: Call) -> PaidPostback | None:
    """Return what Ringba was paid for ``call`` (its recorded payment), or None."""
    payment = payment_of(call.pk)
    if payment is None:
        return None
    return PaidPostback(payment.delivery_id, payment.paid_at, payment.amount)
