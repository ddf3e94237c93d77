"""Leads: one accepted Ringba pixel each, with the raw request kept for audit."""

from django.db import models
from django.db.models.functions import Now

from ..rules.ids import uuid7


class Lead(models.Model):
    """One accepted pixel: who called, for which offer and partner, with every field sent."""

    uuid = models.UUIDField(default=uuid7, unique=True, editable=False)
    # Indexed below together with received_at, not alone (one index each, not two).
    offer = models.ForeignKey(
        "Offer", on_delete=models.PROTECT, related_name="leads", db_index=False
    )
    # Empty for a TrackDrive-style lead sent without traffic_source_id: it belongs to
    # the offer, and takes its partner from the call it attaches to.
    traffic_source = models.ForeignKey(
        "TrafficSource",
        on_delete=models.PROTECT,
        related_name="leads",
        db_index=False,
        null=True,
        blank=True,
    )
    caller_id = models.CharField(max_length=20)
    # NULL, not "", when absent: NULLs stay outside the unique idempotency constraint.
    ringba_call_uuid = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    # A sample or test pixel (its ringba_call_uuid starts with TEST-): stored and
    # shown, never attached to a call or handed to a dialer, so it never pays.
    is_test = models.BooleanField("test", default=False, db_default=False)
    tokens = models.JSONField(default=dict, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    raw_body = models.TextField(blank=True)
    raw_query = models.TextField(blank=True)
    content_type = models.CharField(max_length=200, blank=True)
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    received_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            # The idempotency key: a repeat of the same Ringba call merges, never duplicates.
            # ringba_call_uuid first: the admin finds a lead by it without the offer.
            models.UniqueConstraint(
                fields=["ringba_call_uuid", "offer"],
                condition=models.Q(ringba_call_uuid__isnull=False),
                name="lead_unique_ringba_call_uuid_per_offer",
            ),
        ]
        indexes = [
            # Matching and the duplicate policy (the newest lead of a caller on an offer),
            # and the admin's caller search, which has no offer: caller_id leads.
            models.Index(fields=["caller_id", "offer", "-received_at"], name="lead_caller_idx"),
            # The admin's newest-first list (its full ordering, so no sort) and retention.
            models.Index(fields=["-received_at", "-id"], name="lead_newest_idx"),
            # An offer's or a source's leads newest first, and its last pixel (admin).
            models.Index(fields=["offer", "-received_at"], name="lead_offer_idx"),
            models.Index(fields=["traffic_source", "-received_at"], name="lead_source_idx"),
        ]

    def __str__(self):
        return f"Lead {self.uuid} from {self.caller_id}"
