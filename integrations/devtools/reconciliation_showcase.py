"""A partner's books with one call per reconciliation label, and its Ringba call log.

Our side is written as the product records it (calls, payments from answered
attempts, a 404 attempt, a return in the ledger); the partner's side is a call log
in Ringba's API shape, which ``as_csv`` writes as the call details report a partner
exports. The demo's second partner ("differences") is built from it, and so are the
reconciliation tests: reconciling the two gives every label once (``EXPECTED``),
``matched`` twice (one paired by id, one by caller).

Everything is placed relative to ``day`` (15:00 UTC on a day the period holds); the
period is ``day - 2`` … ``day + 7``.
"""

import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from ..models import (
    Call,
    DeliveryStatus,
    Event,
    Lead,
    LedgerEntry,
    LedgerKind,
    LedgerSide,
    Payment,
    PostbackAttempt,
    PostbackDelivery,
)

# Call id suffix → the label reconciling it must give.
LABELS = {
    "A": "matched",
    "B": "never_sent",
    "C": "sent_not_recorded",
    "D": "rejected_already_converted",
    "E": "too_late",
    "F": "amount_differs",
    "G": "zero_conversion",
    "H": "returned_not_voided",
    "X": "not_in_portal",
    "J": "day_boundary",
    "K": "matched",
}
REPORT_HEADER = ["Call Date", "Inbound Call ID", "Caller ID", "Converted", "Revenue"]
CALLER = "+13125550000"
CALLER_WITHOUT_ID = "+14155550111"


def period_of(day: datetime) -> tuple[date, date]:
    return (day - timedelta(days=2)).date(), (day + timedelta(days=7)).date()


def expected_labels(prefix: str) -> dict[str, str]:
    return {f"{prefix}-{suffix}": label for suffix, label in LABELS.items()}


def record_paid(
    delivery: PostbackDelivery, *, amount: str, ringba_call_id: str = "", url: str = ""
) -> Payment:
    """Mark ``delivery`` delivered by a 200 attempt (sent to ``url``, else the delivery's)
    and record Ringba's payment, as the worker does (``services.payments.record_payment``)
    without a receiver."""
    now = timezone.now()
    attempt = PostbackAttempt.objects.create(
        delivery=delivery,
        number=delivery.attempt_count + 1,
        url=url or delivery.url,
        started_at=now,
        status_code=200,
    )
    PostbackDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.DELIVERED,
        delivered_at=now,
        attempt_count=attempt.number,
        next_attempt_at=None,
    )
    return Payment.objects.create(
        call_id=delivery.call_id,
        delivery=delivery,
        attempt=attempt,
        ringba_call_id=ringba_call_id,
        amount=Decimal(amount),
        paid_at=now,
        evidence="Ringba answered 200",
    )


def build_books(*, offer, source, number, trigger, day: datetime, prefix: str) -> dict:
    """Write our side; return {"ours": {name: Call}, "log": [Ringba call-log records]}."""

    def call(suffix, *, at=day, payout="10.00", converted=True, caller=CALLER):
        lead = None
        if suffix:
            lead = Lead.objects.create(
                offer=offer,
                traffic_source=source,
                caller_id=caller,
                ringba_call_uuid=f"{prefix}-{suffix}",
                tokens={},
                raw_body="",
            )
        return Call.objects.create(
            number=number,
            offer=offer,
            traffic_source=source,
            lead=lead,
            caller_id=caller,
            started_at=at,
            ended_at=at + timedelta(minutes=3),
            offer_converted=converted,
            offer_converted_at=at + timedelta(minutes=5) if converted else None,
            payout=Decimal(payout) if payout else None,
        )

    def delivery(made, amount):
        ringba_id = made.lead.ringba_call_uuid
        return PostbackDelivery.objects.create(
            trigger=trigger,
            call=made,
            event=Event.CALL_OFFER_CONVERTED,
            url=f"https://webhook.ringba.com/hook/HOOK?call_id={ringba_id}"
            f"&call_revenue={amount}&sale_successful=true",
        )

    def paid(made, amount):
        record_paid(
            delivery(made, amount), amount=amount, ringba_call_id=made.lead.ringba_call_uuid
        )

    late_evening = datetime.combine((day + timedelta(days=2)).date(), time(23, 59, 58), UTC)
    ours = {
        "matched": call("A"),
        "never_sent": call("B", payout="12.50"),
        "sent_not_recorded": call("C", payout="8.00"),
        "rejected": call("D", payout="9.00"),
        "too_late": call("E", at=day - timedelta(days=1)),
        "amount_differs": call("F", payout="20.00"),
        "zero": call("G", payout="11.00"),
        "returned": call("H", payout=None, converted=False),
        "day_boundary": call("J", at=late_evening),
        # Known to us without a Ringba id (no pixel matched): paired by caller and time.
        "by_caller": call(None, caller=CALLER_WITHOUT_ID, at=day + timedelta(hours=2)),
    }
    for name, amount in (
        ("matched", "10.00"),
        ("sent_not_recorded", "8.00"),
        ("amount_differs", "20.00"),
        ("zero", "11.00"),
        ("returned", "7.00"),
        ("day_boundary", "10.00"),
    ):
        paid(ours[name], amount)
    PostbackAttempt.objects.create(
        delivery=delivery(ours["rejected"], "9.00"), number=1, started_at=day, status_code=404
    )
    Call.objects.filter(pk=ours["too_late"].pk).update(
        offer_converted_at=ours["too_late"].started_at + timedelta(days=31)
    )
    LedgerEntry.objects.create(
        call=ours["returned"],
        side=LedgerSide.OFFER,
        kind=LedgerKind.RETURN,
        amount=Decimal("-7.00"),
        total_after=Decimal("0.00"),
        call_version=3,
        reason="caller hung up in the IVR",
    )
    # Converted by neither side: not listed. Outside the period: not listed.
    call("N", converted=False, payout=None)
    call("O", at=day + timedelta(days=17))
    return {"ours": ours, "log": call_log(day, prefix)}


