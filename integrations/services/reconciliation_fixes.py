"""The fixes a reconciliation row offers, one click each, and its review.

- ``never_sent``: send the conversion postback that failed (``resend_delivery``);
- ``amount_differs``, ``zero_conversion``, ``returned_not_voided``: an adjustment
  that sets the partner's Ringba to what the call says (its payout, 0 once
  returned), from the amount Ringba was found to hold, through the partner's mode
  (``adjustments.settle``), under the call's lock like every money change;
- every label: mark reviewed with a note (who and when are kept).

Each answers in words what it did or why it could not.
"""

from django.db import transaction
from django.utils import timezone

from ..models import (
    Call,
    DeliveryStatus,
    Difference,
    Event,
    PostbackDelivery,
    ReconciliationRow,
)
from . import paid
from .adjustments import settle
from .deliveries import resend_delivery

ADJUSTABLE = (
    Difference.AMOUNT_DIFFERS,
    Difference.ZERO_CONVERSION,
    Difference.RETURNED_NOT_VOIDED,
)


def fix_for(row: ReconciliationRow) -> str:
    """The fix a row offers: "postback", "adjustment" or "" (review only)."""
    if row.call_id is None:
        return ""
    if row.label == Difference.NEVER_SENT:
        return "postback"
    if row.label in ADJUSTABLE:
        return "adjustment"
    return ""


def _already_reviewed(row: ReconciliationRow) -> str:
    """Why a reviewed row is not fixed again: its amounts are as found, not as now."""
    return f"{row}: already reviewed by {row.reviewed_by} ({row.note}); reconcile again to recheck"


def send_missing_postback(row: ReconciliationRow, *, who: str) -> tuple[bool, str]:
    if fix_for(row) != "postback":
        return False, f"{row}: only a never-sent conversion has a postback to send"
    if row.reviewed_at is not None:
        return False, _already_reviewed(row)
    failed = (
        PostbackDelivery.objects.filter(
            call_id=row.call_id,
            event=Event.CALL_OFFER_CONVERTED,
            is_test=False,
            status=DeliveryStatus.FAILED,
        )
        .order_by("-created_at", "-id")
        .first()
    )
    if failed is None:
        return False, (
            f"{row}: no failed conversion postback to re-send; open the call to see why "
            "none was sent (skipped, expired, or no trigger for this partner)"
        )
    if not resend_delivery(delivery=failed):
        return False, f"{row}: postback #{failed.pk} changed meanwhile; nothing was re-sent"
    _review(row, who=who, note=f"re-sent postback #{failed.pk}")
    return True, f"{row}: postback #{failed.pk} is due now"


def send_adjustment(row: ReconciliationRow, *, who: str) -> tuple[bool, str]:
    if fix_for(row) != "adjustment":
        return False, f"{row}: no adjustment fixes this label"
    if row.reviewed_at is not None:
        return False, _already_reviewed(row)
    with transaction.atomic():
        call = Call.objects.select_for_update().filter(pk=row.call_id).first()
        if call is None or paid.payment_of(call.pk) is None:
            return False, f"{row}: Ringba was never paid for this call here; adjust it by hand"
        adjustment = settle(
            call,
            reason=f"reconciliation: {row.get_label_display()}",
            seen_at_ringba=row.their_amount if row.their_amount is not None else None,
        )
        if adjustment is None:
            return False, f"{row}: Ringba already holds what the call says; nothing to send"
        state = adjustment.get_status_display()
        _review(row, who=who, note=f"adjustment #{adjustment.pk}: {state}")
    return True, (
        f"{row}: adjustment #{adjustment.pk} sets Ringba from {adjustment.from_amount} to "
        f"{adjustment.to_amount} ({adjustment.get_status_display()})"
    )


def mark_reviewed(rows, *, who: str, note: str) -> int:
    return rows.filter(reviewed_at__isnull=True).update(
        reviewed_at=timezone.now(), reviewed_by=who[:150], note=note[:500]
    )


def _review(row: ReconciliationRow, *, who: str, note: str) -> None:
    ReconciliationRow.objects.filter(pk=row.pk).update(
        reviewed_at=timezone.now(), reviewed_by=who[:150], note=note[:500]
    )
