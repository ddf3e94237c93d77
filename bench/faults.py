#!/usr/bin/env python
"""`make faults`: the product's processes under failure, each scenario with a verdict.

1. The Ringba receiver dies mid-run and comes back: every postback still arrives
   exactly once (retried while it was down).
2. PostgreSQL restarts under pixel load: the web app answers 503 during the outage
   and recovers without a restart, every 2xx pixel is a stored lead, the worker
   survives and delivers what was due.
3. A worker is killed (SIGKILL) in the middle of a delivery: its attempt is on
   record (in flight) before the request left; a new worker sends it again once
   the lease runs out, the receiver answers as Ringba does to a second conversion
   of one call id (404), and the delivery is recorded delivered by the killed
   attempt, not failed (at-least-once, recognised).
4. A worker is killed (SIGKILL) in the middle of a return's adjustment at the
   partner's Ringba: the attempt is on record before the request left; a new
   worker sends it again after the lease, and because the request sets an
   absolute amount (an override to 0), the partner's Ringba ends holding 0 — one
   adjustment in effect, whatever was repeated.

Runs on the bench database (portal_bench) with gunicorn, run_worker and the local
receiver; writes bench/results/faults-<timestamp>.json.
"""

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import (
    GUNICORN,
    PORT,
    RECEIVER_PORT,
    RESULTS,
    ROOT,
    http,
    pixel_and_call,
    prepare_database,
    start_gunicorn,
)

FAST_RETRIES = "1,1,2,2,4,8,8"


def convert(demo, caller: str, uuid: str) -> str:
    """Pixel, call and conversion over HTTP; return the call uuid."""
    call = pixel_and_call(demo, caller, uuid)
    http(
        "POST",
        f"/api/v1/calls/update_call/{call['call_uuid']}",
        {"offer_converted": True, "payout": "10"},
        token=demo.api_token,
    )
    return call["call_uuid"]


# The scenarios follow the conversions' postbacks; each call's start also enriches
# the stand-in (the demo offer's Ringba IDE trigger), which they leave aside.
CONVERSION = "call_offer_converted"


def postbacks(receiver) -> list:
    return [hit for hit in receiver.hits if hit.path.startswith("/hook/")]


def deliveries_settled(call_uuids, timeout: float) -> bool:
    from integrations.models import PostbackDelivery

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        statuses = set(
            PostbackDelivery.objects.filter(
                call__call_uuid__in=call_uuids, is_test=False, event=CONVERSION
            ).values_list("status", flat=True)
        )
        count = PostbackDelivery.objects.filter(
            call__call_uuid__in=call_uuids, event=CONVERSION
        ).count()
        if statuses == {"delivered"} and count == len(call_uuids):
            return True
        time.sleep(0.25)
    return False


