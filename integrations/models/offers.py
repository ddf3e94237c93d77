"""Offers (what calls are bought for) and their contact fields."""

import secrets
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from simple_history.models import HistoricalRecords

from ..outbound.tokens import RESERVED_LEAD_TOKENS
from ..rules.validators import validate_regex, validate_token_name


def generate_lead_token() -> str:
    """Return a fresh secret lead token (32 hex characters, 128 bits)."""
    return secrets.token_hex(16)


class DuplicatePolicy(models.TextChoices):
    ALLOW = "allow", "Allow (store a new lead)"
    UPDATE = "update", "Update (merge into the newest lead)"
    REJECT = "reject", "Reject (answer 409)"


class LeadTokenOwner(models.Model):
    """What Ringba's pixels authenticate against: an offer or a Lead-to-Call schedule.

    Both own a secret lead token that account managers rotate
    (``services.offers.rotate_lead_token``) and partner links are signed over.
    """

    lead_token = models.CharField(
        max_length=64,
        unique=True,
        default=generate_lead_token,
        editable=False,
        help_text="Secret credential of the Leads Capture API. Rotate it from the list actions.",
    )
    lead_token_rotated_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True

    @property
    def lead_token_hint(self) -> str:
        """Return the token shortened for logs and lists (never log it in full)."""
        return f"{self.lead_token[:4]}…{self.lead_token[-2:]}"


class Offer(LeadTokenOwner):
    """An offer calls are bought for; its secret lead token authenticates Ringba's pixels."""

    name = models.CharField(max_length=200)
    active = models.BooleanField(default=True)
    traffic_sources = models.ManyToManyField(
        "TrafficSource",
        blank=True,
        related_name="offers",
        help_text="Partners allowed to post pixels and calls to this offer.",
    )
    match_window_seconds = models.PositiveIntegerField(
        "lead↔call match window (seconds)",
        default=24 * 60 * 60,
        validators=[MinValueValidator(1)],
        help_text="A lead and a call from the same caller attach when this close in time.",
    )
    duplicate_policy = models.CharField(
        max_length=10,
        choices=DuplicatePolicy.choices,
        default=DuplicatePolicy.ALLOW,
        help_text="What a pixel without ringba_call_uuid does when the same traffic source "
        "already sent a lead for this caller within the match window (another partner's "
        "lead is never merged into or refused on).",
    )
    enforce_contact_field_validations = models.BooleanField(
        default=False,
        help_text="Refuse pixels that break the contact-field rules (422); when off, the "
        "problems are returned as warnings and the lead is stored.",
    )
    payout = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Pay-per-call amount owed to the traffic source for a converting call.",
    )
    min_duration_seconds = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="A call that ends at or above this duration converts for the traffic "
        "source automatically, with the payout above. Empty: no automatic conversion.",
    )
    # After the conversion (SPEC §16): how long a return is accepted, how many a
    # partner may have a month, and how long the conversion postback waits so that a
    # return or correction inside that window costs nothing at Ringba.
    return_window_days = models.PositiveIntegerField(
        default=30,
        db_default=30,
        help_text="Days after the conversion in which a call can be returned (Ringba changes "
        "conversions for 30 days).",
    )
    monthly_return_limit = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Returns accepted per traffic source per calendar month (UTC); empty: no limit.",
    )
    conversion_hold_minutes = models.PositiveIntegerField(
        "hold conversions (minutes)",
        default=0,
        db_default=0,
        help_text="The conversion postback waits this long (Ringba's own 'Delay Conversions'); "
        "a return or correction inside it is never sent to Ringba.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Who changed what, when, old → new (SPEC §9). The secret itself is not copied into
    # history: rotations show as lead_token_rotated_at changing (and in the action log).
    history = HistoricalRecords(excluded_fields=["lead_token"], m2m_fields=[traffic_sources])

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        if (self.payout is None) != (self.min_duration_seconds is None):
            raise ValidationError(
                "The conversion rule needs both a payout and a minimum duration, or neither."
            )

    @property
    def has_conversion_rule(self) -> bool:
        return self.payout is not None and self.min_duration_seconds is not None


class ContactFieldRules(models.Model):
    """A field a pixel is expected to carry, with the rules that validate it.

    Offers and Lead-to-Call schedules each have their own (``ContactField``,
    ``ScheduleContactField``); the capture API checks both the same way.
    """

    class FieldType(models.TextChoices):
        STRING = "string", "String"
        INTEGER = "integer", "Integer"
        DECIMAL = "decimal", "Decimal"
        BOOLEAN = "boolean", "Boolean"
        DATETIME = "datetime", "Date and time"
        PHONE = "phone", "Phone number"
        EMAIL = "email", "Email"
        URL = "url", "URL"

    name = models.CharField(
        "field name",
        max_length=64,
        validators=[validate_token_name],
        help_text="The token name Ringba posts, e.g. first_name.",
    )
    display_name = models.CharField(max_length=100, blank=True)
    field_type = models.CharField(
        max_length=10, choices=FieldType.choices, default=FieldType.STRING
    )
    required = models.BooleanField("required on submit", default=False)
    pattern = models.CharField(
        "regex pattern",
        max_length=500,
        blank=True,
        validators=[validate_regex],
        help_text="Optional regular expression the whole value must match.",
    )
    acceptable_values = models.TextField(
        blank=True, help_text="Optional list of allowed values, one per line."
    )
    description = models.CharField(max_length=500, blank=True)
    show_in_instructions = models.BooleanField("show in posting instructions", default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        abstract = True
        ordering = ["position", "id"]

    def __str__(self):
        return self.name

    def clean(self):
        if self.name in RESERVED_LEAD_TOKENS or self.name in ("lead_token", "traffic_source_id"):
            raise ValidationError(
                {"name": f"{self.name} is computed or routed by the system; pick another name."}
            )

    @property
    def label(self) -> str:
        return self.display_name or self.name.replace("_", " ").capitalize()

    @property
    def acceptable_values_list(self) -> list[str]:
        return [line.strip() for line in self.acceptable_values.splitlines() if line.strip()]


class ContactField(ContactFieldRules):
    """A field an offer expects on its pixels."""

    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="contact_fields")

    history = HistoricalRecords()

    class Meta(ContactFieldRules.Meta):
        constraints = [
            models.UniqueConstraint(fields=["offer", "name"], name="contact_field_unique_name"),
        ]
