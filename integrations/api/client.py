"""Who sent a request: the client address behind trusted proxies, and secret redaction."""

import ipaddress

from django.conf import settings


def client_ip(request) -> str | None:
    """Return the client's address as the outermost trusted proxy saw it.

    With TRUSTED_PROXY_COUNT = 0 (no proxy) that is REMOTE_ADDR. Behind N proxies
    that each append to X-Forwarded-For, it is the N-th entry from the right; the
    entries left of it are whatever the client claimed and are never trusted.
    """
    remote = request.META.get("REMOTE_ADDR") or None
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    header = request.META.get("HTTP_X_FORWARDED_FOR", "")
    forwarded = [part.strip() for part in header.split(",") if part.strip()]
    if len(forwarded) < count:
        return remote
    try:
        return str(ipaddress.ip_address(forwarded[-count]))
    except ValueError:
        return remote


def redact(text: str, secret: str | None) -> str:
    """Return ``text`` with every copy of ``secret`` cut to its first four characters."""
    if not secret or len(secret) < 8:
        return text
    return text.replace(secret, f"{secret[:4]}…")
