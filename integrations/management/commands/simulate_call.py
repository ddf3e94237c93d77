"""Drive the whole loop over real HTTP against a running portal, like production would.

1. fire a Ringba-shaped pixel at the Leads Capture API,
2. report the call on the demo number from the same caller (calls API),
3. convert it for the traffic source (update_call),
4. wait until the postback reaches the local Ringba stand-in, and check it.

With ``--return``, the call is then returned (``offer_converted=false`` with a
``return_reason``) and the partner's Ringba is expected to get one override of
the conversion to 0 through its API (the stand-in checks the demo partner's token).

With ``--finalized``, the Lead-to-Call path (SPEC §12) instead: a Finalized pixel to
the demo schedule, the dialer's claim, the callback call reported with
``schedule_lead``, its conversion, and the postback for the original Ringba call id.

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

from ...devtools.demo import RINGBA_NUMBER_ID, seed_demo
from ...outbound.error_summaries import summary_of
from ...rules.ringba import WEBHOOK_TOKEN_NAME

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


CONVERSION = "call_offer_converted"


def _why_not_sent(base: str, call_uuid: str, token: str, event: str) -> str:
    """What the portal knows of the call's ``event`` deliveries, in one line."""
    status, body = _request("GET", f"{base}/api/v1/calls/{call_uuid}/events", token=token)
    if status != 200:
        return f"the call's events could not be read ({status})"
    found = [d for d in (body or {}).get("deliveries", []) if d["event"] == event]
    if not found:
        return f"no {event} postback was planned (is a trigger enabled for this partner?)"
    parts = []
    for delivery in found:
        reason = summary_of(delivery.get("skip_reason") or delivery.get("last_error") or "")
        attempts = len(delivery.get("attempts", []))
        parts.append(
            f"postback #{delivery['id']} {delivery['status']} after {attempts} attempt(s)"
            + (f": {reason}" if reason else "")
        )
    return "; ".join(parts)


