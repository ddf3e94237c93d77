"""Record calls and their transitions: start, end, buyer and offer conversions (SPEC §5).

Every transition happens under a row lock on the call and emits its event once,
inside the same transaction, whichever door it came through (API, admin action,
admin form, the offer's duration rule). Conversions are write-once.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from ..infra import events
from ..models import Call, Event, LedgerEntry, LedgerKind, LedgerSide, Number
from ..rules.credentials import is_credential_name
from ..rules.errors import Rejected, RejectionKind
from ..rules.phones import InvalidPhoneNumber, normalize_phone
from ..rules.validators import TOKEN_NAME_PATTERN
from . import adjustments, ledger, paid, schedules
from .matching import lock_caller, match_call
from .rollups import refresh_hour_of

CENTS = Decimal("0.01")
# What made a transition happen (Call.*_converted_by, the deliveries' "why" panel).
API = "calls API"
DURATION_RULE = "the offer's duration rule"
OFFER_CONVERSION_FIELDS = frozenset(
    {"offer_converted", "payout", "offer_converted_at", "offer_converted_by"}
)
# Changes the hourly rollups count (services.rollups): conversions and their amounts,
# an add_revenue on a converted call included.
COUNTED_FIELDS = OFFER_CONVERSION_FIELDS | {"buyer_converted", "revenue"}
# The longest call we accept a duration or an end time for.
MAX_CALL_SECONDS = 7 * 24 * 3600


@dataclass
class CallUpdate:
    """The changes a caller asks for; None means "not mentioned"."""

    ended_at: datetime | None = None
    duration: int | None = None
    buyer_converted: bool | None = None
    revenue: Decimal | None = None
    offer_converted: bool | None = None
    payout: Decimal | None = None
    post_call_tokens: dict = field(default_factory=dict)
    # TrackDrive's add_revenue / add_payout: added to the stored amount (never below
    # zero), on a side that is converted already or in the same request.
    add_revenue: Decimal | None = None
    add_payout: Decimal | None = None

    @classmethod
    def from_changes(cls, call: Call, wanted: dict) -> "CallUpdate":
        """Return the update that moves ``call`` to the values in ``wanted`` (a form's data).

        Fields whose value did not change are not mentioned, so saving a form never
        re-applies a transition; amounts go along and count only with a conversion.
        """

        def changed(name: str):
            return wanted.get(name) if wanted.get(name) != getattr(call, name) else None

        return cls(
            ended_at=changed("ended_at"),
            duration=changed("duration"),
            buyer_converted=changed("buyer_converted"),
            revenue=wanted.get("revenue"),
            offer_converted=changed("offer_converted"),
            payout=wanted.get("payout"),
        )


def locked_call(call_uuid: str) -> Call:
    try:
        return (
            Call.objects.select_for_update(of=("self",))
            .select_related("number", "offer", "traffic_source", "lead", "schedule_lead")
            .get(call_uuid=call_uuid)
        )
    except Call.DoesNotExist:
        raise Rejected(RejectionKind.NOT_FOUND, [f"call_uuid: no call {call_uuid!r}"]) from None


def _emit(call: Call, event: str, cause: str) -> None:
    events.call_event.send(sender=Call, call=call, event=event, cause=cause)


def record_call(
    *,
    number: str | None,
    caller_id: str | None,
    started_at: datetime | None = None,
    call_uuid: str | None = None,
    schedule_lead: str | None = None,
    claim: str | None = None,
) -> tuple[Call, bool]:
    """Record an inbound call on a tracking number; return (call, created).

    A repeat with a known ``call_uuid`` on the same number returns the existing
    call (safe retries from the telephony side). Emits ``call_started``.
    With ``schedule_lead`` (a uuid) it is a schedule's callback instead
    (``record_schedule_call``, fenced by the dialer's ``claim``).
    """
    if schedule_lead:
        return record_schedule_call(
            schedule_lead=schedule_lead,
            caller_id=caller_id,
            started_at=started_at,
            call_uuid=call_uuid,
            claim=claim,
        )
    if not number or not caller_id:
        missing = [
            name for name, value in (("number", number), ("caller_id", caller_id)) if not value
        ]
        raise Rejected(
            RejectionKind.INVALID,
            [
                f"{name}: is required (or send schedule_lead for a schedule's callback)"
                for name in missing
            ],
        )
    errors = []
    try:
        dialed = normalize_phone(number)
    except InvalidPhoneNumber as exc:
        errors.append(f"number: {exc}")
        dialed = None
    try:
        caller = normalize_phone(caller_id)
    except InvalidPhoneNumber as exc:
        errors.append(f"caller_id: {exc}")
    if errors:
        raise Rejected(RejectionKind.INVALID, errors)
    tracking_number = (
        Number.objects.select_related("offer", "traffic_source")
        .filter(number=dialed, active=True)
        .first()
    )
    if tracking_number is None:
        raise Rejected(
            RejectionKind.INVALID, [f"number: {dialed} is not an active tracking number"]
        )
    if call_uuid:
        existing = Call.objects.filter(call_uuid=call_uuid).first()
        if existing is not None:
            if existing.number_id != tracking_number.pk:
                raise Rejected(
                    RejectionKind.CONFLICT,
                    [f"call_uuid: {call_uuid!r} already belongs to a call on another number"],
                )
            return existing, False

    call = Call(
        number=tracking_number,
        offer=tracking_number.offer,
        traffic_source=tracking_number.traffic_source,
        caller_id=caller,
        started_at=started_at or timezone.now(),
    )
    if call_uuid:
        call.call_uuid = call_uuid
    try:
        with transaction.atomic():
            # Lock before inserting: a pixel matching at this instant either commits
            # first (and match_call sees its lead) or waits and then sees this call.
            lock_caller(offer_id=call.offer_id, caller_id=call.caller_id)
            call.save(force_insert=True)
            match_call(call, window_seconds=tracking_number.offer.match_window_seconds)
            _emit(call, Event.CALL_STARTED, cause=API)
    except IntegrityError:  # the same call_uuid raced in
        return Call.objects.get(call_uuid=call_uuid), False
    return call, True


def record_schedule_call(
    *,
    schedule_lead: str,
    caller_id: str | None = None,
    started_at: datetime | None = None,
    call_uuid: str | None = None,
    claim: str | None = None,
) -> tuple[Call, bool]:
    """Record the call a dialer placed for a schedule lead; count it as an attempt.

    ``claim``: the claim the dialer was given with the lead; refused (conflict)
    when another dialer has claimed the lead since (``schedules.count_call``).

    The call sells into the schedule's offer for the lead's traffic source, on no
    tracking number, and carries the lead's pixel tokens (its original
    ringba_call_uuid included); it never attaches to a direct lead. ``caller_id``
    defaults to the lead's. A repeat with the same ``call_uuid`` returns the call
    and counts nothing.
    """
    caller = None
    if caller_id:
        try:
            caller = normalize_phone(caller_id)
        except InvalidPhoneNumber as exc:
            raise Rejected(RejectionKind.INVALID, [f"caller_id: {exc}"]) from None
    if call_uuid:
        existing = Call.objects.filter(call_uuid=call_uuid).first()
        if existing is not None:
            if str(existing.schedule_lead.uuid if existing.schedule_lead_id else "") != str(
                schedule_lead
            ):
                raise Rejected(
                    RejectionKind.CONFLICT,
                    [f"call_uuid: {call_uuid!r} already belongs to another call"],
                )
            return existing, False
    try:
        with transaction.atomic():
            lead = schedules.count_call(schedule_lead, cause=API, claim=claim)
            call = Call(
                number=None,
                offer_id=lead.schedule.offer_id,
                traffic_source=lead.traffic_source,
                schedule_lead=lead,
                caller_id=caller or lead.caller_id,
                started_at=started_at or timezone.now(),
            )
            if call_uuid:
                call.call_uuid = call_uuid
            call.save(force_insert=True)
            _emit(call, Event.CALL_STARTED, cause=API)
    except IntegrityError:  # the same call_uuid raced in; nothing of ours was written
        return Call.objects.get(call_uuid=call_uuid), False
    return call, True


def update_call(
    *,
    call_uuid: str,
    update: CallUpdate,
    cause: str = API,
    expected_version: int | None = None,
) -> Call:
    """Apply ``update`` to a call and emit one event per real transition.

    Converting a converted call again changes nothing and fires nothing. Setting a
    conversion back to false is refused (Rejected): un-converting is its own
    confirmed action (``unconvert_call``). Raises Rejected (not found) for an
    unknown call, and (conflict) when ``expected_version`` — the version a form
    was read at — is no longer the call's. ``cause`` says who asked (the calls
    API, an admin action) and is recorded with each conversion and on the
    deliveries it fires.
    """
    with transaction.atomic():
        call = locked_call(call_uuid)
        refuse_stale(call, expected_version)
        pending_events = []
        changed = set()
        movements: list[ledger.Movement] = []

        if update.post_call_tokens:
            _merge_post_call_tokens(call, update.post_call_tokens)
            changed.add("post_call_tokens")

        if (update.ended_at is not None or update.duration is not None) and not call.has_ended:
            _end(call, ended_at=update.ended_at, duration=update.duration)
            changed |= {"ended_at", "duration"}
            pending_events.append((Event.CALL_ENDED, cause))

        if update.buyer_converted is True and not call.buyer_converted:
            call.buyer_converted = True
            call.revenue = _money(update.revenue if update.revenue is not None else Decimal(0))
            call.buyer_converted_at = timezone.now()
            call.buyer_converted_by = cause[:200]
            movements.append(
                ledger.Movement(LedgerSide.BUYER, LedgerKind.CONVERSION, call.revenue, cause)
            )
            changed |= {"buyer_converted", "revenue", "buyer_converted_at", "buyer_converted_by"}
            pending_events.append((Event.CALL_BUYER_CONVERTED, cause))
        elif update.buyer_converted is False and call.buyer_converted:
            _refuse_unconvert("buyer_converted")

        if update.offer_converted is True and not call.offer_converted:
            payout = update.payout if update.payout is not None else call.offer.payout
            if payout is None:
                raise Rejected(
                    RejectionKind.INVALID,
                    ["payout: is required to convert this call (the offer has no default payout)"],
                )
            _refuse_second_payment(call)
            _refuse_reconversion_without_version(call, expected_version)
            _convert_offer(call, payout, cause=cause)
            movements.append(
                ledger.Movement(LedgerSide.OFFER, LedgerKind.CONVERSION, call.payout, cause)
            )
            changed |= OFFER_CONVERSION_FIELDS
            pending_events.append((Event.CALL_OFFER_CONVERTED, cause))
        elif update.offer_converted is False and call.offer_converted:
            _refuse_unconvert("offer_converted")

        if (
            (Event.CALL_ENDED, cause) in pending_events
            and _duration_rule_converts(call)
            and paid.paid_by_another_call(call) is None  # the end is recorded, not paid twice
        ):
            rule = (
                f"{DURATION_RULE}: {call.duration} s ≥ {call.offer.min_duration_seconds} s "
                f"(call ended by {cause})"
            )
            _convert_offer(call, call.offer.payout, cause=rule)
            movements.append(
                ledger.Movement(LedgerSide.OFFER, LedgerKind.CONVERSION, call.payout, rule)
            )
            changed |= OFFER_CONVERSION_FIELDS
            pending_events.append((Event.CALL_OFFER_CONVERTED, rule))

        added = _add_amounts(call, update, cause=cause)
        changed |= {LEDGER_AMOUNT_FIELDS[movement.side] for movement in added}
        movements += added

        if changed:
            call.version += 1
            call.save(update_fields=[*changed, "version", "updated_at"])
            if changed & COUNTED_FIELDS:
                refresh_hour_of(call.started_at)  # the dashboard's rollup of its hour
        entries = ledger.record(call, movements)
        _carry_payout_change(call, entries, pending_events, cause=cause)
        for event, event_cause in pending_events:
            _emit(call, event, cause=event_cause)
        conversions = [
            event_cause
            for event, event_cause in pending_events
            if event in (Event.CALL_BUYER_CONVERTED, Event.CALL_OFFER_CONVERTED)
        ]
        if call.schedule_lead_id and conversions:
            schedules.convert_for_call(call, cause=conversions[0])
    return call


def _add_amounts(call: Call, update: CallUpdate, *, cause: str) -> list[ledger.Movement]:
    """Apply add_revenue / add_payout after any conversion in the same request.

    An amount belongs to a conversion: adding to a side that is not converted
    would be overwritten by its conversion later, so it is refused (422) and the
    sender is told to convert in the same request. Results below zero are zero.
    """
    movements = []
    for amount_name, converted_name, addition in (
        ("revenue", "buyer_converted", update.add_revenue),
        ("payout", "offer_converted", update.add_payout),
    ):
        if addition is None:
            continue
        if not getattr(call, converted_name):
            raise Rejected(
                RejectionKind.INVALID,
                [
                    f"add_{amount_name}: the call is not {converted_name.replace('_', ' ')}; "
                    f"send {converted_name}=true in the same request (or first)"
                ],
            )
        current = getattr(call, amount_name) or Decimal(0)
        setattr(call, amount_name, _money(max(Decimal(0), current + Decimal(addition))))
        side = LedgerSide.OFFER if amount_name == "payout" else LedgerSide.BUYER
        movements.append(
            ledger.Movement(
                side,
                LedgerKind.ADJUSTMENT,
                getattr(call, amount_name) - current,
                cause,
                f"add_{amount_name} {Decimal(addition):+.2f}",
            )
        )
    return movements


# The call's field each ledger side records.
LEDGER_AMOUNT_FIELDS = {LedgerSide.OFFER: "payout", LedgerSide.BUYER: "revenue"}


def _carry_payout_change(call: Call, entries, pending_events, *, cause: str) -> None:
    """Bring Ringba to a payout changed after the conversion: adjust if paid, else re-plan."""
    adjusted = [
        entry
        for entry in entries
        if entry.side == LedgerSide.OFFER and entry.kind == LedgerKind.ADJUSTMENT
    ]
    if not adjusted or any(event == Event.CALL_OFFER_CONVERTED for event, _ in pending_events):
        return  # a conversion in this request fires its postback with the final amount
    if adjustments.settle(call, reason=f"payout corrected by {cause}", entry=adjusted[-1]):
        return
    adjustments.replan_unsent(call, cause=f"payout corrected by {cause}")


def _refuse_reconversion_without_version(call: Call, expected_version: int | None) -> None:
    """Refuse to convert a returned call again unless the caller read it since (409).

    A client retrying ``offer_converted=true`` after the account manager returned
    the call would otherwise pay it again; converting it again is a decision made
    on the call as it is now, so it carries the version read.
    """
    if expected_version is not None:
        return
    returned = (
        LedgerEntry.objects.filter(call=call, side=LedgerSide.OFFER, kind=LedgerKind.RETURN)
        .order_by("-id")
        .first()
    )
    if returned is None:
        return
    raise Rejected(
        RejectionKind.CONFLICT,
        [
            f"offer_converted: the call was returned by {returned.actor} at "
            f"{returned.created_at:%Y-%m-%d %H:%M} UTC ({returned.reason or 'no reason given'}); "
            f"to convert it again, send version={call.version} with the conversion"
        ],
    )


def _end(call: Call, *, ended_at: datetime | None, duration: int | None) -> None:
    if ended_at is None:
        ended_at = (
            call.started_at + timedelta(seconds=duration)
            if duration is not None
            else timezone.now()
        )
    if ended_at < call.started_at:
        raise Rejected(
            RejectionKind.INVALID,
            [f"ended_at: is before the call started ({call.started_at.isoformat()})"],
        )
    if ended_at - call.started_at > timedelta(seconds=MAX_CALL_SECONDS):
        raise Rejected(
            RejectionKind.INVALID, ["ended_at: is more than 7 days after the call started"]
        )
    call.ended_at = ended_at
    call.duration = (
        duration if duration is not None else int((ended_at - call.started_at).total_seconds())
    )


def _convert_offer(call: Call, payout: Decimal, *, cause: str) -> None:
    call.offer_converted = True
    call.payout = _money(payout)
    call.offer_converted_at = timezone.now()
    call.offer_converted_by = cause[:200]


def _refuse_second_payment(call: Call) -> None:
    """Raise Rejected (conflict) if the partner was already paid for this sale."""
    other = paid.paid_by_another_call(call)
    if other is None:
        return
    sale = paid.ringba_call_id(call) or f"schedule lead {call.schedule_lead.uuid}"
    how = (
        f"converted by {other.offer_converted_by}"
        if other.offer_converted_by
        else "Ringba was paid for it, then it was un-converted"
    )
    raise Rejected(
        RejectionKind.CONFLICT,
        [
            f"offer_converted: {sale} was already paid through call {other.call_uuid} ({how}); "
            "a partner is paid once per Ringba call id, and Ringba accepts one conversion "
            "per call id"
        ],
    )


def _duration_rule_converts(call: Call) -> bool:
    offer = call.offer
    return (
        not call.offer_converted
        and offer.has_conversion_rule
        and call.duration is not None
        and call.duration >= offer.min_duration_seconds
    )


def _refuse_unconvert(field_name: str) -> None:
    raise Rejected(
        RejectionKind.INVALID,
        [
            f"{field_name}: false alone changes nothing; to return the call send "
            f"{field_name}=false with return_reason (the offer side), or un-convert it "
            "from the admin"
        ],
    )


def refuse_stale(call: Call, expected_version: int | None) -> None:
    if expected_version is None or expected_version == call.version:
        return
    raise Rejected(
        RejectionKind.CONFLICT,
        [
            f"call: changed since you read it (version {expected_version}, now "
            f"{call.version}{_last_change(call)}); reload the call and make your change again"
        ],
    )


def _last_change(call: Call) -> str:
    if call.offer_converted:
        return f": offer-converted by {call.offer_converted_by} at {call.offer_converted_at:%c}"
    if call.buyer_converted:
        return f": buyer-converted by {call.buyer_converted_by} at {call.buyer_converted_at:%c}"
    return ""


def _merge_post_call_tokens(call: Call, tokens: dict) -> None:
    credentials = [str(key) for key in tokens if is_credential_name(key)]
    if credentials:
        raise Rejected(
            RejectionKind.INVALID,
            [
                f"post_call_tokens: {', '.join(credentials[:5])} is a credential name; "
                "credentials are never stored as tokens, so send the key only to sign in"
            ],
        )
    bad = [key for key in tokens if not re.match(TOKEN_NAME_PATTERN, str(key))]
    if bad:
        raise Rejected(
            RejectionKind.INVALID,
            [
                f"post_call_tokens: {', '.join(map(str, bad[:5]))} are not token names "
                "(use a-z, 0-9 and _)"
            ],
        )
    if any("\x00" in str(value) for value in tokens.values()):
        raise Rejected(
            RejectionKind.INVALID, ["post_call_tokens: values cannot contain NUL characters"]
        )
    call.post_call_tokens = {
        **call.post_call_tokens,
        **{
            key: value if isinstance(value, (str, int, bool)) else str(value)
            for key, value in tokens.items()
        },
    }


def _money(amount) -> Decimal:
    value = Decimal(amount).quantize(CENTS)
    if value < 0:
        raise Rejected(RejectionKind.INVALID, ["amount: must not be negative"])
    if value >= Decimal("100000000"):
        raise Rejected(RejectionKind.INVALID, ["amount: is too large (at most 99999999.99)"])
    return value
