"""Drive the whole loop over real HTTP against a running portal, like production would.

1. fire a Ringba-shaped pixel at the Leads Capture API,
2. report the call on the demo number from the same caller (calls API),
3. convert it for the traffic source (update_call),
4. wait until the postback reaches the local Ringba stand-in, and check it.

Prints each step and a verdict; exits non-zero on failure. Uses the demo data
(``seed_demo``) for the lead token, traffic source, number and API token.
"""

import json
import secrets
import time
import urllib.error
import urllib.request
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from ...devtools.demo import seed_demo
from ...ringba import WEBHOOK_TOKEN_NAME

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def _request(method: str, url: str, body: dict | None = None, token: str | None = None):
    if not url.startswith(("http://", "https://")):
        raise CommandError(f"{url} is not an http(s) URL")
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 (checked above)
    request.add_header("Content-Type", "application/json")
    request.add_header("User-Agent", "Ringba-Simulator/1.0")
    if token:
        request.add_header("Authorization", f"Token {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (our URLs)
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")
    except OSError as exc:
        raise CommandError(
            f"cannot reach {url} ({exc}); is the portal running (make run)?"
        ) from None


class Command(BaseCommand):
    help = "Simulate pixel → call → conversion over HTTP and wait for the Ringba postback."

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default=settings.PUBLIC_BASE_URL)
        parser.add_argument(
            "--receiver-url",
            default="http://127.0.0.1:8025",
            help="The local Ringba stand-in (manage.py ringba_receiver); loopback only.",
        )
        parser.add_argument("--payout", default="12.50")
        parser.add_argument("--timeout", type=float, default=15.0)

    def handle(self, *args, **options):
        base, receiver = options["base_url"].rstrip("/"), options["receiver_url"].rstrip("/")
        if urlsplit(receiver).hostname not in LOOPBACK_HOSTS:
            raise CommandError(
                f"{receiver} is not a local address: simulate_call only talks to the local "
                "Ringba stand-in (manage.py ringba_receiver), never to Ringba itself."
            )
        try:
            demo = seed_demo()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from None
        number = demo.numbers[0]
        webhook_token = number.extra_tokens.get(key=WEBHOOK_TOKEN_NAME).value
        ringba_call_uuid = "SIM" + secrets.token_hex(8).upper()
        caller = f"+1312555{secrets.randbelow(10000):04d}"

        status, body = _request(
            "POST",
            f"{base}/api/v1/leads/capture",
            {
                "lead_token": demo.offer.lead_token,
                "traffic_source_id": str(demo.source.traffic_source_id),
                "caller_id": caller,
                "ringba_call_uuid": ringba_call_uuid,
                "first_name": "Simulated",
                "last_name": "Caller",
            },
        )
        self._step(1, f"pixel → {status} {body.get('status') if body else ''}", status == 201)

        status, call = _request(
            "POST",
            f"{base}/api/v1/calls",
            {"number": number.number, "caller_id": caller},
            token=demo.api_token,
        )
        attached = (
            status == 201 and call["lead"] and call["lead"]["ringba_call_uuid"] == ringba_call_uuid
        )
        self._step(
            2, f"call on {number.number} → {status}, lead attached: {bool(attached)}", attached
        )

        status, converted = _request(
            "POST",
            f"{base}/api/v1/calls/update_call/{call['call_uuid']}",
            {"offer_converted": True, "payout": options["payout"]},
            token=demo.api_token,
        )
        self._step(
            3,
            f"conversion (payout {options['payout']}) → {status}",
            status == 200 and converted["offer_converted"],
        )

        started = time.monotonic()
        hits = self._wait_for_hit(receiver, ringba_call_uuid, options["timeout"])
        elapsed = time.monotonic() - started
        expected_query = {
            "call_id": [ringba_call_uuid],
            "call_revenue": [f"{float(options['payout']):.2f}"],
            "sale_successful": ["true"],
        }
        ok = (
            len(hits) == 1
            and hits[0]["path"] == f"/hook/{webhook_token}"
            and parse_qs(hits[0]["raw_query"]) == expected_query
        )
        shown = f"{hits[0]['path']}?{hits[0]['raw_query']}" if hits else "nothing"
        self._step(
            4,
            f"postback at the Ringba stand-in after {elapsed:.2f} s: {shown} ({len(hits)} hit(s))",
            ok,
        )

        status, events = _request(
            "GET", f"{base}/api/v1/calls/{call['call_uuid']}/events", token=demo.api_token
        )
        states = [(event["status"], len(event["attempts"])) for event in events or []]
        self._step(5, f"delivery log: {states}", states == [("delivered", 1)])
        self.stdout.write(
            self.style.SUCCESS(
                f"PASS: the loop closed for call {call['call_uuid']} in {elapsed:.2f} s"
            )
        )

    def _wait_for_hit(self, receiver: str, ringba_call_uuid: str, timeout: float) -> list[dict]:
        deadline = time.monotonic() + timeout
        matching: list[dict] = []
        while time.monotonic() < deadline:
            _, hits = _request("GET", f"{receiver}/__hits")
            matching = [
                hit for hit in hits or [] if hit["query"].get("call_id") == ringba_call_uuid
            ]
            if matching:
                time.sleep(0.5)  # linger: a duplicate postback would show up now
                _, hits = _request("GET", f"{receiver}/__hits")
                return [
                    hit for hit in hits or [] if hit["query"].get("call_id") == ringba_call_uuid
                ]
            time.sleep(0.05)
        return matching

    def _step(self, number: int, text: str, ok: bool) -> None:
        mark = self.style.SUCCESS("ok  ") if ok else self.style.ERROR("FAIL")
        self.stdout.write(f"[{mark}] {number}. {text}")
        if not ok:
            raise CommandError(f"step {number} failed: {text}")
