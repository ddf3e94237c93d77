"""Lead-to-Call schedules: the Finalized path that calls unrouted callers back (SPEC §12).

Ringba fires the pixel on Finalized for calls nobody answered; the pixel carries a
schedule's lead token and becomes a ``ScheduleLead``. The telephony side's dialer
claims due leads, calls the person back and reports each call through the calls
API. A lead is worked until it converts, expires, runs out of attempts or opts out.
"""

from datetime import time

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Now
from simple_history.models import HistoricalRecords

from ..hours.time_zones import validate_time_zone
from ..hours.windows import ContactWindow
from ..rules.ids import uuid7
from .offers import ContactFieldRules, LeadTokenOwner

WEEKDAYS = "1234567"  # ISO weekdays: 1 = Monday … 7 = Sunday


def validate_weekdays(value: str) -> None:
    if not value or any(day not in WEEKDAYS for day in value) or len(set(value)) != len(value):
        raise ValidationError(
            "Use ISO weekday digits once each, 1 = Monday … 7 = Sunday (e.g. 12345)."
        )


class Schedule(LeadTokenOwner):
    """A Lead-to-Call schedule: its own lead token, the offer it sells into, its rules."""

    name = models.CharField(max_length=200)
    offer = models.ForeignKey(
        "Offer",
        on_delete=models.PROTECT,
        related_name="schedules",
        help_text="The offer its callbacks sell into: its triggers fire for them.",
    )
    active = models.BooleanField(default=True)
    traffic_sources = models.ManyToManyField(
        "TrafficSource",
        blank=True,
        related_name="schedules",
        help_text="Partners allowed to post Finalized pixels to this schedule.",
    )
    hours_to_expire = models.PositiveIntegerField(
        default=24,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 90)],
        help_text="A lead not converted this many hours after its pixel expires.",
    )
    max_contact_attempts = models.PositiveSmallIntegerField(
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
        help_text="Calls placed to one lead before it is exhausted.",
    )
    retry_minutes = models.PositiveIntegerField(
        "retry spacing (minutes)",
        default=60,
        validators=[MinValueValidator(1)],
        help_text="Wait after a call before the lead is due again.",
    )
    contact_days = models.CharField(
        max_length=7,
        default="12345",
        validators=[validate_weekdays],
        help_text="Days leads may be called: ISO weekday digits, 1 = Monday … 7 = Sunday.",
    )
    contact_start = models.TimeField(default=time(9, 0))
    contact_end = models.TimeField(default=time(20, 0))
    # Hours of their own for some weekdays, {"6": ["10:00", "14:00"]}; the others use
    # contact_start-contact_end (TrackDrive's hours per weekday).
    day_hours = models.JSONField(default=dict, blank=True, db_default={})
    time_zone = models.CharField(
        max_length=64,
        default="America/New_York",
        validators=[validate_time_zone],
        help_text="The contact window is in this zone (daylight saving included).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=["lead_token"], m2m_fields=[traffic_sources])

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(contact_start__lt=models.F("contact_end")),
                name="schedule_window_start_before_end",
                violation_error_message="The contact window must start before it ends.",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def window(self) -> ContactWindow:
        return ContactWindow(
            days=frozenset(int(day) for day in self.contact_days),
            start=self.contact_start,
            end=self.contact_end,
            time_zone=self.time_zone,
            day_hours={
                int(day): (time.fromisoformat(start), time.fromisoformat(end))
                for day, (start, end) in (self.day_hours or {}).items()
            },
        )


class ScheduleContactField(ContactFieldRules):
    """A field a schedule expects on its pixels (the same rules as an offer's)."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="contact_fields")

    history = HistoricalRecords()

    class Meta(ContactFieldRules.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["schedule", "name"], name="schedule_contact_field_unique_name"
            ),
        ]


class ScheduleLeadState(models.TextChoices):
    QUEUED = "queued", "Queued"
    CONTACTING = "contacting", "Contacting"
    CONVERTED = "converted", "Converted"
    EXPIRED = "expired", "Expired"
    EXHAUSTED = "exhausted", "Exhausted"
    OPTED_OUT = "opted_out", "Opted out"


OPEN_STATES = (ScheduleLeadState.QUEUED, ScheduleLeadState.CONTACTING)


class ScheduleLead(models.Model):
    """One Finalized pixel in a schedule, worked until converted, expired or exhausted."""

    uuid = models.UUIDField(default=uuid7, unique=True, editable=False)
    schedule = models.ForeignKey(Schedule, on_delete=models.PROTECT, related_name="leads")
    traffic_source = models.ForeignKey(
        "TrafficSource", on_delete=models.PROTECT, related_name="schedule_leads"
    )
    caller_id = models.CharField(max_length=20)
    ringba_call_uuid = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    # A sample or test pixel (its ringba_call_uuid starts with TEST-): stored and
    # shown, never attached to a call or handed to a dialer, so it never pays.
    is_test = models.BooleanField("test", default=False, db_default=False)
    tokens = models.JSONField(default=dict, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    raw_body = models.TextField(blank=True)
    raw_query = models.TextField(blank=True)
    content_type = models.CharField(max_length=200, blank=True)
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    state = models.CharField(
        max_length=12, choices=ScheduleLeadState.choices, default=ScheduleLeadState.QUEUED
    )
    attempts = models.PositiveSmallIntegerField("calls placed", default=0)
    received_at = models.DateTimeField(db_default=Now())
    expires_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField(
        help_text="Not claimed before this (the retry spacing after a call)."
    )
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    lease_holder = models.CharField(max_length=100, blank=True)
    # The current claim: handed to the dialer that claimed the lead, and required
    # back with its report. A dialer whose lease lapsed while another claimed the
    # lead holds an old claim, and its report is refused (409).
    claim_token = models.CharField(max_length=32, blank=True, db_default="", editable=False)
    # The due period last announced as schedule_lead_due (its next_attempt_at).
    due_announced_for = models.DateTimeField(null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["ringba_call_uuid", "schedule"],
                condition=models.Q(ringba_call_uuid__isnull=False),
                name="schedule_lead_one_per_ringba_call",
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=OPEN_STATES) | models.Q(lease_expires_at__isnull=True),
                name="schedule_lead_closed_has_no_lease",
            ),
            models.CheckConstraint(
                condition=~models.Q(state=ScheduleLeadState.QUEUED) | models.Q(attempts=0),
                name="schedule_lead_queued_has_no_attempts",
            ),
        ]
        indexes = [
            # The dialer's claim: a schedule's open leads by when they are due.
            models.Index(
                fields=["schedule", "next_attempt_at", "id"],
                condition=models.Q(state__in=OPEN_STATES),
                name="schedule_lead_due_idx",
            ),
            # The worker's expiry sweep.
            models.Index(
                fields=["expires_at"],
                condition=models.Q(state__in=OPEN_STATES),
                name="schedule_lead_expiry_idx",
            ),
            # The admin's queue newest first (its full ordering), and one schedule's.
            models.Index(fields=["-received_at", "-id"], name="schedule_lead_list_idx"),
            models.Index(fields=["schedule", "-received_at"], name="schedule_lead_newest_idx"),
            models.Index(fields=["caller_id"], name="schedule_lead_caller_idx"),
        ]

    def __str__(self):
        return f"Schedule lead {self.uuid} from {self.caller_id}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


class ScheduleLeadTransition(models.Model):
    """One change of a schedule lead's state, with when and why."""

    lead = models.ForeignKey(ScheduleLead, on_delete=models.CASCADE, related_name="transitions")
    from_state = models.CharField(max_length=12, blank=True)
    to_state = models.CharField(max_length=12, choices=ScheduleLeadState.choices)
    at = models.DateTimeField(db_default=Now())
    cause = models.CharField(max_length=200)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["lead", "at"], name="schedule_transition_lead_idx")]

    def __str__(self):
        return f"{self.from_state or '—'} → {self.to_state}"
