"""Tracking numbers and the extra tokens every call on a number inherits."""

from django.core.exceptions import ValidationError
from django.db import models
from simple_history.models import HistoricalRecords

from ..outbound.tokens import SYSTEM_TOKENS
from ..rules.phones import InvalidPhoneNumber, normalize_phone
from ..rules.ringba import WEBHOOK_TOKEN_NAME, InvalidWebhookToken, extract_webhook_token
from ..rules.validators import validate_token_name
from .triggers import refuse_near_miss


class Number(models.Model):
    """A tracking phone number (E.164) assigned to one offer and one traffic source."""

    number = models.CharField(
        max_length=20,
        unique=True,
        help_text="Any common format; stored as E.164 (+18005551234).",
    )
    label = models.CharField(max_length=100, blank=True)
    offer = models.ForeignKey("Offer", on_delete=models.PROTECT, related_name="numbers")
    traffic_source = models.ForeignKey(
        "TrafficSource", on_delete=models.PROTECT, related_name="numbers"
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["number"]

    def __str__(self):
        return self.number

    def clean(self):
        try:
            self.number = normalize_phone(self.number)
        except InvalidPhoneNumber as exc:
            raise ValidationError({"number": f"Not a phone number: {exc}"}) from exc
        if (
            self.offer_id
            and self.traffic_source_id
            and not self.offer.traffic_sources.filter(pk=self.traffic_source_id).exists()
        ):
            raise ValidationError(
                {"traffic_source": "Enable this traffic source on the offer first."}
            )


class NumberToken(models.Model):
    """An extra token (key/value) that calls on the number inherit, e.g. ringba_webhook_token."""

    number = models.ForeignKey(Number, on_delete=models.CASCADE, related_name="extra_tokens")
    key = models.CharField(max_length=64, validators=[validate_token_name])
    value = models.CharField(max_length=500)

    history = HistoricalRecords()

    class Meta:
        ordering = ["key"]
        verbose_name = "extra token"
        constraints = [
            models.UniqueConstraint(fields=["number", "key"], name="number_token_unique_key"),
        ]

    def __str__(self):
        return self.key

    def clean(self):
        if self.key in SYSTEM_TOKENS:
            raise ValidationError({"key": f"{self.key} is computed by the system per call."})
        refuse_near_miss("key", self.key)
        if self.key == WEBHOOK_TOKEN_NAME:
            try:
                self.value = extract_webhook_token(self.value)
            except InvalidWebhookToken as exc:
                raise ValidationError({"value": str(exc)}) from exc
