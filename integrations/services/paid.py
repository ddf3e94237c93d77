"""What the partner was actually paid for a call: its recorded ``Payment``.

Ringba accepts one conversion per call id and answers 404 to any later one, so
the payment recorded from the attempt Ringba kept (``services.payments``) is what
the partner got, whatever the call or its delivery says now (un-converted since,
re-converted at another payout, re-planned). The admin and the calls API show
it beside the stored payout and say when the two differ (SPEC §14).
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ..models import Call, Payment


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
    payment = (
        Payment.objects.filter(call_id=call.pk).only("delivery_id", "paid_at", "amount").first()
    )
    if payment is None:
        return None
    return PaidPostback(payment.delivery_id, payment.paid_at, payment.amount)
