"""Returns and corrections carried to the partner's Ringba after it was paid (SPEC §16)."""

from django.db import models


class AdjustmentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RETRYING = "retrying", "Retrying"
    ADJUSTED = "adjusted", "Adjusted at Ringba"
    REQUESTED = "requested", "Requested (the partner approves)"
    BY_HAND = "by_hand", "To do by hand in Ringba"
    DONE_BY_HAND = "done_by_hand", "Done by hand"
    FAILED = "failed", "Failed"
    SUPERSEDED = "superseded", "Superseded by a later change"


ADJUSTMENT_DUE = (AdjustmentStatus.PENDING, AdjustmentStatus.RETRYING)


class RingbaAdjustment(models.Model):
    """What the partner's Ringba should hold for a paid call: one absolute amount to set.

    The intent (a row that may still be superseded while nothing was sent) and the
    record of its sending: claimed with a lease like a postback, each request kept
    as an attempt. A return sets the conversion to 0; an adjustment to the call's
    new payout. Absolute amounts make a repeat after a lost answer harmless.
    """

    call = models.ForeignKey("Call", on_delete=models.CASCADE, related_name="ringba_adjustments")
    payment = models.ForeignKey("Payment", on_delete=models.CASCADE, related_name="adjustments")
    ledger_entry = models.ForeignKey(
        "LedgerEntry", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    traffic_source = models.ForeignKey(
        "TrafficSource", on_delete=models.PROTECT, related_name="ringba_adjustments"
    )
    mode = models.CharField(max_length=16)
    ringba_call_id = models.CharField(max_length=200)
    # What Ringba holds before, and what it should hold after.
    from_amount = models.DecimalField(max_digits=10, decimal_places=2)
    to_amount = models.DecimalField(max_digits=10, decimal_places=2)
    reason = models.CharField(max_length=500)
    status = models.CharField(
        max_length=12, choices=AdjustmentStatus.choices, default=AdjustmentStatus.PENDING
    )
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True, editable=False)
    last_error = models.CharField(max_length=500, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    done_by = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status__in=["pending", "retrying"]),
                name="adjustment_due_idx",
            ),
            models.Index(fields=["traffic_source", "status"], name="adjustment_source_idx"),
        ]

    def __str__(self):
        return f"Ringba adjustment {self.pk}: {self.from_amount} → {self.to_amount}"


class RingbaAdjustmentAttempt(models.Model):
    """One request made to Ringba's API for an adjustment, with what came back."""

    adjustment = models.ForeignKey(
        RingbaAdjustment, on_delete=models.CASCADE, related_name="attempts"
    )
    number = models.PositiveIntegerField()
    url = models.TextField()
    request_body = models.TextField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    error = models.CharField(max_length=500, blank=True)
    in_flight = models.BooleanField(default=True)

    class Meta:
        ordering = ["started_at", "id"]

    def __str__(self):
        return f"Adjustment attempt {self.number} → {self.status_code or self.error[:40]}"
