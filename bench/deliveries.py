#!/usr/bin/env python
"""`make bench-deliveries`: postbacks per second at internet latency, and a dead partner.

Same harness as bench/run.py (PostgreSQL database ``portal_bench``, the real
``run_worker``, local receivers on loopback). Three measurements in one run:

1. Deliveries per second from ONE worker process against a receiver that takes
   250 ms per request (a realistic internet round trip to Ringba), for the worker
   sending one postback at a time (``--threads 1``: the design before issue 13,
   the fairest baseline, same code path) and with its default thread pool. The
   tasks are queued first, as web requests queue conversions; the rate runs from
   the first postback received to the last. Duplicates are counted.
2. Conversion -> postback latency (p50) for a healthy partner, alone and while
   another partner's endpoint accepts connections and never answers, with a
   backlog of due postbacks waiting for it.
"""

import argparse
import json
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime

from run import (
    RECEIVER_PORT,
    RESULTS,
    ROOT,
    prepare_database,
    start_gunicorn,
)
from run import (
    postback_latency as conversion_latency,
)

LATENCY = 0.25


def start_worker(env: dict, *extra: str, log: str) -> subprocess.Popen:
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "run_worker", "--interval", "0.05", *extra],
        cwd=ROOT,
        env=env,
        stdout=(RESULTS / log).open("w"),
        stderr=subprocess.STDOUT,
    )
    time.sleep(2)
    return worker


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def make_due(trigger, base_url: str, count: int, prefix: str, demo=None) -> None:
    """Queue ``count`` due deliveries; with ``demo``, each the conversion of its own call.

    Conversion postbacks are what a worker mostly sends: each passes the send gate
    (the call's row lock, the payment check) and records a payment. Without ``demo``
    the rows belong to no call, as the benchmark measured before the gate existed.
    """
    from django.utils import timezone

    from integrations.models import Call, DeliveryStatus, PostbackDelivery

    now = timezone.now()
    calls = [None] * count
    if demo is not None:
        number = demo.numbers[0]
        calls = Call.objects.bulk_create(
            [
                Call(
                    number=number,
                    offer=demo.offer,
                    traffic_source=demo.source,
                    caller_id=f"+1212{index:07d}",
                    offer_converted=True,
                    payout="10.00",
                    offer_converted_at=now,
                )
                for index in range(count)
            ]
        )
    PostbackDelivery.objects.bulk_create(
        [
            PostbackDelivery(
                trigger=trigger,
                event=trigger.event,
                call=calls[index],
                url=f"{base_url}/hook/{prefix}-{index}?call_id={prefix}-{index}&call_revenue=10.00",
                status=DeliveryStatus.PENDING,
                next_attempt_at=now,
            )
            for index in range(count)
        ]
    )


def rate(env, demo, receiver, *, threads: int, count: int, conversions: bool = False) -> dict:
    """Deliveries per second for one worker with ``threads`` threads.

    All tasks are queued before the worker starts (as web requests queue each
    conversion), so this measures the worker alone, from the first postback the
    receiver sees to the last; the worker's start-up is not counted.
    """
    from integrations.models import PostbackDelivery
    from integrations.tasks import enqueue_delivery

    prefix = f"rate{threads}-{time.time_ns()}"
    make_due(
        demo.trigger,
        f"http://127.0.0.1:{RECEIVER_PORT}",
        count,
        prefix,
        demo=demo if conversions else None,
    )
    for delivery_id in PostbackDelivery.objects.filter(url__contains=prefix).values_list(
        "pk", flat=True
    ):
        enqueue_delivery(delivery_id)
    worker = start_worker(env, "--threads", str(threads), log=f"worker-threads{threads}.log")
    try:
        started = time.monotonic()
        hits = []
        while len(hits) < count and time.monotonic() - started < 300:
            hits = [hit for hit in receiver.hits if hit.path.startswith(f"/hook/{prefix}")]
            time.sleep(0.05)
        time.sleep(1)  # let any duplicate surface
    finally:
        stop(worker)
    hits = [hit for hit in receiver.hits if hit.path.startswith(f"/hook/{prefix}")]
    paths = Counter(hit.path for hit in hits)
    span = max(hit.received_at for hit in hits) - min(hit.received_at for hit in hits)
    return {
        "threads": threads,
        "deliveries": len(paths),
        "duplicates": sum(paths.values()) - len(paths),
        "seconds": round(span, 2),
        "per_second": round((len(paths) - 1) / span, 1) if span else None,
    }


