"""A local stand-in for Ringba: records and prints every request it gets.

Postbacks (``/hook/<token>``), Enrich Call Data requests (``/enrich/<number id>``,
the IDE trigger's) and, under ``/v2``, the REST API's call adjustments
(``/{accountId}/calls/payments/override``, ``…/calls/payments``, ``…/calls/void``,
``/{buyerAccountId}/calls/requestConversionOverride``), which check
``Authorization: Token <apiToken>`` against ``api_tokens`` and keep each call id's
conversion amount as Ringba would (never below zero), and the call log
(``/{accountId}/calllogs``): the calls put in ``call_log`` plus one per conversion
received, with its amount as adjusted since, so a demo reconciles to "matched".

Used by ``manage.py ringba_receiver`` for demos and by the tests and benchmarks as
the real HTTP server postbacks go to. It can be told to answer with a chosen
status, delay or Retry-After, and to answer as Ringba does to a second conversion
of one call id (404). ``GET /__hits`` returns what it has recorded.
"""

import contextlib
import json
import socket
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Hit:
    method: str
    path: str
    query: dict
    raw_query: str
    user_agent: str
    received_at: float
    body: str = ""
    authorized: bool = False  # an API request whose token matched its account


API_PREFIX = "/v2/"
_API_ROUTES = {
    "calllogs": "call_log",
    "calls/payments/override": "override",
    "calls/payments": "relative",
    "calls/void": "void",
    "calls/requestConversionOverride": "request",
}


@dataclass
class Behaviour:
    """How the receiver answers; ``statuses`` are used in turn, then ``status``."""

    status: int = 200
    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0
    retry_after: str | None = None
    location: str | None = None
    body: str = "ok"
    # As Ringba: a call id converts once; a later postback for it answers 404.
    one_conversion_per_call: bool = False
    # Seconds the REST API waits before answering (a worker killed mid-adjustment).
    api_delay: float = 0.0