def start_worker(env, name: str) -> subprocess.Popen:
    log = RESULTS / f"{name}.log"
    return subprocess.Popen(
        [sys.executable, "manage.py", "run_worker"],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


def receiver_down_and_back(demo, env) -> dict:
    from integrations.devtools.ringba_stand_in import RingbaReceiver

    first = RingbaReceiver(port=RECEIVER_PORT).start()
    worker = start_worker(env, "faults-worker-1")
    uuids, calls = [], []
    try:
        for index in range(20):
            if index == 10:
                first.wait_for(10, timeout=15)  # the first half is delivered ...
                first.stop()  # ... then Ringba's webhook goes away: connections refused
            uuid = f"RCV-{time.time_ns()}-{index}"
            uuids.append(uuid)
            calls.append(convert(demo, f"+1646555{index:04d}", uuid))
        time.sleep(3)
        second = RingbaReceiver(port=RECEIVER_PORT).start()
        settled = deliveries_settled(calls, 60)
        time.sleep(1)
    finally:
        worker.terminate()
        worker.wait(10)
    hits = [hit.query.get("call_id") for hit in postbacks(first) + postbacks(second)]
    second.stop()
    exactly_once = all(hits.count(uuid) == 1 for uuid in uuids)
    from integrations.models import PostbackDelivery

    retried = PostbackDelivery.objects.filter(
        call__call_uuid__in=calls, attempt_count__gt=1, event=CONVERSION
    ).count()
    return {
        "conversions": 20,
        "received_while_up": len(postbacks(first)),
        "received_after_return": len(postbacks(second)),
        "retried_deliveries": retried,
        "all_delivered": settled,
        "each_exactly_once": exactly_once,
        "holds": settled and exactly_once and retried > 0,
    }


def postgres_restart(demo, env) -> dict:
    from integrations.devtools.ringba_stand_in import RingbaReceiver
    from integrations.models import Lead

    receiver = RingbaReceiver(port=RECEIVER_PORT).start()
    worker = start_worker(env, "faults-worker-2")
    stop = threading.Event()
    outcomes: list[tuple[int, str]] = []
    lock = threading.Lock()

    def fire(thread: int):
        sent = 0
        while not stop.is_set():
            sent += 1
            uuid = f"PGR-{thread}-{sent}-{time.time_ns()}"
            body = json.dumps(
                {
                    "lead_token": demo.offer.lead_token,
                    "traffic_source_id": str(demo.source.traffic_source_id),
                    "caller_id": f"+1718555{sent % 10000:04d}",
                    "ringba_call_uuid": uuid,
                }
            ).encode()
            request = urllib.request.Request(
                f"http://127.0.0.1:{PORT}/api/v1/leads/capture",
                data=body,
                method="POST",
                headers={"Content-Type": "application/json"},
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    status = response.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError:
                status = 0  # connection-level failure
            with lock:
                outcomes.append((status, uuid))
            time.sleep(0.01)

    threads = [threading.Thread(target=fire, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(3)
        due = [
            convert(demo, f"+1917555{index:04d}", f"PGD-{time.time_ns()}-{index}")
            for index in range(5)
        ]
        version = sorted(Path("/usr/lib/postgresql").iterdir())[-1].name
        restarted_at = len(outcomes)
        subprocess.run(["pg_ctlcluster", version, "main", "restart"], check=True)
        time.sleep(6)
        stop.set()
        for thread in threads:
            thread.join(15)
        from django.db import connections

        connections.close_all()
        settled = deliveries_settled(due, 60)
        worker_alive = worker.poll() is None
    finally:
        worker.terminate()
        worker.wait(10)
        receiver.stop()
    accepted = [uuid for status, uuid in outcomes if 200 <= status < 300]
    stored = Lead.objects.filter(ringba_call_uuid__in=accepted).count()
    statuses = sorted({status for status, _ in outcomes})
    after = [status for status, _ in outcomes[-20:]]
    return {
        "requests": len(outcomes),
        "requests_before_restart": restarted_at,
        "accepted_2xx": len(accepted),
        "stored_of_accepted": stored,
        "statuses_seen": statuses,
        "server_errors_500": sum(s == 500 for s, _ in outcomes),
        "last_20_all_2xx": all(200 <= s < 300 for s in after),
        "worker_survived": worker_alive,
        "due_deliveries_delivered": settled,
        "holds": stored == len(accepted)
        and 500 not in statuses
        and worker_alive
        and settled
        and all(200 <= s < 300 for s in after),
    }


def worker_killed_mid_delivery(demo, env) -> dict:
    from integrations.devtools.ringba_stand_in import Behaviour, RingbaReceiver
    from integrations.models import PostbackDelivery

    receiver = RingbaReceiver(
        port=RECEIVER_PORT, behaviour=Behaviour(delay=3, one_conversion_per_call=True)
    ).start()
    worker = start_worker(env, "faults-worker-3")
    uuid = f"KIL-{time.time_ns()}"
    try:
        time.sleep(1.5)
        call = convert(demo, "+12125550199", uuid)
        receiver.wait_for(1, timeout=15)
        worker.kill()  # SIGKILL while the request is in flight
        worker.wait(10)
        receiver.behaviour.delay = 0
        killed_at = time.monotonic()
        replacement = start_worker(env, "faults-worker-3b")
        settled = deliveries_settled([call], 90)
        recovered_after = time.monotonic() - killed_at
        replacement.terminate()
        replacement.wait(10)
    finally:
        receiver.stop()
    delivery = PostbackDelivery.objects.get(call__call_uuid=call, is_test=False, event=CONVERSION)
    hits = [hit for hit in receiver.hits if hit.query.get("call_id") == uuid]
    attempts = list(delivery.attempts.order_by("number"))
    killed_on_record = bool(attempts) and "outcome unknown" in attempts[0].error
    return {
        "delivered": settled,
        "status": delivery.status,
        "receiver_hits": len(hits),
        "attempt_count": delivery.attempt_count,
        "attempts": [(a.number, a.status_code, a.in_flight, a.error[:60]) for a in attempts],
        "seconds_until_redelivered": round(recovered_after, 1),
        "holds": settled and len(hits) >= 1 and delivery.status == "delivered" and killed_on_record,
    }


def worker_killed_mid_adjustment(demo, env) -> dict:
    from integrations.devtools.demo import DEMO_RINGBA_ACCOUNT_ID, demo_ringba_api_token
    from integrations.devtools.ringba_stand_in import Behaviour, RingbaReceiver
    from integrations.models import RingbaAdjustment

    receiver = RingbaReceiver(
        port=RECEIVER_PORT,
        behaviour=Behaviour(one_conversion_per_call=True),
        api_tokens={DEMO_RINGBA_ACCOUNT_ID: demo_ringba_api_token()},
    ).start()
    worker = start_worker(env, "faults-worker-4")
    uuid = f"ADJ-{time.time_ns()}"
    try:
        time.sleep(1.5)
        call = convert(demo, "+12125550177", uuid)
        paid = deliveries_settled([call], 60)
        receiver.behaviour.api_delay = 3
        http(
            "POST",
            f"/api/v1/calls/{call}",
            {"offer_converted": False, "return_reason": "fault drill"},
            token=demo.api_token,
        )
        deadline = time.monotonic() + 30
        while not receiver.api_hits() and time.monotonic() < deadline:
            time.sleep(0.05)
        worker.kill()  # SIGKILL while the override is at the partner's Ringba
        worker.wait(10)
        receiver.behaviour.api_delay = 0
        replacement = start_worker(env, "faults-worker-4b")
        deadline = time.monotonic() + 90
        adjusted = False
        while time.monotonic() < deadline and not adjusted:
            adjusted = RingbaAdjustment.objects.filter(
                call__call_uuid=call, status="adjusted"
            ).exists()
            time.sleep(0.25)
        replacement.terminate()
        replacement.wait(10)
    finally:
        receiver.stop()
    adjustments = list(RingbaAdjustment.objects.filter(call__call_uuid=call))
    attempts = [
        (a.number, a.status_code, a.error[:60])
        for adjustment in adjustments
        for a in adjustment.attempts.order_by("number")
    ]
    held = receiver.conversion_amounts.get(uuid)
    return {
        "paid_first": paid,
        "adjustments": len(adjustments),
        "status": [adjustment.status for adjustment in adjustments],
        "api_requests": len(receiver.api_hits()),
        "attempts": attempts,
        "ringba_holds": held,
        "holds": paid and adjusted and len(adjustments) == 1 and held == 0.0,
    }


def main() -> None:
    os.environ.update(
        {
            "POSTBACK_RETRY_SCHEDULE": FAST_RETRIES,
            "POSTBACK_CONNECT_TIMEOUT": "1",
            "POSTBACK_READ_TIMEOUT": "5",
        }
    )
    env, demo = prepare_database()
    web = start_gunicorn(env, GUNICORN, "faults-gunicorn.log")
    report = {}
    try:
        for name, scenario in [
            ("receiver_down_and_back", receiver_down_and_back),
            ("postgres_restart", postgres_restart),
            ("worker_killed_mid_delivery", worker_killed_mid_delivery),
            ("worker_killed_mid_adjustment", worker_killed_mid_adjustment),
        ]:
            print(f"== {name}", flush=True)
            report[name] = scenario(demo, env)
            print(f"   {report[name]}", flush=True)
    finally:
        web.terminate()
        web.wait(15)
    print("\n| scenario | verdict |\n|---|---|")
    for name, result in report.items():
        print(f"| {name} | {'held' if result['holds'] else 'FAILED'} |")
    path = RESULTS / f"faults-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"written: {path.relative_to(ROOT)}")
    if not all(result["holds"] for result in report.values()):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
