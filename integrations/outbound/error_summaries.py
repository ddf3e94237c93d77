"""A failed request in words an account manager reads at a glance (issue 26).

requests' exceptions read like ``HTTPConnectionPool(host='127.0.0.1', port=8799):
Max retries exceeded with url: … (Caused by NewConnectionError(…: [Errno 111]
Connection refused'))``, cut mid-word in a list. ``summarize`` says what happened
in one short sentence ("Connection refused by 127.0.0.1:8799"); the technical
text is kept after it for whoever debugs.
"""

import requests
from urllib3.util import parse_url

SEPARATOR = " — "


def _where(url: str) -> str:
    try:
        parsed = parse_url(url)
    except ValueError:
        return "the receiver"
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return f"{parsed.host}:{port}"


def summarize(exc: BaseException, url: str, *, connect_timeout: float, read_timeout: float) -> str:
    where = _where(url)
    text = f"{exc!r} {exc}".lower()
    if isinstance(exc, requests.exceptions.SSLError):
        if "hostname" in text or "doesn't match" in text or "not valid for" in text:
            return f"TLS certificate not valid for {where.rsplit(':', 1)[0]}"
        if "certificate verify failed" in text:
            return f"TLS certificate of {where} not trusted"
        return f"TLS handshake with {where} failed"
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"No connection to {where} within {connect_timeout:g} s"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return f"{where} did not answer within {read_timeout:g} s"
    if isinstance(exc, requests.Timeout):
        return f"Timed out talking to {where}"
    if "refused" in text:
        return f"Connection refused by {where}"
    if (
        "name or service not known" in text
        or "nodename nor servname" in text
        or ("name resolution" in text or "getaddrinfo" in text)
    ):
        return f"{where.rsplit(':', 1)[0]}: no such host (DNS)"
    if "reset by peer" in text or "remotedisconnected" in text or "aborted" in text:
        return f"{where} closed the connection"
    if "unreachable" in text:
        return f"{where} is unreachable (network)"
    return f"Request to {where} failed"


def with_detail(summary: str, detail: str) -> str:
    return f"{summary}{SEPARATOR}{detail}"


def summary_of(error: str) -> str:
    """The summary part of a stored error (all of an older one, which has none)."""
    return error.split(SEPARATOR, 1)[0]
