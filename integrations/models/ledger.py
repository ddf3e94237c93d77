"""The money ledger: every movement of a call's money, as an entry nobody rewrites."""

from django.db import models


class LedgerSide(models.TextChoices):
    OFFER = "offer", "payout (owed to the partner)"
    BUYER = "buyer", "revenue (owed by the buyer)"


class LedgerKind(models.TextChoices):
    CONVERSION = "conversion", "Conversion"
    ADJUSTMENT = "adjustment", "Adjustment"
    RETURN = "return", "Return"


class LedgerEntry(models.Model):
    """One money movement on one side of a call: its own signed amount, who, why, when.

    Written in the transaction that changes the call's total, under the call's row
    lock, with the version that change produced; the call's total is checked
    against the entry's running total there. A correction is a new entry, never an
    update: the sum of a side's amounts is what the call records now.
    """

    call = models.ForeignKey("Call", on_delete=models.CASCADE, related_name="ledger")
    side = models.CharField(max_length=5, choices=LedgerSide.choices)
    kind = models.CharField(max_length=10, choices=LedgerKind.choices)
    amount = models.DecimalField(max_digits=11, decimal_places=2)
    total_after = models.DecimalField(max_digits=11, decimal_places=2)
    actor = models.CharField(max_length=200, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    call_version = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "ledger entries"
        constraints = [
            models.UniqueConstraint(
                fields=["call", "side", "kind", "call_version"], name="ledger_once_per_version"
            ),
        ]
        indexes = [
            # Returns per partner and month (the offer's monthly limit).
            models.Index(
                fields=["kind", "created_at"],
                condition=models.Q(kind="return"),
                name="ledger_returns_idx",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.amount:+} on call {self.call_id}"
