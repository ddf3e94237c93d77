"""Traffic sources: the partners (Ringba accounts) that sell us calls."""

import secrets

from django.db import models
from simple_history.models import HistoricalRecords


def generate_traffic_source_id() -> int:
    """Return a random 7-digit public id, so ids reveal nothing about our partner count."""
    return 1_000_000 + secrets.randbelow(9_000_000)


class AdjustmentMode(models.TextChoices):
    """How a return or adjustment after payment reaches the partner's Ringba."""

    PARTNER_TOKEN = "partner_token", "Sent with the partner's Ringba API token"
    BUYER_REQUEST = "buyer_request", "Requested from our Ringba buyer account"
    BY_HAND = "by_hand", "By hand in Ringba (listed for export)"


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
    # Carrying returns and adjustments to the partner's Ringba (SPEC §16).
    adjustment_mode = models.CharField(
        "Ringba adjustments",
        max_length=16,
        choices=AdjustmentMode.choices,
        default=AdjustmentMode.BY_HAND,
        db_default=AdjustmentMode.BY_HAND,
    )
    ringba_account_id = models.CharField(
        "partner's Ringba account id",
        max_length=100,
        blank=True,
        help_text="The account id in the partner's Ringba URLs (RA…); used with its API token.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.traffic_source_id})"

    @property
    def has_ringba_token(self) -> bool:
        return PartnerRingbaToken.objects.filter(traffic_source=self).exists()


class PartnerRingbaToken(models.Model):
    """The API token a partner granted for its Ringba account, encrypted at rest.

    A row of its own, so that the traffic source's change history never copies
    it; write-only in the admin (only its last four characters are shown).
    """

    traffic_source = models.OneToOneField(
        TrafficSource, on_delete=models.CASCADE, related_name="ringba_token"
    )
    # Fernet ciphertext (integrations.infra.secrets_at_rest).
    ciphertext = models.TextField()
    last_four = models.CharField(max_length=4)
    set_by = models.CharField(max_length=150, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Ringba API token …{self.last_four} of {self.traffic_source_id}"