def _wait_for_hits(receiver: str, wanted, *, timeout: float) -> list[dict]:
    """Poll the stand-in's ``/__hits`` until one matches ``wanted``; return the matches."""
    deadline = time.monotonic() + timeout
    found = []
    while time.monotonic() < deadline and not found:
        _, hits = _request("GET", f"{receiver}/__hits")
        found = [hit for hit in hits or [] if wanted(hit)]
        time.sleep(0.05)
    return found


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
        parser.add_argument(
            "--return",
            dest="return_call",
            action="store_true",
            help="After the postback, return the call and expect one override to 0 at the "
            "partner's Ringba API.",
        )
        parser.add_argument(
            "--finalized",
            action="store_true",
            help="Simulate an unrouted call worked through the demo Lead-to-Call schedule.",
        )

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
        ringba_call_uuid = "SIM" + secrets.token_hex(8).upper()
        caller = f"+1312555{secrets.randbelow(10000):04d}"
        if options["finalized"]:
            self._finalized(demo, base, receiver, ringba_call_uuid, caller, options)
            return
        number = demo.numbers[0]
        webhook_token = number.extra_tokens.get(key=WEBHOOK_TOKEN_NAME).value

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
        enrichment = self._expect_enrichment(
            receiver,
            call["call_uuid"],
            caller,
            options,
            why=lambda: _why_not_sent(base, call["call_uuid"], demo.api_token, "call_started"),
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

        postback = self._expect_postback(
            4,
            receiver,
            ringba_call_uuid,
            webhook_token,
            options["payout"],
            options["timeout"],
            why=lambda: _why_not_sent(base, call["call_uuid"], demo.api_token, CONVERSION),
        )
        self._step(
            5,
            "the enrichment reached Ringba before the conversion's postback",
            enrichment["received_at"] < postback["received_at"],
        )
        self._expect_delivery_log(6, base, call["call_uuid"], demo.api_token)
        if options["return_call"]:
            self._expect_return(
                7, base, receiver, call["call_uuid"], ringba_call_uuid, demo, options
            )
        self.stdout.write(self.style.SUCCESS(f"PASS: the loop closed for call {call['call_uuid']}"))

    def _expect_return(self, step, base, receiver, call_uuid, ringba_call_uuid, demo, options):
        """Return the paid call; wait for the one override to 0 at the partner's Ringba API."""
        status, body = _request(
            "POST",
            f"{base}/api/v1/calls/{call_uuid}",
            {"offer_converted": False, "return_reason": "simulated return"},
            token=demo.api_token,
        )
        self._step(step, f"return → {status}", status == 200 and not body["offer_converted"])
        found = _wait_for_hits(
            receiver,
            lambda hit: (
                hit["path"].endswith("/calls/payments/override")
                and json.loads(hit["body"] or "{}").get("inboundCallId") == ringba_call_uuid
            ),
            timeout=options["timeout"],
        )
        sent = json.loads(found[0]["body"]) if found else {}
        self._step(
            f"{step}b",
            f"the partner's Ringba set to {sent.get('newConversionAmount', 'nothing')} "
            f"({len(found)} override(s), token accepted: {bool(found and found[0]['authorized'])})",
            len(found) == 1 and sent.get("newConversionAmount") == 0 and found[0]["authorized"],
        )

    def _expect_enrichment(self, receiver, call_uuid, caller, options, *, why) -> dict:
        """Wait for the IDE trigger's Enrich Call Data request for the call (step 2b)."""
        found = _wait_for_hits(
            receiver,
            lambda hit: (
                hit["path"].startswith("/enrich/")
                and hit["query"].get("trackdrive_call_uuid") == call_uuid
            ),
            timeout=options["timeout"],
        )
        ok = (
            len(found) == 1
            and found[0]["path"] == f"/enrich/{RINGBA_NUMBER_ID}"
            and found[0]["query"].get("callerid") == caller
        )
        shown = f"{found[0]['path']}?{found[0]['raw_query']}" if found else "nothing"
        if not found:
            shown += f"; the portal says: {why()}"
        self._step("2b", f"call data enriched in the partner's Ringba: {shown}", ok)
        return found[0]

    def _finalized(self, demo, base, receiver, ringba_call_uuid, caller, options) -> None:
        schedule, token = demo.schedule, demo.api_token
        status, body = _request(
            "POST",
            f"{base}/api/v1/leads/capture",
            {
                "lead_token": schedule.lead_token,
                "traffic_source_id": str(demo.source.traffic_source_id),
                "caller_id": caller,
                "ringba_call_uuid": ringba_call_uuid,
                "first_name": "Unrouted",
                "last_name": "Caller",
            },
        )
        lead = (body or {}).get("schedule_lead") or {}
        self._step(
            1,
            f"Finalized pixel → {status}, schedule lead {lead.get('state')}",
            status == 201 and lead.get("state") == "queued",
        )
        status, claimed = _request(
            "POST", f"{base}/api/v1/schedules/{schedule.pk}/claim", {"limit": 100}, token=token
        )
        mine = [item for item in (claimed or {}).get("leads", []) if item["uuid"] == lead["uuid"]]
        self._step(2, f"dialer claim → {status}, our lead leased: {bool(mine)}", bool(mine))
        status, call = _request(
            "POST",
            f"{base}/api/v1/calls",
            {"schedule_lead": lead["uuid"], "claim": mine[0]["claim"] if mine else ""},
            token=token,
        )
        carried = status == 201 and call["tokens"].get("ringba_call_uuid") == ringba_call_uuid
        self._step(3, f"callback call → {status}, carries the Ringba call id: {carried}", carried)
        status, converted = _request(
            "POST",
            f"{base}/api/v1/calls/update_call/{call['call_uuid']}",
            {"offer_converted": True, "payout": options["payout"]},
            token=token,
        )
        state = (converted or {}).get("schedule_lead") or {}
        self._step(
            4,
            f"conversion (payout {options['payout']}) → {status}, lead {state.get('state')}",
            status == 200 and state.get("state") == "converted",
        )
        webhook_token = demo.trigger.mappings.get(traffic_source=demo.source).value
        self._expect_postback(
            5,
            receiver,
            ringba_call_uuid,
            webhook_token,
            options["payout"],
            options["timeout"],
            why=lambda: _why_not_sent(base, call["call_uuid"], token, CONVERSION),
        )
        self._expect_delivery_log(6, base, call["call_uuid"], token)
        self.stdout.write(
            self.style.SUCCESS(
                f"PASS: the unrouted call {ringba_call_uuid} was called back and paid"
            )
        )

    def _expect_postback(
        self, step, receiver, ringba_call_uuid, webhook_token, payout, timeout, *, why
    ):
        """Wait for exactly one postback for the Ringba call id, with the expected query;
        when none came, ``why()`` says what the portal knows of it."""
        started = time.monotonic()
        hits = self._wait_for_hit(receiver, ringba_call_uuid, timeout)
        elapsed = time.monotonic() - started
        expected_query = {
            "call_id": [ringba_call_uuid],
            "call_revenue": [f"{float(payout):.2f}"],
            "sale_successful": ["true"],
        }
        ok = (
            len(hits) == 1
            and hits[0]["path"] == f"/hook/{webhook_token}"
            and parse_qs(hits[0]["raw_query"]) == expected_query
        )
        shown = f"{hits[0]['path']}?{hits[0]['raw_query']}" if hits else "nothing"
        text = f"postback at the stand-in after {elapsed:.2f} s: {shown} ({len(hits)} hit(s))"
        if not hits:
            text += f"; the portal says: {why()}"
        self._step(step, text, ok)
        return hits[0]

    def _expect_delivery_log(self, step, base, call_uuid, token):
        """The call's log: its enrichment and its conversion postback, each sent once."""
        _, events = _request("GET", f"{base}/api/v1/calls/{call_uuid}/events", token=token)
        deliveries = (events or {}).get("deliveries", [])
        states = sorted(
            (delivery["event"], delivery["status"], len(delivery["attempts"]))
            for delivery in deliveries
        )
        # TrackDrive's webhook log: one entry per attempt, with the answer's code.
        codes = [
            event["code"]
            for event in (events or {}).get("events", [])
            if event["type"] == "WebhookLog"
        ]
        expected = [("call_offer_converted", "delivered", 1), ("call_started", "delivered", 1)]
        self._step(
            step,
            f"delivery log: {states}, webhook log codes {codes}",
            states == expected and codes == [200, 200],
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

    def _step(self, number: int | str, text: str, ok: bool) -> None:
        mark = self.style.SUCCESS("ok  ") if ok else self.style.ERROR("FAIL")
        self.stdout.write(f"[{mark}] {number}. {text}")
        if not ok:
            raise CommandError(f"step {number} failed: {text}")
