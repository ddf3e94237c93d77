"""Write the money ledger: one immutable entry per movement of a call's money.

``services.calls`` calls ``record`` after it saved a change, inside its
transaction and under the call's row lock, with the version the change produced.
The entry's running total must equal what the call now records for that side;
a mismatch means a door changed money without the ledger, and the whole change
is rolled back rather than recorded wrong.
"""

from dataclasses import dataclass
from decimal import Decimal

from ..models import Call, LedgerEntry, LedgerKind, LedgerSide


class LedgerMismatch(Exception):
    """The call's stored total is not what its ledger adds up to."""


@dataclass(frozen=True)
class Movement:
    """A change of one side's total, before the call's new version is known."""

    side: str
    kind: str
    amount: Decimal
    actor: str
    reason: str = ""


def side_total(call: Call, side: str) -> Decimal:
    """What the call records now for ``side`` (0 when that side is not converted)."""
    if side == LedgerSide.OFFER:
        return (call.payout or Decimal(0)) if call.offer_converted else Decimal(0)
    return (call.revenue or Decimal(0)) if call.buyer_converted else Decimal(0)


def record(call: Call, movements: list[Movement]) -> list[LedgerEntry]:
    """Write ``movements`` at ``call.version``; raise LedgerMismatch if totals disagree."""
    entries = []
    for movement in movements:
        previous = (
            LedgerEntry.objects.filter(call=call, side=movement.side)
            .order_by("-id")
            .values_list("total_after", flat=True)
            .first()
        )
        total = (previous or Decimal(0)) + movement.amount
        entries.append(
            LedgerEntry(
                call=call,
                side=movement.side,
                kind=movement.kind,
                amount=movement.amount,
                total_after=total,
                actor=movement.actor[:200],
                reason=movement.reason[:500],
                call_version=call.version,
            )
        )
        # Later movements of the same side build on this one.
        LedgerEntry.objects.bulk_create([entries[-1]])
    for side in {movement.side for movement in movements}:
        last = [entry for entry in entries if entry.side == side][-1]
        if last.total_after != side_total(call, side):
            raise LedgerMismatch(
                f"call {call.call_uuid}: the {side} ledger adds up to {last.total_after}, "
                f"the call records {side_total(call, side)}"
            )
    return entries


def returns_this_month(*, offer_id: int, traffic_source_id: int, now) -> int:
    """How many returns the partner had on the offer in ``now``'s calendar month (UTC)."""
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return LedgerEntry.objects.filter(
        kind=LedgerKind.RETURN,
        side=LedgerSide.OFFER,
        created_at__gte=month_start,
        call__offer_id=offer_id,
        call__traffic_source_id=traffic_source_id,
    ).count()