def call_log(day: datetime, prefix: str) -> list[dict]:
    """The partner's Ringba call log for ``build_books(day=day, prefix=prefix)``."""
    late_evening = datetime.combine((day + timedelta(days=2)).date(), time(23, 59, 58), UTC)

    def record(suffix, at, converted, amount, caller=CALLER):
        return {
            "inboundCallId": f"{prefix}-{suffix}",
            "callDt": int(at.timestamp() * 1000),
            "inboundPhoneNumber": caller,
            "hasConverted": converted,
            "conversionAmount": amount,
        }

    national = CALLER_WITHOUT_ID.removeprefix("+1")  # Ringba's report writes it so
    before = datetime.combine(period_of(day)[0], time(0), UTC) - timedelta(hours=1)
    return [
        record("A", day + timedelta(seconds=2), True, 10),
        record("B", day, False, 0),
        record("C", day, False, 0),
        record("D", day, True, 5),
        record("E", day - timedelta(days=1), False, 0),
        record("F", day, True, 15),
        record("G", day, True, 0),  # "Fire Conversions" left blank
        record("H", day, True, 7),
        record("X", day, True, 6),  # a conversion we never paid
        record("Y", day, False, 0),  # a call nobody converted
        record("J", late_evening + timedelta(seconds=5), True, 10),
        record("K", day + timedelta(hours=2, minutes=3), True, 10, caller=national),
        record("Z", before, True, 9),  # before the period
    ]


def as_csv(log: list[dict], *, header=REPORT_HEADER) -> bytes:
    """The log as Ringba's call details report exports it (UTF-8 with a BOM, as Excel)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for record in log:
        moment = datetime.fromtimestamp(record["callDt"] / 1000, tz=UTC)
        writer.writerow(
            [
                f"{moment:%Y-%m-%d %H:%M:%S}",
                record["inboundCallId"],
                record["inboundPhoneNumber"],
                "Yes" if record["hasConverted"] else "No",
                f"${record['conversionAmount']:.2f}",
            ]
        )
    return out.getvalue().encode("utf-8-sig")


SHOWCASE_SOURCE_NAME = "Demo Partner B (differences)"
SHOWCASE_NUMBER = "+18005550109"
SHOWCASE_PREFIX = "DEMO-B"


def ensure_showcase(*, offer, trigger, directory) -> tuple:
    """The demo's second partner, its books, and its call details CSV written to
    ``directory``; return (traffic source, CSV path). Idempotent: the books are
    written once, three days back, and the CSV again from their day."""
    from ..models import Number, TrafficSource

    source, _ = TrafficSource.objects.get_or_create(
        name=SHOWCASE_SOURCE_NAME, defaults={"company": "Demo Publisher B LLC"}
    )
    offer.traffic_sources.add(source)
    number, _ = Number.objects.get_or_create(
        number=SHOWCASE_NUMBER,
        defaults={"offer": offer, "traffic_source": source, "label": "Demo (differences)"},
    )
    first = Call.objects.filter(lead__ringba_call_uuid=f"{SHOWCASE_PREFIX}-A").first()
    if first is None:
        today = timezone.now().astimezone(UTC).date()
        day = datetime.combine(today - timedelta(days=3), time(15), UTC)
        build_books(
            offer=offer,
            source=source,
            number=number,
            trigger=trigger,
            day=day,
            prefix=SHOWCASE_PREFIX,
        )
    else:
        day = first.started_at.astimezone(UTC)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "demo-partner-b-ringba-calls.csv"
    path.write_bytes(as_csv(call_log(day, SHOWCASE_PREFIX)))
    return source, path
