"""What the partner was actually paid for a call: its delivered conversion postback.

Ringba accepts one conversion per call id and answers 404 to any later one, so
the first delivered ``call_offer_converted`` postback is what the partner got,
whatever the call says now (un-converted since, or re-converted at another
payout). The admin and the calls API show it beside the stored payout and say
when the two differ (SPEC §14).
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from ..models import Call, DeliveryStatus, Event, PostbackDelivery


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
    """Return the delivered conversion postback of ``call``, or None (never paid)."""
    delivery = (
        PostbackDelivery.objects.filter(
            call=call,
            event=Event.CALL_OFFER_CONVERTED,
            is_test=False,
            status=DeliveryStatus.DELIVERED,
        )
        .order_by("delivered_at", "pk")
        .only("pk", "delivered_at", "explanation")
        .first()
    )
    if delivery is None:
        return None
    return PaidPostback(delivery.pk, delivery.delivered_at, _payout_in(delivery.explanation))


def _payout_in(explanation: dict) -> Decimal | None:
    for token in (explanation or {}).get("tokens", []):
        if token.get("name") == "payout" and token.get("value") not in (None, ""):
            try:
                return Decimal(str(token["value"]))
            except InvalidOperation:
                return None
    return None
