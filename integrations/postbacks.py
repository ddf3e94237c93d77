"""The one outbound HTTP client: every postback leaves through ``send``.

It owns the rules that keep outbound requests safe and predictable: the host
allow-list, connect-time address filtering (requests-hardened, so DNS tricks and
redirects cannot reach private networks), no redirects, timeouts, a product
User-Agent, a 2 KB cap on what is read back, and the verdict on each response.
Nothing else in the project imports ``requests``.
"""

import email.utils
import enum
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests_hardened import Config, HTTPSession
from requests_hardened.ip_filter import InvalidIPAddress

USER_AGENT = "RingbaTrackDrivePortal/1.0 (+postback)"
MAX_BODY_BYTES = 2048
# Status codes that mean "try again later"; every other 4xx is the receiver's final word.
RETRYABLE_4XX = frozenset({408, 429})


class HostNotAllowed(ValueError):
    """The URL's host is not on POSTBACK_ALLOWED_HOSTS."""


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


def check_url_allowed(url: str) -> None:
    """Raise HostNotAllowed unless ``url`` is http(s) to a host on the allow-list.

    An entry ``.example.com`` allows example.com and its subdomains.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme not in ("http", "https") or not host:
        raise HostNotAllowed("Postback URLs must be absolute http:// or https:// URLs.")
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


@lru_cache(maxsize=4)
def _session(allow_private: bool, connect_timeout: float, read_timeout: float) -> HTTPSession:
    return HTTPSession(
        Config(
            ip_filter_enable=not allow_private,
            ip_filter_allow_loopback_ips=False,
            never_redirect=True,
            default_timeout=(connect_timeout, read_timeout),
            user_agent_override=USER_AGENT,
        )
    )


def send(method: str, url: str) -> Outcome:
    """Send one request and return its Outcome; never raise for network trouble."""
    started = time.monotonic()

    def elapsed_ms() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        check_url_allowed(url)
    except HostNotAllowed as exc:
        return Outcome(Verdict.FAILED, elapsed_ms(), error=str(exc))

    session = _session(
        settings.POSTBACK_ALLOW_PRIVATE_IPS,
        settings.POSTBACK_CONNECT_TIMEOUT,
        settings.POSTBACK_READ_TIMEOUT,
    )
    try:
        with session.request(method, url, stream=True, allow_redirects=False) as response:
            body = response.raw.read(MAX_BODY_BYTES, decode_content=True) or b""
            status = response.status_code
            retry_after = _parse_retry_after(response.headers.get("Retry-After"))
            location = response.headers.get("Location", "")
    except InvalidIPAddress as exc:
        return Outcome(
            Verdict.FAILED,
            elapsed_ms(),
            error=f"refused: {exc} is a private, loopback or link-local address",
        )
    except requests.Timeout as exc:
        return Outcome(Verdict.RETRY, elapsed_ms(), error=f"timeout: {_short(exc)}")
    except requests.ConnectionError as exc:
        return Outcome(Verdict.RETRY, elapsed_ms(), error=f"connection error: {_short(exc)}")
    except requests.RequestException as exc:
        return Outcome(Verdict.FAILED, elapsed_ms(), error=f"request error: {_short(exc)}")

    text = body.decode("utf-8", errors="replace")
    common = {"duration_ms": elapsed_ms(), "status_code": status, "body": text}
    if 200 <= status < 300:
        return Outcome(Verdict.DELIVERED, **common)
    if 300 <= status < 400:
        return Outcome(
            Verdict.FAILED, error=f"redirect not followed (Location: {location[:200]})", **common
        )
    if status in RETRYABLE_4XX or status >= 500:
        return Outcome(
            Verdict.RETRY, error=f"HTTP {status}", retry_after_seconds=retry_after, **common
        )
    return Outcome(Verdict.FAILED, error=f"HTTP {status}", **common)


def _parse_retry_after(value: str | None) -> int | None:
    """Return Retry-After (seconds or an HTTP date) as seconds from now, or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return int(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0, int((moment - datetime.now(UTC)).total_seconds()))


def _short(exc: Exception) -> str:
    return str(exc)[:300]
