"""Calls-API clients: a telephony system's credentials, stored as a hash (SPEC §3, §9)."""

import secrets

from django.conf import settings
from django.db import models

PUBLIC_KEY_PREFIX = "pub_"


def generate_public_key() -> str:
    return PUBLIC_KEY_PREFIX + secrets.token_hex(12)


class ApiClient(models.Model):
    """One system allowed to use the calls API, with its own user and key.

    The key is shown once, when it is made; only its first eight characters (to
    find it) and its SHA-256 (to check it) are kept. A key is 160 random bits, so a
    fast hash is enough: there is nothing to guess that a slow one would protect.
    """

    name = models.CharField(max_length=100, unique=True, help_text="e.g. the dialer's name.")
    description = models.TextField(blank=True, help_text="Who runs it, and what it is for.")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_client"
    )
    key_prefix = models.CharField(max_length=8, unique=True, editable=False)
    # TrackDrive clients authenticate with Basic base64(public key:private key). The
    # public key only names the client (not secret, kept across rotations); the
    # private key is the key above.
    public_key = models.CharField(
        max_length=40, unique=True, editable=False, default=generate_public_key
    )
    key_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    # What the key may do (issue 26). Database defaults: the previous release still
    # creates clients during a deploy, and every existing key kept all three.
    may_use_calls = models.BooleanField(
        "calls API", default=True, db_default=True, help_text="Record calls and conversions."
    )
    may_read_stats = models.BooleanField(
        "stats", default=True, db_default=True, help_text="Read GET /api/v1/stats."
    )
    may_work_schedules = models.BooleanField(
        "schedules",
        default=True,
        db_default=True,
        help_text="Claim Lead-to-Call schedule leads and opt them out (a dialer).",
    )
    key_rotated_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The key before the last rotation, still accepted until previous_key_expires_at
    # when the rotation kept it (Stripe's model: the telephony side switches over in
    # its own time). Hashed like the current one.
    previous_key_prefix = models.CharField(max_length=8, blank=True, editable=False)
    previous_key_hash = models.CharField(max_length=64, blank=True, editable=False)
    previous_key_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = "API client"
        indexes = [
            models.Index(
                fields=["previous_key_prefix"],
                condition=~models.Q(previous_key_prefix=""),
                name="apiclient_previous_key_idx",
            ),
        ]

    def __str__(self):
        return self.name

    SCOPES = {
        "calls": "may_use_calls",
        "stats": "may_read_stats",
        "schedules": "may_work_schedules",
    }

    def allows(self, scope: str) -> bool:
        return bool(getattr(self, self.SCOPES[scope]))

    @property
    def scope_names(self) -> list[str]:
        return [scope for scope in self.SCOPES if self.allows(scope)]

    @property
    def key_hint(self) -> str:
        return f"{self.key_prefix}…"
