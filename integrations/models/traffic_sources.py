"""Traffic sources: the partners (Ringba accounts) that sell us calls."""

import secrets

from django.db import models
from simple_history.models import HistoricalRecords


def generate_traffic_source_id() -> int:
    """Return a random 7-digit public id, so ids reveal nothing about our partner count."""
    return 1_000_000 + secrets.randbelow(9_000_000)


class TrafficSource(models.Model):
    """A partner that sends calls and pixels, identified publicly by ``traffic_source_id``."""

    class Platform(models.TextChoices):
        RINGBA = "ringba", "Ringba"
        OTHER = "other", "Other"

    traffic_source_id = models.PositiveBigIntegerField(
        "traffic source id",
        unique=True,
        default=generate_traffic_source_id,
        help_text="Public id the partner sends as traffic_source_id.",
    )
    name = models.CharField(max_length=200)
    company = models.CharField(max_length=200, blank=True)
    platform = models.CharField(max_length=10, choices=Platform.choices, default=Platform.RINGBA)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.traffic_source_id})"
