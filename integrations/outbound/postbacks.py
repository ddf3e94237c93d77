"""The one outbound HTTP client: every postback leaves through ``send``.

It owns the rules that keep outbound requests safe and predictable: the host
allow-list (read with urllib3's parser, the one that sends), connect-time address
filtering (requests-hardened, so DNS tricks and redirects cannot reach private
networks), no redirects, timeouts, a wall-clock deadline on the whole attempt, a
product User-Agent, a 2 KB cap on what is read back, a body safe to store, and the
verdict on each response. ``send`` never raises. ``fetch`` reads a larger answer
(a page of a partner's Ringba call log) through the same guard. Nothing else in the
project imports ``requests``.
"""

import contextlib
import email.utils
import enum
import re
import socket
import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache

import requests
from django.conf import settings
from requests_hardened import Config, HTTPSession
from requests_hardened.ip_filter import InvalidIPAddress
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from .error_summaries import summarize, with_detail

USER_AGENT = "RingbaTrackDrivePortal/1.0 (+postback)"
MAX_BODY_BYTES = 2048
MAX_ERROR_CHARS = 500
# Status codes that mean "try again later"; every other 4xx is the receiver's final word.
RETRYABLE_4XX = frozenset({408, 429})
# What may never appear in a URL's authority: urllib3 ends the host at "\" while
# urlsplit does not, "@" smuggles userinfo, and whitespace or control characters
# are read differently by different parsers.
_BAD_AUTHORITY = re.compile(r"[\\@\s\x00-\x1f\x7f]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class HostNotAllowed(ValueError):
    """The URL's host is not on POSTBACK_ALLOWED_HOSTS, or the URL is ambiguous."""


class Verdict(enum.Enum):
    DELIVERED = "delivered"
    RETRY = "retry"
    FAILED = "failed"


@dataclass(frozen=True)
class Outcome:
    """What one request produced and what it means for the delivery."""

    verdict: Verdict
    duration_ms: int
    status_code: int | None = None
    body: str = ""
    error: str = ""
    retry_after_seconds: int | None = None

    @property
    def host_at_fault(self) -> bool:
        """True when the destination itself failed: no answer (timeout, refused, reset) or 5xx.

        A 4xx is an answer about this one postback (Ringba's 404 for a call id it
        has converted is routine): the host is up, and other postbacks to it are
        not to be held back.
        """
        return self.status_code is None or self.status_code >= 500


def url_host(url: str) -> str:
    """Return the lower-case host ``url`` would really be sent to; raise HostNotAllowed.

    The host is read with urllib3's parser, the one that sends. URLs whose authority
    holds a backslash, userinfo, whitespace or control characters are refused: for
    ``http://evil.example\\@webhook.ringba.com/`` urlsplit says webhook.ringba.com
    while the request goes to evil.example.
    """
    scheme, separator, rest = url.partition("://")
    if not separator or scheme.lower() not in ("http", "https"):
        raise HostNotAllowed("Postback URLs must be absolute http:// or https:// URLs.")
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if _BAD_AUTHORITY.search(authority):
        raise HostNotAllowed(
            "The host part of the URL may not contain \\, @, spaces or control characters."
        )
    if _CONTROL.search(url):
        raise HostNotAllowed("The URL may not contain control characters.")
    try:
        host = parse_url(url).host or ""
    except LocationParseError as exc:
        raise HostNotAllowed(f"The URL cannot be parsed: {exc}") from exc
    host = host.lower().rstrip(".")
    if not host:
        raise HostNotAllowed("Postback URLs must name a host.")
    return host


def destination(url: str) -> str:
    """Return ``host:port`` that ``url`` is sent to (for per-destination limits), or ''."""
    try:
        host = url_host(url)
        parsed = parse_url(url)
    except HostNotAllowed:
        return ""
    return f"{host}:{parsed.port or (443 if parsed.scheme == 'https' else 80)}"


def check_url_allowed(url: str) -> None:
    """Raise HostNotAllowed unless ``url`` is http(s) to a host on the allow-list.

    An entry ``.example.com`` allows example.com and its subdomains.
    """
    host = url_host(url)
    for entry in settings.POSTBACK_ALLOWED_HOSTS:
        allowed = entry.strip().lower()
        if not allowed:
            continue
        if host == allowed or (
            allowed.startswith(".") and (host == allowed[1:] or host.endswith(allowed))
        ):
            return
    allowed_list = ", ".join(settings.POSTBACK_ALLOWED_HOSTS) or "(none)"
    raise HostNotAllowed(
        f"{host} is not an allowed postback host (POSTBACK_ALLOWED_HOSTS: {allowed_list})."
    )


def sanitize_text(value: str, limit: int) -> str:
    """Return ``value`` cut to ``limit`` characters, storable in any database.

    PostgreSQL refuses NUL in text; lone surrogates cannot be encoded. Both become
    U+FFFD, so whatever a receiver sends, the attempt is recorded.
    """
    text = value[:limit].replace("\x00", "\ufffd")
    return text.encode("utf-8", errors="replace").decode("utf-8")


# --- Deadline enforcement -------------------------------------------------------------
# A read timeout bounds each socket read, not the attempt: a receiver dripping a
# byte every few seconds would hold a worker for ever. Each attempt runs in its own
# thread; at the deadline the caller shuts down the attempt's sockets, which ends
# any blocked read at once, and records the attempt as timed out.
_attempt = threading.local()


class _AttemptSockets:
    def __init__(self):
        self._connections = []
        self._lock = threading.Lock()

    def add(self, connection) -> None:
        with self._lock:
            self._connections.append(connection)

    def shut_down(self) -> None:
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            sock = getattr(connection, "sock", None)
            if sock is not None:
                with contextlib.suppress(OSError):  # already closed
                    sock.shutdown(socket.SHUT_RDWR)


def _register(connection) -> None:
    sockets = getattr(_attempt, "sockets", None)
    if sockets is not None:
        sockets.add(connection)


class _TrackedHTTPConnection(HTTPConnection):
    def request(self, *args, **kwargs):
        _register(self)
        return super().request(*args, **kwargs)


class _TrackedHTTPSConnection(HTTPSConnection):
    def request(self, *args, **kwargs):
        _register(self)
        return super().request(*args, **kwargs)


class _TrackedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _TrackedHTTPConnection


class _TrackedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _TrackedHTTPSConnection


@lru_cache(maxsize=4)
def _session(
    allow_private: bool, connect_timeout: float, read_timeout: float, per_host: int
) -> HTTPSession:
    session = HTTPSession(
        Config(
            ip_filter_enable=not allow_private,
            ip_filter_allow_loopback_ips=False,
            never_redirect=True,
            default_timeout=(connect_timeout, read_timeout),
            user_agent_override=USER_AGENT,
        )
    )
    for adapter in session.adapters.values():
        # Keep as many open connections per host as may be in flight to it: with
        # requests' default of 10, every attempt beyond that opened (and, over
        # HTTPS, handshook) a connection of its own and threw it away afterwards.
        adapter.init_poolmanager(10, per_host)
        adapter.poolmanager.pool_classes_by_scheme = {
            "http": _TrackedHTTPPool,
            "https": _TrackedHTTPSPool,
        }
    return session


@dataclass
class _Progress:
    """What the attempt thread has learnt so far; read by the caller at the deadline."""

    status: int | None = None
    retry_after: int | None = None
    location: str = ""
    body: bytes = b""
    body_error: str = ""
    outcome: Outcome | None = None


def send(method: str, url: str, *, body: bytes = b"", headers: dict | None = None) -> Outcome:
    """Send one request and return its Outcome; never raise, never exceed the deadline.

    The deadline (POSTBACK_ATTEMPT_DEADLINE) covers DNS, connect, headers and body.
    A response whose status arrived but whose body did not is judged by its status.
    ``body`` and ``headers`` are the trigger's rendered request (POST/PUT).
    """
    started = time.monotonic()
    request = {"data": body or None, "headers": headers or None}
    try:
        check_url_allowed(url)
    except HostNotAllowed as exc:
        return Outcome(Verdict.FAILED, _elapsed_ms(started), error=str(exc))

    progress = _Progress()
    sockets = _AttemptSockets()
    session = _session(
        settings.POSTBACK_ALLOW_PRIVATE_IPS,
        settings.POSTBACK_CONNECT_TIMEOUT,
        settings.POSTBACK_READ_TIMEOUT,
        settings.POSTBACK_PER_HOST_CONCURRENCY,
    )

    def run():
        _attempt.sockets = sockets
        try:
            progress.outcome = _request(session, method, url, started, progress, request)
        except BaseException as exc:
            progress.outcome = Outcome(
                Verdict.RETRY, _elapsed_ms(started), error=f"client error: {_short(exc)}"
            )
        finally:
            _attempt.sockets = None

    deadline = settings.POSTBACK_ATTEMPT_DEADLINE
    worker = threading.Thread(target=run, name="postback-attempt", daemon=True)
    worker.start()
    worker.join(deadline)
    if progress.outcome is not None:
        return progress.outcome
    sockets.shut_down()  # ends a blocked read now; the thread then finishes by itself
    note = f"No complete answer within {deadline:g} s (the attempt's deadline)"
    if progress.status is None:
        return Outcome(Verdict.RETRY, _elapsed_ms(started), error=note)
    progress.body_error = f"{note} (the body was cut off)"
    return _judge(progress, started)


class FetchFailed(Exception):
    """A page could not be read: the reason in words (never the credentials)."""


def fetch(
    method: str, url: str, *, body: bytes = b"", headers: dict | None = None, max_bytes: int
) -> tuple[int, bytes]:
    """Send one request and return (status, body), the body read up to ``max_bytes``.

    The guard is ``send``'s (allow-list, no private addresses, no redirects,
    timeouts); a body longer than ``max_bytes`` is refused rather than cut, since a
    cut page would silently drop rows.
    """
    try:
        check_url_allowed(url)
    except HostNotAllowed as exc:
        raise FetchFailed(str(exc)) from None
    session = _session(
        settings.POSTBACK_ALLOW_PRIVATE_IPS,
        settings.POSTBACK_CONNECT_TIMEOUT,
        settings.POSTBACK_READ_TIMEOUT,
        settings.POSTBACK_PER_HOST_CONCURRENCY,
    )
    try:
        with session.request(
            method, url, data=body or None, headers=headers, stream=True, allow_redirects=False
        ) as response:
            data = response.raw.read(max_bytes + 1, decode_content=True) or b""
            status = response.status_code
    except InvalidIPAddress as exc:
        raise FetchFailed(f"refused: {exc} is a private, loopback or link-local address") from None
    except requests.RequestException as exc:
        error = with_detail(_summary(exc, url), _short(exc))
        raise FetchFailed(sanitize_text(error, 500)) from None
    except Exception as exc:  # a truncated or undecodable body
        raise FetchFailed(f"the answer could not be read: {_short(exc)}") from None
    if len(data) > max_bytes:
        raise FetchFailed(f"the answer is larger than {max_bytes} bytes")
    return status, data


def _request(
    session, method: str, url: str, started: float, progress: _Progress, request: dict
) -> Outcome:
    try:
        with session.request(
            method, url, stream=True, allow_redirects=False, **request
        ) as response:
            progress.status = response.status_code
            progress.retry_after = _parse_retry_after(response.headers.get("Retry-After"))
            progress.location = response.headers.get("Location", "")
            try:
                progress.body = response.raw.read(MAX_BODY_BYTES, decode_content=True) or b""
            except Exception as exc:  # truncated, stalled, undecodable: the status stands
                progress.body_error = f"response body unreadable: {_short(exc)}"
    except InvalidIPAddress as exc:
        return Outcome(
            Verdict.FAILED,
            _elapsed_ms(started),
            error=f"refused: {exc} is a private, loopback or link-local address",
        )
    except requests.Timeout as exc:
        error = with_detail(_summary(exc, url), f"timeout: {_short(exc)}")
        return Outcome(Verdict.RETRY, _elapsed_ms(started), error=sanitize_text(error, 500))
    except requests.ConnectionError as exc:
        error = with_detail(_summary(exc, url), f"connection error: {_short(exc)}")
        return Outcome(Verdict.RETRY, _elapsed_ms(started), error=sanitize_text(error, 500))
    except requests.RequestException as exc:
        error = with_detail(_summary(exc, url), f"request error: {_short(exc)}")
        return Outcome(Verdict.FAILED, _elapsed_ms(started), error=sanitize_text(error, 500))
    return _judge(progress, started)


def _judge(progress: _Progress, started: float) -> Outcome:
    """Return the verdict for a response whose status line arrived."""
    status = progress.status
    outcome = Outcome(
        Verdict.FAILED,
        _elapsed_ms(started),
        status_code=status,
        body=sanitize_text(progress.body.decode("utf-8", errors="replace"), MAX_BODY_BYTES),
    )
    if 200 <= status < 300:
        outcome = replace(outcome, verdict=Verdict.DELIVERED)
    elif 300 <= status < 400:
        location = progress.location[:200]
        outcome = replace(outcome, error=f"redirect not followed (Location: {location})")
    elif status in RETRYABLE_4XX or status >= 500:
        outcome = replace(
            outcome,
            verdict=Verdict.RETRY,
            error=f"HTTP {status}",
            retry_after_seconds=progress.retry_after,
        )
    else:
        outcome = replace(outcome, error=f"HTTP {status}")
    if progress.body_error:
        outcome = replace(
            outcome, error="; ".join(filter(None, [outcome.error, progress.body_error]))
        )
    return replace(outcome, error=sanitize_text(outcome.error, MAX_ERROR_CHARS))


def _parse_retry_after(value: str | None) -> int | None:
    """Return Retry-After (seconds or an HTTP date) as seconds from now, or None."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return int(value[:9])
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0, int((moment - datetime.now(UTC)).total_seconds()))


def _summary(exc: BaseException, url: str) -> str:
    return summarize(
        exc,
        url,
        connect_timeout=settings.POSTBACK_CONNECT_TIMEOUT,
        read_timeout=settings.POSTBACK_READ_TIMEOUT,
    )


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _short(exc: BaseException) -> str:
    return sanitize_text(str(exc) or type(exc).__name__, 300)
