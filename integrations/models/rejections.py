"""Rejected pixels: what a partner sent that the capture API refused, and why."""

from django.db import models
from django.db.models.functions import Now


class RejectedPixel(models.Model):
    """One refused pixel (400, 401, 409, 413, 415, 422), kept a few days (SPEC §9).

    So an account manager can show a partner what its Ringba pixel sends wrong. The
    lead token is cut to its first four characters in the stored request. Kept for
    ``REJECTED_PIXEL_DAYS``; at most ``REJECTED_PIXELS_PER_MINUTE`` are written per
    offer and address, so a flood of bad requests costs no more than that.
    """

    # Null when the lead token matched no offer (or was missing).
    offer = models.ForeignKey(
        "Offer",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        db_index=False,
        related_name="rejected_pixels",
    )
    traffic_source = models.ForeignKey(
        "TrafficSource",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        db_index=False,
        related_name="rejected_pixels",
    )
    traffic_source_id_sent = models.CharField("traffic_source_id sent", max_length=64, blank=True)
    caller_id = models.CharField(max_length=32, blank=True)
    status_code = models.PositiveSmallIntegerField()
    errors = models.JSONField(default=list)
    raw_body = models.TextField(blank=True)
    raw_query = models.TextField(blank=True)
    content_type = models.CharField(max_length=200, blank=True)
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    received_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["-received_at", "-id"], name="rejected_newest_idx"),
            models.Index(fields=["offer", "-received_at"], name="rejected_offer_idx"),
            models.Index(fields=["traffic_source", "-received_at"], name="rejected_source_idx"),
            models.Index(fields=["caller_id"], name="rejected_caller_idx"),
        ]

    def __str__(self):
        return f"Rejected pixel {self.pk} ({self.status_code})"
