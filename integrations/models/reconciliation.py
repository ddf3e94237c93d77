"""Reconciliation with a partner's Ringba: what we paid against what Ringba recorded."""

from django.db import models


class Difference(models.TextChoices):
    """One label per row, a fixed vocabulary (docs/money.md says what each means)."""

    MATCHED = "matched", "matched"
    NEVER_SENT = "never_sent", "converted here, never sent"
    SENT_NOT_RECORDED = "sent_not_recorded", "sent (2xx), Ringba shows no conversion"
    REJECTED_ALREADY_CONVERTED = (
        "rejected_already_converted",
        "Ringba answered 404: already converted",
    )
    TOO_LATE = "too_late", "converted after Ringba's 30 days"
    AMOUNT_DIFFERS = "amount_differs", "amounts differ"
    ZERO_CONVERSION = "zero_conversion", "Ringba counts a $0 conversion"
    RETURNED_NOT_VOIDED = "returned_not_voided", "returned here, still converted at Ringba"
    NOT_IN_PORTAL = "not_in_portal", "Ringba converted a call we never paid"
    DAY_BOUNDARY = "day_boundary", "same call, a different day in the two reports"


class ReconciliationSource(models.TextChoices):
    API = "api", "Ringba's call-log API"
    CSV = "csv", "an uploaded call details CSV"


class ReconciliationRun(models.Model):
    """One comparison of a partner's period: its totals, counts per label, and its rows.

    Written whole or not at all: a run that fails (a bad file, Ringba's API down)
    keeps only its error, never half its rows.
    """

    traffic_source = models.ForeignKey(
        "TrafficSource", on_delete=models.CASCADE, related_name="reconciliations"
    )
    # The period, UTC days, both included.
    period_from = models.DateField()
    period_to = models.DateField()
    source = models.CharField(max_length=8, choices=ReconciliationSource.choices)
    file_name = models.CharField(max_length=255, blank=True)
    scheduled = models.BooleanField(default=False)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    # {label: count}; totals are sums of converted amounts on each side.
    counts = models.JSONField(default=dict, blank=True)
    our_total = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    their_total = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    our_conversions = models.PositiveIntegerField(default=0)
    their_conversions = models.PositiveIntegerField(default=0)
    their_rows = models.PositiveIntegerField(default=0)
    run_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["traffic_source", "-started_at"], name="reconcile_source_idx"),
        ]

    def __str__(self):
        period = f"{self.period_from}…{self.period_to}"
        return f"Reconciliation {self.pk}: {self.traffic_source} {period}"

    @property
    def differences(self) -> int:
        return sum(n for label, n in self.counts.items() if label != Difference.MATCHED)


class ReconciliationRow(models.Model):
    """One call as both sides see it (either side may be missing), with its label."""

    run = models.ForeignKey(ReconciliationRun, on_delete=models.CASCADE, related_name="rows")
    label = models.CharField(max_length=32, choices=Difference.choices)
    ringba_call_id = models.CharField(max_length=200, blank=True)
    call = models.ForeignKey(
        "Call", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    caller_id = models.CharField(max_length=32, blank=True)
    our_at = models.DateTimeField(null=True, blank=True)
    their_at = models.DateTimeField(null=True, blank=True)
    # What Ringba should hold for the call (its payout, 0 once returned), and holds.
    our_amount = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    their_amount = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    # How the two sides were paired: "id", "caller" or "" (one side only).
    matched_by = models.CharField(max_length=8, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.CharField(max_length=150, blank=True)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["run", "label"], name="reconcile_row_label_idx"),
        ]

    def __str__(self):
        return f"{self.label}: {self.ringba_call_id or self.caller_id}"

    @property
    def is_open(self) -> bool:
        return self.label != Difference.MATCHED and self.reviewed_at is None
