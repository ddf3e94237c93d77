#!/usr/bin/env python
"""`make bench-reconcile`: one partner's month (100,000 paid calls) reconciled with Ringba.

Same harness as bench/run.py (PostgreSQL database ``portal_bench``, dropped and
re-created). Our side: ``--calls`` converted calls of the demo partner over November
2026, each paid (delivery, attempt, payment), as the worker records them. Their
side: Ringba's call log for the same calls, as the call details CSV and as the
stand-in's call-log API (1000 calls a page over HTTP): mostly equal, with a share
of each kind of difference, plus conversions we never paid.

Measured in the same run:
- the **floor**: reading both sides and nothing else — our calls' columns from one
  query, streamed, and every CSV row parsed (csv module, Decimal amount, date);
  the least any reconciliation must do;
- ``reconcile`` from the CSV, and from the API, rows written;
- the memory the partner's side takes while read (tracemalloc peak) against the
  file's size: streamed, it stays a small fraction.
Target (issue 33): under 60 s for 100,000 calls.
"""

import argparse
import csv
import io
import json
import sys
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from run import RESULTS, prepare_database

MONTH_START = datetime(2026, 11, 1, tzinfo=UTC)
PERIOD = {"period_from": date(2026, 11, 1), "period_to": date(2026, 11, 30)}


def fill_our_side(demo, count: int) -> float:
    """``count`` converted, paid calls spread over the month; return seconds taken."""
    from integrations.models import (
        Call,
        DeliveryStatus,
        Event,
        Lead,
        Payment,
        PostbackAttempt,
        PostbackDelivery,
    )

    started = time.monotonic()
    step = timedelta(days=30) / count
    batch = 5000
    for first in range(0, count, batch):
        indexes = range(first, min(first + batch, count))
        leads = Lead.objects.bulk_create(
            [
                Lead(
                    offer=demo.offer,
                    traffic_source=demo.source,
                    caller_id=_caller(i),
                    ringba_call_uuid=f"REC-{i}",
                    tokens={},
                    raw_body="",
                )
                for i in indexes
            ]
        )
        calls = Call.objects.bulk_create(
            [
                Call(
                    call_uuid=f"REC-CALL-{i}",
                    number=demo.numbers[0],
                    offer=demo.offer,
                    traffic_source=demo.source,
                    caller_id=_caller(i),
                    lead=lead,
                    started_at=MONTH_START + step * i,
                    ended_at=MONTH_START + step * i + timedelta(minutes=3),
                    offer_converted=True,
                    offer_converted_at=MONTH_START + step * i + timedelta(minutes=4),
                    payout=Decimal("12.50"),
                )
                for i, lead in zip(indexes, leads, strict=True)
            ]
        )
        deliveries = PostbackDelivery.objects.bulk_create(
            [
                PostbackDelivery(
                    trigger=demo.trigger,
                    call=call,
                    event=Event.CALL_OFFER_CONVERTED,
                    status=DeliveryStatus.DELIVERED,
                    url=f"https://webhook.ringba.com/hook/x?call_id=REC-{i}&call_revenue=12.50",
                )
                for i, call in zip(indexes, calls, strict=True)
            ]
        )
        attempts = PostbackAttempt.objects.bulk_create(
            [
                PostbackAttempt(
                    delivery=delivery,
                    number=1,
                    started_at=delivery.call.started_at,
                    status_code=200,
                )
                for delivery in deliveries
            ]
        )
        Payment.objects.bulk_create(
            [
                Payment(
                    call=delivery.call,
                    delivery=delivery,
                    attempt=attempt,
                    ringba_call_id=f"REC-{i}",
                    amount=Decimal("12.50"),
                    paid_at=delivery.call.started_at,
                    evidence="Ringba answered 200",
                )
                for i, delivery, attempt in zip(indexes, deliveries, attempts, strict=True)
            ]
        )
    return time.monotonic() - started


def _caller(i: int) -> str:
    return f"+1773{i % 10_000_000:07d}"


