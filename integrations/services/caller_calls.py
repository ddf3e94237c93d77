"""Find the call a caller made to an offer, for TrackDrive's ``update_by_caller_id``.

A buyer's system that never learnt the call's id still knows who called and for
which offer. The call updated is the caller's latest call of that offer that
started within the timeframe; several in it is normal (callers call back), and
the answer says how many there were and which was taken.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from ..models import Call, Offer
from ..rules.errors import Rejected, RejectionKind
from ..rules.phones import InvalidPhoneNumber, normalize_phone

# Minutes back a call may have started when the sender gives no call_timeframe: a
# day covers a callback the next morning without reaching last week's call.
DEFAULT_CALL_TIMEFRAME_MINUTES = 24 * 60
MAX_CALL_TIMEFRAME_MINUTES = 90 * 24 * 60
COUNT_AT_MOST = 100  # "several" is reported as a number up to this, then "100 or more"


@dataclass(frozen=True)
class CallerMatch:
    call_uuid: str
    calls_in_timeframe: int  # up to COUNT_AT_MOST
    timeframe_minutes: int

    def explanation(self) -> str:
        if self.calls_in_timeframe == 1:
            return f"the caller's only call of this offer in the last {self.timeframe_minutes} min"
        many = (
            f"{COUNT_AT_MOST} or more"
            if self.calls_in_timeframe >= COUNT_AT_MOST
            else str(self.calls_in_timeframe)
        )
        return (
            f"the latest of the caller's {many} calls of this offer in the last "
            f"{self.timeframe_minutes} min"
        )


def offer_for_token(offer_token: str) -> Offer:
    offer = Offer.objects.filter(lead_token=offer_token).first() if offer_token else None
    if offer is None:
        raise Rejected(
            RejectionKind.NOT_FOUND,
            ["offer_token: no offer has this token (the offer's lead token, as on its page)"],
        )
    return offer


def latest_call_of_caller(offer: Offer, caller_id: str, *, timeframe_minutes: int) -> CallerMatch:
    """The caller's latest call of ``offer`` started in the last ``timeframe_minutes``.

    Raises Rejected: 422 for a caller id that is not a phone number, 404 when the
    caller made no call of the offer in the timeframe.
    """
    try:
        caller = normalize_phone(caller_id)
    except InvalidPhoneNumber as exc:
        raise Rejected(RejectionKind.INVALID, [f"caller_id: {exc}"]) from None
    since = timezone.now() - timedelta(minutes=timeframe_minutes)
    uuids = list(
        Call.objects.filter(offer=offer, caller_id=caller, started_at__gte=since)
        .order_by("-started_at", "-id")
        .values_list("call_uuid", flat=True)[:COUNT_AT_MOST]
    )
    if not uuids:
        raise Rejected(
            RejectionKind.NOT_FOUND,
            [
                f"caller_id: no call from {caller} to this offer in the last "
                f"{timeframe_minutes} minutes (call_timeframe); nothing was updated"
            ],
        )
    return CallerMatch(
        call_uuid=uuids[0], calls_in_timeframe=len(uuids), timeframe_minutes=timeframe_minutes
    )
