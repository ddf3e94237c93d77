"""A partner's books for reconciliation tests: our calls, one per label, and its call log.

Our side is built as the product records it (calls, payments from answered
attempts, a 404 attempt, a return in the ledger); the partner's side is a call log
in Ringba's API shape, which ``as_csv`` writes as Ringba's call details report.
"""

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from integrations.models import (
    Difference,
    Event,
    LedgerEntry,
    LedgerKind,
    LedgerSide,
    PostbackAttempt,
    PostbackDelivery,
)
from tests import factories

PERIOD = {"period_from": date(2026, 11, 1), "period_to": date(2026, 11, 10)}
DAY = datetime(2026, 11, 3, 15, 0, tzinfo=UTC)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def make_books(partner, ringba_trigger) -> dict:
    """Our calls, one per label, and the partner's Ringba call log for the same period."""
    setup = partner

    def call(ringba_id, *, at=DAY, payout="10.00", converted=True, caller="+13125550000"):
        lead = None
        if ringba_id:
            lead = factories.LeadFactory(
                offer=setup["offer"], traffic_source=setup["source"], ringba_call_uuid=ringba_id
            )
        return factories.CallFactory(
            number=setup["number"],
            lead=lead,
            caller_id=caller,
            started_at=at,
            offer_converted=converted,
            offer_converted_at=at + timedelta(minutes=5) if converted else None,
            payout=Decimal(payout) if payout else None,
        )

    def delivery(made, amount):
        return PostbackDelivery.objects.create(
            trigger=ringba_trigger,
            call=made,
            event=Event.CALL_OFFER_CONVERTED,
            url=f"https://webhook.ringba.com/hook/HOOK?call_id={made.lead.ringba_call_uuid}"
            f"&call_revenue={amount}&sale_successful=true",
        )

    def paid(made, amount):
        payment = factories.record_paid(delivery(made, amount), amount=amount)
        payment.ringba_call_id = made.lead.ringba_call_uuid
        payment.save(update_fields=["ringba_call_id"])

    ours = {}
    ours["matched"] = call("RGB-A")
    paid(ours["matched"], "10.00")
    ours["never_sent"] = call("RGB-B", payout="12.50")
    ours["sent_not_recorded"] = call("RGB-C", payout="8.00")
    paid(ours["sent_not_recorded"], "8.00")
    ours["rejected"] = call("RGB-D", payout="9.00")
    PostbackAttempt.objects.create(
        delivery=delivery(ours["rejected"], "9.00"), number=1, started_at=DAY, status_code=404
    )
    ours["too_late"] = call("RGB-E", at=DAY - timedelta(days=1))
    ours["too_late"].offer_converted_at = ours["too_late"].started_at + timedelta(days=31)
    ours["too_late"].save(update_fields=["offer_converted_at"])
    ours["amount_differs"] = call("RGB-F", payout="20.00")
    paid(ours["amount_differs"], "20.00")
    ours["zero"] = call("RGB-G", payout="11.00")
    paid(ours["zero"], "11.00")
    ours["returned"] = call("RGB-H", payout=None, converted=False)
    paid(ours["returned"], "7.00")
    LedgerEntry.objects.create(
        call=ours["returned"],
        side=LedgerSide.OFFER,
        kind=LedgerKind.RETURN,
        amount=Decimal("-7.00"),
        total_after=Decimal("0.00"),
        call_version=3,
    )
    late_evening = datetime(2026, 11, 5, 23, 59, 58, tzinfo=UTC)
    ours["day_boundary"] = call("RGB-J", at=late_evening)
    paid(ours["day_boundary"], "10.00")
    # Known to us without a Ringba id (no pixel matched): paired by caller and time.
    ours["by_caller"] = call(None, caller="+14155550111", at=DAY + timedelta(hours=2))
    # Converted by neither side: not listed. Outside the period: not listed.
    call("RGB-N", converted=False, payout=None)
    call("RGB-O", at=datetime(2026, 11, 20, tzinfo=UTC))

    def record(call_id, at, converted, amount, caller="+13125550000"):
        return {
            "inboundCallId": call_id,
            "callDt": ms(at),
            "inboundPhoneNumber": caller,
            "hasConverted": converted,
            "conversionAmount": amount,
        }

    log = [
        record("RGB-A", DAY + timedelta(seconds=2), True, 10),
        record("RGB-B", DAY, False, 0),
        record("RGB-C", DAY, False, 0),
        record("RGB-D", DAY, True, 5),
        record("RGB-E", DAY - timedelta(days=1), False, 0),
        record("RGB-F", DAY, True, 15),
        record("RGB-G", DAY, True, 0),  # "Fire Conversions" left blank
        record("RGB-H", DAY, True, 7),
        record("RGB-X", DAY, True, 6),  # a conversion we never paid
        record("RGB-Y", DAY, False, 0),  # a call nobody converted
        record("RGB-J", late_evening + timedelta(seconds=5), True, 10),
        record("RGB-K", DAY + timedelta(hours=2, minutes=3), True, 10, caller="4155550111"),
        record("RGB-Z", datetime(2026, 10, 31, 23, 0, tzinfo=UTC), True, 9),  # before
    ]
    return {"ours": ours, "log": log, "source": setup["source"], "ringba": partner}


EXPECTED = {
    "RGB-A": Difference.MATCHED,
    "RGB-B": Difference.NEVER_SENT,
    "RGB-C": Difference.SENT_NOT_RECORDED,
    "RGB-D": Difference.REJECTED_ALREADY_CONVERTED,
    "RGB-E": Difference.TOO_LATE,
    "RGB-F": Difference.AMOUNT_DIFFERS,
    "RGB-G": Difference.ZERO_CONVERSION,
    "RGB-H": Difference.RETURNED_NOT_VOIDED,
    "RGB-X": Difference.NOT_IN_PORTAL,
    "RGB-J": Difference.DAY_BOUNDARY,
    "RGB-K": Difference.MATCHED,
}


def as_csv(log, *, header) -> bytes:
    """The log as Ringba's call details report exports it (report column names)."""
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


REPORT_HEADER = ["Call Date", "Inbound Call ID", "Caller ID", "Converted", "Revenue"]


def labels(run) -> dict:
    return {row.ringba_call_id: row.label for row in run.rows.all()}