def their_records(count: int) -> list[dict]:
    """Ringba's log of the same calls: 1 in 100 differs in amount, 1 in 200 shows no
    conversion, 1 in 500 is missing, and 1 in 1000 more are conversions we never paid."""
    step = timedelta(days=30) / count
    records = []
    for i in range(count):
        if i % 500 == 7:
            continue
        amount, converted = 12.5, True
        if i % 100 == 3:
            amount = 10.0
        if i % 200 == 5:
            amount, converted = 0, False
        moment = MONTH_START + step * i + timedelta(seconds=2)
        records.append(
            {
                "inboundCallId": f"REC-{i}",
                "callDt": int(moment.timestamp() * 1000),
                "inboundPhoneNumber": _caller(i),
                "hasConverted": converted,
                "conversionAmount": amount,
            }
        )
    for extra in range(count // 1000):
        moment = MONTH_START + timedelta(hours=extra % 700)
        records.append(
            {
                "inboundCallId": f"REC-EXTRA-{extra}",
                "callDt": int(moment.timestamp() * 1000),
                "inboundPhoneNumber": "+17085550000",
                "hasConverted": True,
                "conversionAmount": 9.0,
            }
        )
    records.sort(key=lambda record: record["callDt"])
    return records


def write_csv(records: list[dict]) -> bytes:
    """The log as Ringba's call details report (the showcase's writer, the tests' too)."""
    from integrations.devtools.reconciliation_showcase import as_csv

    return as_csv(records)


def floor(demo, content: bytes) -> float:
    """Read both sides and nothing else: the least a reconciliation must do."""
    from integrations.models import Call

    started = time.monotonic()
    ours = 0
    for _row in (
        Call.objects.filter(
            traffic_source=demo.source,
            started_at__gte=MONTH_START,
            started_at__lt=MONTH_START + timedelta(days=30),
        )
        .values_list("pk", "caller_id", "started_at", "payout", "lead__ringba_call_uuid")
        .iterator(chunk_size=5000)
    ):
        ours += 1
    theirs = 0
    reader = csv.reader(io.TextIOWrapper(io.BytesIO(content), encoding="utf-8"))
    next(reader)
    for row in reader:
        datetime.strptime(row[0], "%Y-%m-%d %H:%M:%S")
        Decimal(row[4].lstrip("$"))
        theirs += 1
    assert ours and theirs
    return time.monotonic() - started


def timed(function):
    started = time.monotonic()
    result = function()
    return result, time.monotonic() - started


def partner_side_memory(content: bytes) -> int:
    """Peak bytes allocated while the partner's CSV is read through (nothing kept)."""
    from integrations.services.partner_call_log import read_csv

    stream = io.BytesIO(content)  # the upload itself is Django's (a temp file past 2.5 MB)
    tracemalloc.start()
    for _their in read_csv(stream):
        pass
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    env, demo = prepare_database()
    from integrations.devtools.demo import DEMO_RINGBA_ACCOUNT_ID, demo_ringba_api_token
    from integrations.devtools.ringba_stand_in import RingbaReceiver
    from integrations.models import ReconciliationRun
    from integrations.services.reconciliation import reconcile_partner

    print(f"Filling {args.calls:,} paid calls …", flush=True)
    fill_seconds = fill_our_side(demo, args.calls)
    records = their_records(args.calls)
    content = write_csv(records)
    receiver = RingbaReceiver(api_tokens={DEMO_RINGBA_ACCOUNT_ID: demo_ringba_api_token()}).start()
    receiver.call_log.extend(records)
    from django.conf import settings

    settings.RINGBA_API_BASE_URL = receiver.api_base_url
    settings.POSTBACK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.POSTBACK_ALLOW_PRIVATE_IPS = True

    rounds = []
    try:
        for round_number in range(args.repeat):
            floor_seconds = floor(demo, content)
            by_csv, csv_seconds = timed(
                lambda: reconcile_partner(
                    demo.source, csv_file=io.BytesIO(content), file_name="bench.csv", **PERIOD
                )
            )
            by_api, api_seconds = timed(lambda: reconcile_partner(demo.source, **PERIOD))
            assert not by_csv.error and not by_api.error, (by_csv.error, by_api.error)
            assert by_csv.counts == by_api.counts, (by_csv.counts, by_api.counts)
            rounds.append(
                {
                    "floor_s": round(floor_seconds, 2),
                    "csv_s": round(csv_seconds, 2),
                    "api_s": round(api_seconds, 2),
                    "csv_over_floor": round(csv_seconds / floor_seconds, 2),
                    "api_over_floor": round(api_seconds / floor_seconds, 2),
                }
            )
            print(f"  round {round_number + 1}: {rounds[-1]}", flush=True)
        counts = by_csv.counts
        peak = partner_side_memory(content)
    finally:
        receiver.stop()
    report = {
        "calls": args.calls,
        "their_rows": len(records),
        "csv_bytes": len(content),
        "fill_seconds": round(fill_seconds, 1),
        "rounds": rounds,
        "counts": counts,
        "rows_written": sum(counts.values()),
        "partner_side_peak_bytes": peak,
        "peak_over_file": round(peak / len(content), 3),
        "runs_kept": ReconciliationRun.objects.count(),
    }
    print(json.dumps(report, indent=1))
    best = min(rounds, key=lambda r: r["csv_s"])
    print(
        f"\n{args.calls:,} calls: CSV {best['csv_s']} s, API {best['api_s']} s "
        f"(floor {best['floor_s']} s; ratio {best['csv_over_floor']} / {best['api_over_floor']}); "
        f"target < 60 s. Partner side peak {peak / 2**20:.1f} MiB for a "
        f"{len(content) / 2**20:.1f} MiB file."
    )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"reconcile-{stamp}.json").write_text(json.dumps(report, indent=2))
    return env


if __name__ == "__main__":
    sys.exit(main() and 0)
