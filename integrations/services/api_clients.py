"""Make, check, rotate and revoke calls-API keys (stored hashed; see models.ApiClient)."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify

from ..models import ApiClient

KEY_BYTES = 20  # 40 hex characters, the shape TrackDrive-style clients already send
PREFIX_LENGTH = 8
LAST_USED_EVERY = timedelta(minutes=1)  # at most one write per client a minute


@dataclass(frozen=True)
class IssuedKey:
    client: ApiClient
    key: str  # shown once; never stored


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_client(
    *, name: str, description: str = "", created_by=None, scopes: dict | None = None
) -> IssuedKey:
    """A new client: a user that may only use the calls API, and its key (shown once)."""
    User = get_user_model()
    with transaction.atomic():
        username = _free_username(f"api-{slugify(name)[:40] or 'client'}")
        user = User.objects.create(username=username, is_staff=False, is_active=True)
        user.set_unusable_password()
        user.save(update_fields=["password"])
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="integrations", codename="use_calls_api")
        )
        client = ApiClient(
            name=name, description=description, user=user, created_by=created_by, **(scopes or {})
        )
        key = _set_new_key(client)
    return IssuedKey(client=client, key=key)


KEY_FIELDS = ["key_prefix", "key_hash", "key_rotated_at"]
PREVIOUS_KEY_FIELDS = ["previous_key_prefix", "previous_key_hash", "previous_key_expires_at"]


def install_key(client: ApiClient, key: str) -> None:
    """Store ``key`` (made elsewhere, e.g. derived for the demo) as the client's key.

    Writes the key's columns only: a full save of an instance read earlier would
    write back whatever else it held (a revoked client's revoked_at, as None).
    """
    client.key_prefix, client.key_hash = key[:PREFIX_LENGTH], hash_key(key)
    if client.pk is None:
        client.save()
    else:
        client.save(update_fields=KEY_FIELDS)


# How long a rotation may keep the old key working (0: it stops at once).
MAX_KEEP_OLD_KEY = timedelta(days=7)


def rotate_key(client: ApiClient, *, keep_old_for: timedelta = timedelta(0)) -> IssuedKey | None:
    """Replace the client's key; the old one stops working at once, or after
    ``keep_old_for`` (at most MAX_KEEP_OLD_KEY) so the telephony side can switch over.

    Returns None, and changes nothing, when the client is revoked (read again
    under its row lock: the ``client`` passed in may be older than a revocation).
    """
    keep_old_for = min(max(keep_old_for, timedelta(0)), MAX_KEEP_OLD_KEY)
    with transaction.atomic():
        current = ApiClient.objects.select_for_update().filter(pk=client.pk).first()
        if current is None or current.revoked_at is not None:
            return None
        now = timezone.now()
        current.key_rotated_at = now
        if keep_old_for:
            current.previous_key_prefix = current.key_prefix
            current.previous_key_hash = current.key_hash
            current.previous_key_expires_at = now + keep_old_for
        else:
            current.previous_key_prefix = current.previous_key_hash = ""
            current.previous_key_expires_at = None
        current.save(update_fields=PREVIOUS_KEY_FIELDS)
        key = _set_new_key(current)
    return IssuedKey(client=current, key=key)


def revoke(client: ApiClient) -> None:
    """Refuse the client's key from now on (kept revoked whatever is saved after)."""
    ApiClient.objects.filter(pk=client.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def client_for_key(key: str) -> ApiClient | None:
    """The active client whose key this is, or None; notes when it was last used."""
    if not key or len(key) <= PREFIX_LENGTH:
        return None
    now = timezone.now()
    prefix, digest = key[:PREFIX_LENGTH], hash_key(key)
    candidates = ApiClient.objects.select_related("user").filter(
        Q(key_prefix=prefix) | Q(previous_key_prefix=prefix, previous_key_expires_at__gt=now),
        revoked_at__isnull=True,
    )
    client = next(
        (
            candidate
            for candidate in candidates[:3]
            if hmac.compare_digest(candidate.key_hash, digest)
            or (
                candidate.previous_key_prefix == prefix
                and candidate.previous_key_expires_at
                and candidate.previous_key_expires_at > now
                and hmac.compare_digest(candidate.previous_key_hash, digest)
            )
        ),
        None,
    )
    if client is None:
        return None
    if client.last_used_at is None or now - client.last_used_at > LAST_USED_EVERY:
        ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
    return client


def client_for_key_pair(public_key: str, private_key: str) -> ApiClient | None:
    """The active client with this public key whose (private) key this is, or None."""
    client = client_for_key(private_key)
    if client is None or not hmac.compare_digest(client.public_key, public_key):
        return None
    return client


def _set_new_key(client: ApiClient) -> str:
    for _ in range(5):  # a prefix collision is a 1-in-4-billion event; retry it
        key = secrets.token_hex(KEY_BYTES)
        try:
            with transaction.atomic():
                install_key(client, key)
            return key
        except IntegrityError:
            if ApiClient.objects.filter(key_prefix=key[:PREFIX_LENGTH]).exists():
                continue
            raise
    raise RuntimeError("could not draw a unique key prefix")


def _free_username(base: str) -> str:
    User = get_user_model()
    candidate, number = base, 1
    while User.objects.filter(username=candidate).exists():
        number += 1
        candidate = f"{base}-{number}"
    return candidate
