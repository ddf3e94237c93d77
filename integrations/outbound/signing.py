"""Sign outbound requests the Standard Webhooks way (https://www.standardwebhooks.com).

Each signed request carries ``webhook-id`` (the delivery's, the same on every retry,
so a receiver can drop a duplicate), ``webhook-timestamp`` (unix seconds, of this
attempt) and ``webhook-signature``: ``v1,<base64 HMAC-SHA256>`` over
``id.timestamp.body`` with the secret's bytes (the base64 after ``whsec_``). While a
secret is being rotated the request is signed with both, space-separated, so the
receiver can switch at its own pace.
"""

import base64
import hashlib
import hmac
import secrets
import time

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 24


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def message_id(delivery_id: int) -> str:
    return f"msg_{delivery_id}"


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(
    signing_secrets: list[str], msg_id: str, body: bytes, now: float | None = None
) -> dict:
    """The three headers for one attempt, signed with every secret given."""
    timestamp = int(time.time() if now is None else now)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            signature(secret, msg_id, timestamp, body) for secret in signing_secrets if secret
        ),
    }
