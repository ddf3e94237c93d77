"""Postback deliveries (the outbox) and the HTTP attempts made for each."""

from django.db import models
from django.db.models import Q

from .triggers import Event


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RETRYING = "retrying", "Retrying"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


DUE_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)


class PostbackDelivery(models.Model):
    """One firing of one trigger for one event: the rendered request and its fate.

    The row is written in the transaction that records the event, so it is the
    durable outbox: a worker sends it when ``next_attempt_at`` is due.
    """

    # PROTECT: the delivery log is audit data; a trigger with deliveries is deactivated.
    trigger = models.ForeignKey("EventTrigger", on_delete=models.PROTECT, related_name="deliveries")
    # Choices so that the admin's event filter lists them instead of a DISTINCT scan.
    event = models.CharField(max_length=32, choices=Event.choices)
    call = models.ForeignKey(
        "Call", on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries"
    )
    lead = models.ForeignKey(
        "Lead", on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries"
    )
    # For a schedule lead's own events (schedule_lead_added, _due, _expired, _converted).
    schedule_lead = models.ForeignKey(
        "ScheduleLead",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="deliveries",
        db_index=False,
    )
    is_test = models.BooleanField(
        "test fire",
        default=False,
        help_text="Set on deliveries sent by the admin's Test fire; they never count as the "
        "real postback and are never retried.",
    )
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    skip_reason = models.CharField(max_length=500, blank=True)
    http_method = models.CharField(max_length=6, default="GET")
    url = models.TextField(blank=True)
    # Rendered with the URL (request_templates); null from the previous release.
    body = models.TextField(null=True, blank=True)  # noqa: DJ001
    request_headers = models.JSONField(null=True, blank=True)
    # Signed the Standard Webhooks way when sent (the trigger's secrets, read then).
    signed = models.BooleanField(default=False, db_default=False)
    # Hash of "METHOD URL" for deliveries that will be sent ("" when skipped): two
    # triggers rendering the same request for one call and event send it once.
    request_key = models.CharField(max_length=64, blank=True, editable=False)
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Useful only until then (a call-start enrichment): not sent or retried after it.
    expires_at = models.DateTimeField(null=True, blank=True)
    # The worker that claimed the current attempt; its final write must still match.
    claim_token = models.CharField(max_length=32, blank=True, editable=False)
    # When a task was last handed to the queue, and its id: the sweeper re-queues a
    # due delivery only when that task is no longer waiting in the queue.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    task_id = models.CharField(max_length=64, blank=True, editable=False)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    # services.firing.explain: cause, conditions with values, tokens with their sources.
    explanation = models.JSONField(default=dict, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "postback deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["trigger", "call", "event"],
                condition=Q(is_test=False, call__isnull=False),
                name="delivery_once_per_trigger_call_event",
            ),
            models.UniqueConstraint(
                fields=["trigger", "lead", "event"],
                condition=Q(is_test=False, call__isnull=True, lead__isnull=False),
                name="delivery_once_per_trigger_lead_event",
            ),
            models.UniqueConstraint(
                fields=["call", "event", "request_key"],
                condition=Q(is_test=False, call__isnull=False) & ~Q(request_key=""),
                name="delivery_one_request_per_call_event",
            ),
            models.UniqueConstraint(
                fields=["lead", "event", "request_key"],
                condition=Q(is_test=False, call__isnull=True, lead__isnull=False)
                & ~Q(request_key=""),
                name="delivery_one_request_per_lead_event",
            ),
        ]
        indexes = [
            # The sweeper's scan: due rows only, by time.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["pending", "retrying"]),
                name="delivery_due_idx",
            ),
            models.Index(fields=["status", "-created_at"], name="delivery_status_idx"),
            # The admin's newest-first list: its full ordering, so no sort.
            models.Index(fields=["-created_at", "-id"], name="delivery_newest_idx"),
            # A schedule lead's deliveries (few have one: partial, built online).
            models.Index(
                fields=["schedule_lead", "-created_at"],
                condition=Q(schedule_lead__isnull=False),
                name="delivery_schedule_lead_idx",
            ),
        ]

    def __str__(self):
        return f"Delivery {self.pk} ({self.status})"


class PostbackAttempt(models.Model):
    """One HTTP request made for a delivery, with what came back.

    ``stray``: the request was made under a claim that had expired by the time it
    finished (another attempt had taken over), so its outcome did not change the
    delivery. It is kept because the receiver may still have acted on it.

    The row is written, ``in_flight``, when the attempt is claimed and before its
    request leaves; the outcome fills it in. One still in flight after a later
    attempt was claimed never reported back (a worker killed, the database gone
    mid-record): the receiver may have acted on it, and a Ringba 404 on the retry
    means it did.
    """

    delivery = models.ForeignKey(
        PostbackDelivery, on_delete=models.CASCADE, related_name="attempts"
    )
    number = models.PositiveIntegerField("attempt", default=0)
    # The request line as this attempt sent it: the delivery may be re-planned later,
    # the attempt (and the payment read from it) keeps what actually left.
    url = models.TextField(blank=True, db_default="", default="")
    stray = models.BooleanField(
        default=False, help_text="Finished after its claim expired; did not change the delivery."
    )
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    error = models.CharField(max_length=500, blank=True)
    manual = models.BooleanField(default=False, help_text="Re-sent or test-fired by a person.")
    in_flight = models.BooleanField(
        default=False,
        db_default=False,
        help_text="Sent or being sent, outcome not recorded (yet).",
    )

    class Meta:
        ordering = ["started_at", "id"]
        indexes = [models.Index(fields=["started_at"], name="attempt_started_idx")]

    def __str__(self):
        return f"Attempt {self.number} → {self.status_code or self.error[:40]}"