def latency_with_dead_partner(env, demo, receiver, *, dead_backlog: int, conversions: int):
    """p50 conversion -> postback latency, alone and beside a partner that never answers."""
    from integrations.models import EventTrigger
    from tests.hostile_server import HANG, HostileServer

    receiver.behaviour.delay = 0.0
    worker = start_worker(env, log="worker-dead-partner.log")
    dead = HostileServer([HANG])
    try:
        alone = conversion_latency(demo, receiver, conversions)
        dead_trigger = EventTrigger.objects.create(
            name="dead partner",
            event=demo.trigger.event,
            url_template=f"{dead.base_url}/hook/[x]",
        )
        make_due(dead_trigger, dead.base_url, dead_backlog, "dead")
        started = time.monotonic()
        time.sleep(2)  # the dead partner's attempts are in flight now
        beside_dead = conversion_latency(demo, receiver, conversions)
        attempts, seconds = len(dead.requests), time.monotonic() - started
    finally:
        stop(worker)
        dead.stop()
    return {
        "alone_p50_s": alone["p50_s"],
        "beside_dead_p50_s": beside_dead["p50_s"],
        "added_p50_s": round(beside_dead["p50_s"] - alone["p50_s"], 3),
        # Attempts the dead partner received while the healthy one was measured: at
        # most the per-host bound per attempt deadline (each is cut at the deadline).
        "dead_partner_attempts": attempts,
        "dead_partner_seconds": round(seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1000, help="deliveries for the pool")
    parser.add_argument("--baseline-count", type=int, default=40)
    parser.add_argument("--conversions", type=int, default=20)
    args = parser.parse_args()

    env, demo = prepare_database()
    from integrations.devtools.ringba_stand_in import Behaviour, RingbaReceiver

    receiver = RingbaReceiver(port=RECEIVER_PORT, behaviour=Behaviour(delay=LATENCY)).start()
    web = start_gunicorn(env, ["--workers", "2", "--threads", "4"], "gunicorn-deliveries.log")
    report = {"run": datetime.now(UTC).strftime("%Y%m%dT%H%M%S"), "latency_s": LATENCY}
    try:
        print(f"Deliveries per second, one worker, receiver latency {LATENCY} s:", flush=True)
        report["one_at_a_time"] = rate(env, demo, receiver, threads=1, count=args.baseline_count)
        print(f"  threads=1: {report['one_at_a_time']}", flush=True)
        from django.conf import settings

        threads = settings.POSTBACK_WORKER_THREADS
        report["pool"] = rate(env, demo, receiver, threads=threads, count=args.count)
        print(f"  threads={threads}: {report['pool']}", flush=True)
        report["pool_conversions"] = rate(
            env, demo, receiver, threads=threads, count=args.count, conversions=True
        )
        print(
            f"  threads={threads}, each the conversion of a call: {report['pool_conversions']}",
            flush=True,
        )
        print("Healthy partner's latency beside a partner that never answers:", flush=True)
        report["dead_partner"] = latency_with_dead_partner(
            env, demo, receiver, dead_backlog=200, conversions=args.conversions
        )
        print(f"  {report['dead_partner']}", flush=True)
    finally:
        stop(web)
        receiver.stop()
    ratio = report["pool"]["per_second"] / max(report["one_at_a_time"]["per_second"], 0.1)
    report["pool_vs_one_at_a_time"] = round(ratio, 1)
    print(
        f"\n| measure | value |\n|---|---|\n"
        f"| one worker, one at a time (baseline) | {report['one_at_a_time']['per_second']}/s |\n"
        f"| one worker, {threads} threads | {report['pool']['per_second']}/s "
        f"({report['pool_vs_one_at_a_time']}x) |\n"
        f"| one worker, {threads} threads, conversions of calls | "
        f"{report['pool_conversions']['per_second']}/s |\n"
        f"| duplicates | {report['pool']['duplicates'] + report['one_at_a_time']['duplicates']} |\n"
        f"| healthy p50 alone / beside a dead partner | "
        f"{report['dead_partner']['alone_p50_s']} s / "
        f"{report['dead_partner']['beside_dead_p50_s']} s |"
    )
    path = RESULTS / f"deliveries-{report['run']}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    print(f"\nwritten: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
