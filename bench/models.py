"""The baselines' tables (bench only; SPEC §11, issue 13).

What a pixel endpoint must at least store, the way a plain Django app would store
it: a bigint key, the pixel's fields, foreign keys to the offer and the traffic
source, and the indexes a pixel table needs (one pixel per offer and Ringba call
id; leads of a caller on an offer by time, for matching).
"""

from django.db import models


class PixelRow(models.Model):
    """The pixel's fields every baseline stores (each in a table of its own)."""

    offer = models.ForeignKey("integrations.Offer", on_delete=models.CASCADE)
    traffic_source = models.ForeignKey("integrations.TrafficSource", on_delete=models.CASCADE)
    caller_id = models.CharField(max_length=20)
    ringba_call_uuid = models.CharField(max_length=128)
    tokens = models.JSONField(default=dict)
    raw_body = models.TextField(blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    source_ip = models.GenericIPAddressField(null=True)
    received_at = models.DateTimeField()

    class Meta:
        abstract = True


class FairFloorLead(PixelRow):
    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["offer", "ringba_call_uuid"], name="fair_floor_one_per_call"
            )
        ]
        indexes = [
            models.Index(fields=["offer", "caller_id", "-received_at"], name="fair_floor_match")
        ]

    def __str__(self):
        return f"Fair-floor lead {self.pk}"


class UuidFloorLead(PixelRow):
    """The older floor: a pixel row keyed by a random UUIDv4, in a table of its own.

    It used to insert into the product's lead table, and its random keys left that
    table's unique uuid index scattered and dirty just before capture was measured
    in every cell (issue 35): capture paid for the baseline's writes.
    """

    uuid = models.UUIDField(unique=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["offer", "ringba_call_uuid"], name="uuid_floor_one_per_call"
            )
        ]
        indexes = [
            models.Index(fields=["offer", "caller_id", "-received_at"], name="uuid_floor_match")
        ]

    def __str__(self):
        return f"UUID-floor lead {self.pk}"
