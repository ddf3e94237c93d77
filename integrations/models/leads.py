"""Leads: one accepted Ringba pixel each, with the raw request kept for audit."""

from django.db import models
from django.db.models.functions import Now

from ..ids import uuid7


class Lead(models.Model):
    """One accepted pixel: who called, for which offer and partner, with every field sent."""

    uuid = models.UUIDField(default=uuid7, unique=True, editable=False)
    offer = models.ForeignKey("Offer", on_delete=models.PROTECT, related_name="leads")
    traffic_source = models.ForeignKey(
        "TrafficSource", on_delete=models.PROTECT, related_name="leads"
    )
    caller_id = models.CharField(max_length=20)
    # NULL, not "", when absent: NULLs stay outside the unique idempotency constraint.
    ringba_call_uuid = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
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
            models.UniqueConstraint(
                fields=["offer", "ringba_call_uuid"],
                condition=models.Q(ringba_call_uuid__isnull=False),
                name="lead_unique_ringba_call_uuid_per_offer",
            ),
        ]
        indexes = [
            # Matching and the duplicate policy: the newest lead of a caller on an offer.
            models.Index(fields=["offer", "caller_id", "-received_at"], name="lead_match_idx"),
            models.Index(fields=["received_at"], name="lead_received_idx"),
        ]

    def __str__(self):
        return f"Lead {self.uuid} from {self.caller_id}"
