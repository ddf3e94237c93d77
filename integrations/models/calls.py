"""Calls: one inbound call on a tracking number, with its two conversions."""

import uuid

from django.db import models
from django.utils import timezone


def generate_call_uuid() -> str:
    return str(uuid.uuid4())


class Call(models.Model):
    """One inbound call, its attached lead, and the buyer and offer conversions.

    Offer and traffic source are copied from the number when the call is recorded,
    so reassigning a number later does not rewrite history.
    """

    call_uuid = models.CharField(max_length=64, unique=True, default=generate_call_uuid)
    # Empty for a schedule's callback: the dialer calls out, on no tracking number.
    number = models.ForeignKey(
        "Number", on_delete=models.PROTECT, null=True, blank=True, related_name="calls"
    )
    # Indexed below together with started_at, not alone (one index each, not two).
    offer = models.ForeignKey(
        "Offer", on_delete=models.PROTECT, related_name="calls", db_index=False
    )
    traffic_source = models.ForeignKey(
        "TrafficSource", on_delete=models.PROTECT, related_name="calls", db_index=False
    )
    caller_id = models.CharField(max_length=20)
    lead = models.OneToOneField(
        "Lead", on_delete=models.SET_NULL, null=True, blank=True, related_name="call"
    )
    # A callback placed for a Lead-to-Call schedule lead: its tokens are the call's
    # pixel tokens (the original ringba_call_uuid included). Indexed below.
    schedule_lead = models.ForeignKey(
        "ScheduleLead",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="calls",
        db_index=False,
    )
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    duration = models.PositiveIntegerField("duration (seconds)", null=True, blank=True)
    post_call_tokens = models.JSONField(default=dict, blank=True)
    buyer_converted = models.BooleanField(default=False)
    revenue = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    buyer_converted_at = models.DateTimeField(null=True, blank=True)
    # What converted it: "calls API", "admin: …", the duration rule (the "why" panel).
    buyer_converted_by = models.CharField(max_length=200, blank=True, editable=False)
    offer_converted = models.BooleanField(default=False)
    payout = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    offer_converted_at = models.DateTimeField(null=True, blank=True)
    offer_converted_by = models.CharField(max_length=200, blank=True, editable=False)
    # Moves on with every change made through services.calls: a form or a report
    # that read an older version is refused instead of undoing what came after it.
    version = models.PositiveIntegerField(default=1, db_default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        permissions = [("use_calls_api", "Can use the calls API")]
        indexes = [
            # Matching, and the admin's caller search (no offer): caller_id leads.
            models.Index(fields=["caller_id", "offer", "-started_at"], name="call_caller_idx"),
            # The admin's newest-first list (its full ordering, so no sort) and retention.
            models.Index(fields=["-started_at", "-id"], name="call_newest_idx"),
            # An offer's or a source's calls newest first, and its last call (admin).
            models.Index(fields=["offer", "-started_at"], name="call_offer_idx"),
            models.Index(fields=["traffic_source", "-started_at"], name="call_source_idx"),
            # A schedule lead's calls (few calls have one: partial, built online).
            models.Index(
                fields=["schedule_lead"],
                condition=models.Q(schedule_lead__isnull=False),
                name="call_schedule_lead_idx",
            ),
        ]

    def __str__(self):
        return f"Call {self.call_uuid}"

    @property
    def has_ended(self) -> bool:
        return self.ended_at is not None
