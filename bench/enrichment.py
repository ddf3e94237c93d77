#!/usr/bin/env python
"""`make bench-enrichment`: call start → Ringba's Enrich Call Data at the stand-in.

Ringba attaches enrichment to the caller's *next* call into it, so it must arrive
before the telephony side routes the call there (issue 32, item 6: within 250 ms of
the call-start answer at p99, under the capture benchmark's load). Same harness as
bench/run.py: PostgreSQL ``portal_bench``, gunicorn, the real ``run_worker``, the
stand-in on loopback, wrk sending pixels.

For each call: ``POST /api/v1/calls`` (the demo number, a fresh caller); the clock
starts when its answer is read and stops when the stand-in records the
``/enrich/…`` request carrying that call's ``trackdrive_call_uuid``. Measured idle,
then while wrk sends pixels to the capture endpoint with 16 clients (the capture
benchmark's middle load); the same-run baseline is the idle figure.
"""

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime

from run import (
    RECEIVER_PORT,
    RESULTS,
    ROOT,
    http,
    prepare_database,
    start_gunicorn,
    wrk,
)

GUNICORN = ["--workers", "3", "--threads", "4", "--worker-class", "gthread"]


def enrichment_latency(demo, receiver, count: int, label: str) -> dict:
    samples = []
    for index in range(count):
        call = http(
            "POST",
            "/api/v1/calls",
            {"number": demo.numbers[0].number, "caller_id": f"+1646555{index % 10000:04d}"},
            token=demo.api_token,
        )
        answered = time.time()
        uuid = call["call_uuid"]
        deadline = time.monotonic() + 10
        hit = None
        while hit is None and time.monotonic() < deadline:
            hit = next(
                (
                    h
                    for h in reversed(receiver.hits)
                    if h.path.startswith("/enrich/") and h.query.get("trackdrive_call_uuid") == uuid
                ),
                None,
            )
            if hit is None:
                time.sleep(0.002)
        if hit is None:
            raise SystemExit(f"{label}: the enrichment of call {uuid} never arrived")
        samples.append(max(0.0, hit.received_at - answered))
        time.sleep(0.05 + (index % 7) * 0.03)  # arrivals spread over the worker's poll
    samples.sort()
    return {
        "calls": count,
        "p50_ms": round(statistics.median(samples) * 1000, 1),
        "p95_ms": round(samples[int(len(samples) * 0.95)] * 1000, 1),
        "p99_ms": round(samples[min(len(samples) - 1, int(len(samples) * 0.99))] * 1000, 1),
        "max_ms": round(samples[-1] * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()

    env, demo = prepare_database()
    from integrations.devtools.ringba_stand_in import RingbaReceiver

    web = start_gunicorn(env, GUNICORN, "enrichment-gunicorn.log")
    receiver = RingbaReceiver(port=RECEIVER_PORT).start()
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "run_worker"],
        cwd=ROOT,
        env=env,
        stdout=(RESULTS / "enrichment-worker.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    report = {"run": datetime.now(UTC).strftime("%Y%m%dT%H%M%S"), "calls": args.calls}
    try:
        time.sleep(3)
        enrichment_latency(demo, receiver, 10, "warm-up")
        report["idle"] = enrichment_latency(demo, receiver, args.calls, "idle")
        print(f"idle: {report['idle']}", flush=True)
        load: dict = {}
        seconds = max(10, int(args.calls * 0.2) + 5)
        loader = threading.Thread(
            target=lambda: load.update(wrk("/api/v1/leads/capture", 16, seconds, demo, "ENR")),
            daemon=True,
        )
        loader.start()
        time.sleep(1)
        report["under_load"] = enrichment_latency(demo, receiver, args.calls, "under load")
        loader.join()
        report["capture_load"] = load
        print(f"under capture load (16 clients): {report['under_load']}", flush=True)
        print(f"capture meanwhile: {load}", flush=True)
    finally:
        for process in (web, worker):
            process.terminate()
            process.wait(timeout=15)
        receiver.stop()
    idle, loaded = report["idle"], report["under_load"]
    print(
        f"\nenrichment p99: {idle['p99_ms']} ms idle, {loaded['p99_ms']} ms under load "
        f"(ratio {loaded['p99_ms'] / idle['p99_ms']:.2f}); target p99 <= 250 ms under load."
    )
    (RESULTS / f"enrichment-{report['run']}.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
