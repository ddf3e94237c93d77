"""Un-convert a call: the return of its conversion, within the offer's return rules (SPEC §14).

The one door for un-converting (the admin's confirmed action): version-checked,
recorded in the ledger as a return, the conversion's unsent postbacks skipped, and
a call Ringba was already paid for settled by an adjustment to 0."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from ..models import Call, Event, LedgerKind, LedgerSide
from ..rules.errors import Rejected, RejectionKind
from . import adjustments, ledger
from .calls import locked_call, refuse_stale
from .deliveries import skip_undelivered
from .rollups import refresh_hour_of


class Conversion:
    """The two conversions a call has, by the names the admin and the API use."""

    OFFER = "offer"
    BUYER = "buyer"


_CONVERSION_FIELDS = {
    Conversion.OFFER: (
        Event.CALL_OFFER_CONVERTED,
        ["offer_converted", "payout", "offer_converted_at", "offer_converted_by"],
    ),
    Conversion.BUYER: (
        Event.CALL_BUYER_CONVERTED,
        ["buyer_converted", "revenue", "buyer_converted_at", "buyer_converted_by"],
    ),
}


def unconvert_call(
    *,
    call_uuid: str,
    conversion: str,
    expected_version: int | None,
    cause: str,
    reason: str = "",
) -> tuple[Call, int]:
    """Undo a call's offer or buyer conversion; return (call, postbacks skipped).

    The one door for un-converting (the admin's confirmed action). Refused
    (conflict) when the call changed since ``expected_version`` was read. In the
    same transaction, the conversion's postbacks that have not been delivered yet
    (pending or retrying) become skipped with ``cause`` as the reason, so nothing
    is paid for a conversion that no longer stands; an attempt in flight loses its
    claim and is recorded as stray. A delivered postback cannot be recalled:
    Ringba keeps it. Fires nothing. Un-converting a call that is not converted
    changes nothing.
    """
    event, fields = _CONVERSION_FIELDS[conversion]
    side = LedgerSide.OFFER if conversion == Conversion.OFFER else LedgerSide.BUYER
    with transaction.atomic():
        call = locked_call(call_uuid)
        refuse_stale(call, expected_version)
        if not getattr(call, fields[0]):
            return call, 0
        if side == LedgerSide.OFFER:
            _refuse_outside_return_rules(call)
        returned = ledger.side_total(call, side)
        setattr(call, fields[0], False)
        for name in fields[1:3]:
            setattr(call, name, None)
        setattr(call, fields[3], "")
        call.version += 1
        call.save(update_fields=[*fields, "version", "updated_at"])
        refresh_hour_of(call.started_at)
        [entry] = ledger.record(
            call, [ledger.Movement(side, LedgerKind.RETURN, -returned, cause, reason)]
        )
        skipped = skip_undelivered(call=call, event=event, reason=f"un-converted by {cause}")
        if side == LedgerSide.OFFER:  # paid already: one override to 0 at the partner's Ringba
            adjustments.settle(call, reason=f"returned: {reason or cause}", entry=entry)
    return call, skipped


def _refuse_outside_return_rules(call: Call) -> None:
    """Refuse (409) a return after the offer's window or past the partner's monthly limit."""
    offer, now = call.offer, timezone.now()
    if call.offer_converted_at is not None:
        closes = call.offer_converted_at + timedelta(days=offer.return_window_days)
        if now > closes:
            raise Rejected(
                RejectionKind.CONFLICT,
                [
                    f"offer_converted: the return window of {offer.return_window_days} days "
                    f"closed on {closes:%Y-%m-%d %H:%M} UTC; Ringba does not change conversions "
                    "after 30 days, so settle this with the partner directly"
                ],
            )
    limit = offer.monthly_return_limit
    if limit is not None:
        used = ledger.returns_this_month(
            offer_id=call.offer_id, traffic_source_id=call.traffic_source_id, now=now
        )
        if used >= limit:
            raise Rejected(
                RejectionKind.CONFLICT,
                [
                    f"offer_converted: this partner has had {used} of its {limit} returns on "
                    f"this offer this month (the offer's monthly return limit); raise the limit "
                    "on the offer or agree the return with the partner"
                ],
            )
