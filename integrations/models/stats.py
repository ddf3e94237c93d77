"""Hourly rollups of the dashboard's figures, per offer and traffic source (SPEC §13)."""

from decimal import Decimal

from django.db import models


class StatsHour(models.Model):
    """One hour of one offer and traffic source, as services.rollups last counted it.

    The dashboard and GET /api/v1/stats read these (a few thousand rows a month)
    instead of aggregating a million leads, calls and deliveries per request. The
    worker recounts recent hours from the raw tables (see services.rollups).
    """

    hour = models.DateTimeField()
    # Plain ids, not foreign keys: a rollup outlives nothing and blocks no delete.
    offer_id = models.BigIntegerField(null=True)
    traffic_source_id = models.BigIntegerField(null=True)
    pixels_accepted = models.PositiveIntegerField(default=0)
    pixels_rejected = models.PositiveIntegerField(default=0)
    calls = models.PositiveIntegerField(default=0)
    matched_calls = models.PositiveIntegerField(default=0)
    conversions = models.PositiveIntegerField(default=0)
    payout = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    # The buyer side (TrackDrive's stat=revenue): calls buyer-converted, revenue summed.
    # Database defaults: the previous release's worker, still writing rollups during a
    # deploy, does not know these columns.
    buyer_conversions = models.PositiveIntegerField(default=0, db_default=0)
    revenue = models.DecimalField(
        max_digits=14, decimal_places=2, default=Decimal("0.00"), db_default=Decimal("0.00")
    )
    postbacks_delivered = models.PositiveIntegerField(default=0)
    postbacks_retrying = models.PositiveIntegerField(default=0)
    postbacks_failed = models.PositiveIntegerField(default=0)
    postbacks_skipped = models.PositiveIntegerField(default=0)
    counted_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "stats hour"
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "offer_id", "traffic_source_id"], name="stats_hour_unique"
            )
        ]
        indexes = [models.Index(fields=["hour"], name="stats_hour_idx")]

    def __str__(self):
        return f"{self.hour:%Y-%m-%d %H}:00 offer {self.offer_id} source {self.traffic_source_id}"
