"""What Ringba was paid: facts recorded from the answers of conversion postbacks."""

from django.db import models


class Payment(models.Model):
    """A conversion Ringba accepted for a call: written once, never rewritten.

    Recorded from the attempt Ringba answered 2xx (or 404 after an attempt whose
    outcome was lost, which is then the one credited), whether or not that
    attempt's claim still held: an un-convert cannot recall a request already at
    Ringba. Ringba keeps one conversion per call id, so a call has at most one.
    Re-planning, un-converting, rebuilding or re-sending a delivery leaves this row
    as it is; pages, the calls API and exports read it, never a delivery's URL.
    """

    call = models.ForeignKey("Call", on_delete=models.CASCADE, related_name="payments")
    delivery = models.ForeignKey(
        "PostbackDelivery", on_delete=models.CASCADE, related_name="payments"
    )
    # The attempt whose request Ringba kept (the one sent, with its own URL).
    attempt = models.OneToOneField(
        "PostbackAttempt", on_delete=models.CASCADE, related_name="payment"
    )
    ringba_call_id = models.CharField(max_length=200, blank=True)
    # call_revenue as sent; None when the request carried no readable amount.
    amount = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    paid_at = models.DateTimeField()
    # Which answer recorded it: "200", or "404 after a lost attempt".
    evidence = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["paid_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["call"], name="payment_once_per_call"),
        ]

    def __str__(self):
        return f"Payment {self.amount} for call {self.call_id}"
