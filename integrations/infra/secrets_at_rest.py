"""Secrets the portal must send again, encrypted at rest (a partner's Ringba API token).

A hash would do for a credential we only check (API keys, lead tokens); a token we
present to Ringba must be readable, so it is stored as Fernet ciphertext (AES with
an HMAC). The keys come from the environment: ``FIELD_ENCRYPTION_KEYS``, newest
first (older ones still decrypt, for rotation), or, when unset, one derived from
``SECRET_KEY`` — rotating SECRET_KEY then makes the stored tokens unreadable, and
the admin asks for them again.
"""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class SecretUnreadable(Exception):
    """The ciphertext was made with a key no longer configured (or was altered)."""


def _cipher() -> MultiFernet:
    keys = [key for key in settings.FIELD_ENCRYPTION_KEYS if key]
    if not keys:
        # The salt names this module's first home; it is part of the key, so it stays
        # when the module moves (tests/test_secrets_at_rest.py).
        digest = hashlib.sha256(b"integrations.secrets_at_rest\0" + settings.SECRET_KEY.encode())
        keys = [base64.urlsafe_b64encode(digest.digest()).decode()]
    return MultiFernet([Fernet(key) for key in keys])


def encrypt(secret: str) -> str:
    """Return ``secret`` as ciphertext ('' stays '')."""
    if not secret:
        return ""
    return _cipher().encrypt(secret.encode()).decode()


def decrypt(ciphertext: str) -> str:
    """Return the secret; raise SecretUnreadable when no configured key opens it."""
    if not ciphertext:
        return ""
    try:
        return _cipher().decrypt(ciphertext.encode()).decode()
    except (InvalidToken, ValueError) as exc:
        raise SecretUnreadable(
            "the stored secret cannot be decrypted with FIELD_ENCRYPTION_KEYS (or SECRET_KEY); "
            "enter it again"
        ) from exc


def valid_key(key: str) -> bool:
    """Return whether ``key`` is a Fernet key (32 url-safe base64 bytes)."""
    try:
        Fernet(key)
    except (ValueError, TypeError):
        return False
    return True


def hint(secret: str) -> str:
    """Return how a stored secret is shown after it was made: its kind and last four."""
    if not secret:
        return ""
    prefix = secret.split("_", 1)[0] + "_" if "_" in secret[:8] else ""
    return f"{prefix}…{secret[-4:]}"