class RingbaReceiver:
    """A threaded HTTP server on 127.0.0.1; start(), then read ``hits``; stop() when done."""

    def __init__(
        self,
        port: int = 0,
        behaviour: Behaviour | None = None,
        echo=None,
        api_tokens: dict[str, str] | None = None,
    ):
        self.behaviour = behaviour or Behaviour()
        self.hits: list[Hit] = []
        self.converted: set[str] = set()  # call ids converted (one_conversion_per_call)
        # The REST API: account id → the API token it accepts; call id → its conversion.
        self.api_tokens = dict(api_tokens or {})
        self.conversion_amounts: dict[str, float] = {}
        # Calls the call log lists besides the conversions received (Ringba's columns).
        self.call_log: list[dict] = []
        self._converted_at: dict[str, float] = {}  # call id → when its conversion came
        self._connections: set = set()  # open keep-alive sockets, cut by stop()
        self._lock = threading.Lock()
        self._echo = echo
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._server.daemon_threads = True
        self._thread = None

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base_url(self) -> str:
        return f"{self.base_url}/v2"

    def api_hits(self) -> list[Hit]:
        """The REST API requests received (adjustments, voids, buyer requests)."""
        with self._lock:
            return [hit for hit in self.hits if hit.path.startswith(API_PREFIX)]

    def start(self) -> "RingbaReceiver":
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        """Stop as a dead webhook does: no new connections, and the open ones cut.

        Clients keep connections alive (HTTP/1.1); closing only the listening socket
        left those connections answering after "stop".
        """
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            open_sockets, self._connections = list(self._connections), set()
        for sock in open_sockets:
            with contextlib.suppress(OSError):  # already gone
                sock.shutdown(socket.SHUT_RDWR)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Hit]:
        """Return the hits once there are ``count`` of them, or after ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.hits) >= count:
                    return list(self.hits)
            time.sleep(0.02)
        with self._lock:
            return list(self.hits)

    def _record(self, handler, body: str = "") -> Hit | None:
        parts = urlsplit(handler.path)
        if parts.path == "/__hits":
            return None
        hit = Hit(
            method=handler.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            raw_query=parts.query,
            user_agent=handler.headers.get("User-Agent", ""),
            received_at=time.time(),
            body=body,
        )
        with self._lock:
            self.hits.append(hit)
        if self._echo:
            kind = "enrich  " if parts.path.startswith("/enrich/") else "postback"
            shown = f"{parts.path}?{parts.query}"
            if parts.path.startswith(API_PREFIX):
                kind, shown = "ringba api", f"{parts.path} {body[:200]}"
            self._echo(f"{time.strftime('%H:%M:%S')} {kind} {hit.method} {shown}")
        return hit

    def _answer_api(self, hit: Hit, authorization: str) -> tuple[int, dict]:
        """Answer a REST API request as Ringba would; (status, JSON body)."""
        account, _, route = hit.path[len(API_PREFIX) :].partition("/")
        kind = _API_ROUTES.get(route)
        if kind is None or hit.method != "POST":
            return 404, {"message": f"no such endpoint: {hit.path}"}
        expected = self.api_tokens.get(account)
        if not expected or authorization != f"Token {expected}":
            return 401, {"message": "Authorization has been denied for this request."}
        hit.authorized = True
        try:
            request = json.loads(hit.body or "{}")
        except ValueError:
            return 400, {"message": "The request body is not valid JSON."}
        if kind == "call_log":
            try:
                return 200, self._call_log_page(request)
            except (KeyError, TypeError, ValueError) as exc:
                return 400, {"message": f"reportStart and reportEnd are required: {exc}"}
        call_id = str(request.get("inboundCallId") or "")
        with self._lock:
            current = self.conversion_amounts.get(call_id)
            if current is None:
                return 400, {"message": f"Call {call_id or '(none)'} was not found."}
            if kind == "request":
                return 200, {"isSuccessful": True, "message": "Adjustment requested."}
            if kind == "override":
                amount = float(request.get("newConversionAmount") or 0)
            elif kind == "relative":
                amount = current + float(request.get("adjustConverionByAmount") or 0)
            else:
                amount = current - float(request.get("voidConverionAmount") or 0)
            if amount < 0:
                return 400, {
                    "message": "Conversion would be brought below zero, the max refund is "
                    f"${current:.2f}"
                }
            self.conversion_amounts[call_id] = round(amount, 2)
        return 200, {"isSuccessful": True, "conversionAmount": round(amount, 2)}

    def _call_log_page(self, request: dict) -> dict:
        """One page of the call log in [reportStart, reportEnd), oldest first."""

        def epoch_ms(text) -> int:
            moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
            return int(moment.replace(tzinfo=moment.tzinfo or UTC).timestamp() * 1000)

        start, end = epoch_ms(request["reportStart"]), epoch_ms(request["reportEnd"])
        offset, size = int(request.get("offset") or 0), min(int(request.get("size") or 100), 1000)
        with self._lock:
            listed = {record["inboundCallId"]: dict(record) for record in self.call_log}
            for call_id, amount in self.conversion_amounts.items():
                record = listed.setdefault(
                    call_id,
                    {
                        "inboundCallId": call_id,
                        "callDt": int(self._converted_at.get(call_id, time.time()) * 1000),
                        "inboundPhoneNumber": "",
                    },
                )
                record["hasConverted"] = True
                record["conversionAmount"] = amount
        records = sorted(
            (r for r in listed.values() if start <= r["callDt"] < end), key=lambda r: r["callDt"]
        )
        return {
            "report": {
                "records": records[offset : offset + size],
                "totalCount": len(records),
                "partialResult": False,
            },
            "isSuccessful": True,
        }

    def _next_status(self, hit: Hit | None = None) -> int:
        with self._lock:
            if self.behaviour.statuses:
                status = self.behaviour.statuses.pop(0)
            else:
                status = self.behaviour.status
            call_id = hit.query.get("call_id") if hit and hit.path.startswith("/hook/") else None
            if self.behaviour.one_conversion_per_call and call_id and 200 <= status < 300:
                if call_id in self.converted:
                    return 404  # Ringba: already converted
                self.converted.add(call_id)
            if call_id and 200 <= status < 300 and call_id not in self.conversion_amounts:
                try:
                    self.conversion_amounts[call_id] = float(hit.query.get("call_revenue", 0))
                except ValueError:
                    self.conversion_amounts[call_id] = 0.0
                self._converted_at[call_id] = hit.received_at
            return status

    def _handler_class(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            # Keep-alive, as webhook.ringba.com does: every answer has a Content-Length.
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                with receiver._lock:
                    receiver._connections.add(self.connection)

            def finish(self):
                with receiver._lock:
                    receiver._connections.discard(self.connection)
                super().finish()

            def _answer(self):
                if urlsplit(self.path).path == "/__hits":
                    with receiver._lock:
                        payload = json.dumps([asdict(hit) for hit in receiver.hits]).encode()
                    self._send(200, payload, "application/json")
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
                hit = receiver._record(self, body)
                if hit is not None and hit.path.startswith(API_PREFIX):
                    if receiver.behaviour.api_delay:
                        time.sleep(receiver.behaviour.api_delay)
                    status, answer = receiver._answer_api(
                        hit, self.headers.get("Authorization", "")
                    )
                    self._send(status, json.dumps(answer).encode(), "application/json")
                    return
                behaviour = receiver.behaviour
                if behaviour.delay:
                    time.sleep(behaviour.delay)
                status = receiver._next_status(hit)
                headers = {}
                if behaviour.retry_after is not None:
                    headers["Retry-After"] = behaviour.retry_after
                if behaviour.location is not None:
                    headers["Location"] = behaviour.location
                self._send(status, behaviour.body.encode(), "text/plain", headers)

            def _send(self, status, payload, content_type, headers=None):
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (e.g. its read timeout); nothing to tell it

            do_GET = do_POST = _answer

            def log_message(self, format, *args):
                pass  # hits are echoed by _record

        return Handler
