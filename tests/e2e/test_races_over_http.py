"""Races through the real web server: pixels, calls and conversions fired together.

Each round releases competing HTTP requests at the same instant (a barrier) against
a server whose requests really run in parallel: gunicorn with several processes on
PostgreSQL, the threaded development server on SQLite (what ``make run`` runs).
Two inserts that look for each other can both miss unless the write paths are
serialised per (offer, caller); SQLite's deferred transactions answered 503.
"""

import json
import urllib.error
import urllib.request

import pytest
from django.db import connection

from tests.processes import (
    current_database_url,
    free_port,
    manage,
    process_env,
    start,
    start_gunicorn,
    stop,
    wait_for_http,
)
from tests.races import run_rounds
from tests.shipped_data import reinstall_shipped_rows

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _rounds(postgres: int, sqlite: int) -> int:
    return postgres if connection.vendor == "postgresql" else sqlite


@pytest.fixture
def live(tmp_path):
    """The portal on a real server with the demo data; yields what a client needs."""
    port = free_port()
    if connection.vendor == "postgresql":
        from integrations.devtools.demo import seed_demo

        reinstall_shipped_rows()  # an earlier transactional test may have flushed them
        env = process_env(current_database_url(), PUBLIC_BASE_URL=f"http://127.0.0.1:{port}")
        demo = seed_demo()
        facts = {
            "lead_token": demo.offer.lead_token,
            "traffic_source_id": demo.source.traffic_source_id,
            "numbers": [number.number for number in demo.numbers],
            "api_token": demo.api_token,
        }
        server = start_gunicorn(port, env=env, log=tmp_path / "web.log")
    else:
        env = process_env(
            f"sqlite:///{tmp_path / 'race.sqlite3'}",
            RINGBA_WEBHOOK_BASE_URL="http://127.0.0.1:9",  # nothing is delivered here
            RINGBA_ENRICH_BASE_URL="http://127.0.0.1:9",
        )
        assert manage("migrate", env=env).returncode == 0
        facts = json.loads(manage("seed_demo", "--json", env=env).stdout)
        server = start(
            "runserver", f"127.0.0.1:{port}", "--noreload", env=env, log=tmp_path / "web.log"
        )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz")
        yield {**facts, "base": f"http://127.0.0.1:{port}", "log": tmp_path / "web.log"}
    finally:
        stop(server)


def _request(live, path: str, body: dict | None = None, *, auth: bool = False):
    """Send one request; return (status, parsed JSON body)."""
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = f"Token {live['api_token']}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(live["base"] + path, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _caller(round_number: int) -> str:
    return f"+1312555{round_number:04d}"


def _pixel(live, round_number: int):
    return _request(
        live,
        "/api/v1/leads/capture",
        {
            "lead_token": live["lead_token"],
            "traffic_source_id": live["traffic_source_id"],
            "caller_id": _caller(round_number),
            "ringba_call_uuid": f"RGB-PAIR-{round_number}",
        },
    )


def _new_call(live, round_number: int):
    return _request(
        live,
        "/api/v1/calls",
        {"number": live["numbers"][0], "caller_id": _caller(round_number)},
        auth=True,
    )


PAIRS_PER_ROUND = 4


def test_pixel_and_call_released_together_always_end_matched(live):
    rounds_count = _rounds(postgres=60, sqlite=15)

    def pixel(slot):
        return lambda n: _pixel(live, n * PAIRS_PER_ROUND + slot)

    def call(slot):
        return lambda n: _new_call(live, n * PAIRS_PER_ROUND + slot)

    competitors = [make(slot) for slot in range(PAIRS_PER_ROUND) for make in (pixel, call)]
    results = [result for row in run_rounds(rounds_count, competitors) for result in row]

    statuses = [result if isinstance(result, Exception) else result[0] for result in results]
    assert set(statuses) == {201}, (statuses, live["log"].read_text()[-3000:])
    apart = []
    for position in range(1, len(results), 2):
        round_number, slot = divmod(position // 2, PAIRS_PER_ROUND)
        pair = round_number * PAIRS_PER_ROUND + slot
        call_uuid = results[position][1]["call_uuid"]
        status, current = _request(live, f"/api/v1/calls/{call_uuid}", auth=True)
        assert status == 200
        if (current["lead"] or {}).get("ringba_call_uuid") != f"RGB-PAIR-{pair}":
            apart.append(pair)
    assert apart == [], f"{len(apart)} of {len(results) // 2} pairs ended apart"


def test_concurrent_conversions_of_one_call_answer_200_and_fire_once(live):
    calls = []
    for round_number in range(_rounds(postgres=20, sqlite=10)):
        assert _pixel(live, round_number)[0] == 201
        status, call = _new_call(live, round_number)
        assert status == 201 and call["lead"] is not None
        calls.append(call["call_uuid"])

    def convert(round_number):
        return _request(
            live,
            f"/api/v1/calls/update_call/{calls[round_number]}",
            {"offer_converted": True, "payout": "12.50"},
            auth=True,
        )[0]

    rounds = run_rounds(len(calls), [convert] * 6)

    assert all(result == [200] * 6 for result in rounds), (rounds, live["log"].read_text()[-3000:])
    for call_uuid in calls:
        status, events = _request(live, f"/api/v1/calls/{call_uuid}/events", auth=True)
        assert status == 200
        deliveries = events["deliveries"]
        conversions = [d for d in deliveries if d["event"] == "call_offer_converted"]
        assert len(conversions) == 1 and not conversions[0]["is_test"]
        # Delivery rows are kept at one by a constraint whatever the server emits; the
        # call's version counts the writes: created (1), converted once (2), no more.
        status, call = _request(live, f"/api/v1/calls/{call_uuid}", auth=True)
        assert call["version"] == 2, call
