"""Event triggers, the templates they are made from, and their custom field mappings."""

import re
from difflib import get_close_matches

from django.core.exceptions import ValidationError
from django.db import models
from simple_history.models import HistoricalRecords

from ..outbound.postbacks import HostNotAllowed, check_url_allowed
from ..outbound.request_templates import BODY_FORMATS, NO_BODY, validate_body, validate_headers
from ..outbound.tokens import SYSTEM_TOKENS, names_in
from ..rules import conditions as trigger_conditions
from ..rules.ringba import (
    CALL_UUID_TOKEN_NAME,
    WEBHOOK_TOKEN_NAME,
    InvalidWebhookToken,
    extract_webhook_token,
)
from ..rules.validators import validate_token_name


class Event(models.TextChoices):
    CALL_BUYER_CONVERTED = "call_buyer_converted", "Call buyer converted"
    CALL_OFFER_CONVERTED = "call_offer_converted", "Call offer converted"
    CALL_STARTED = "call_started", "Call started"
    CALL_ENDED = "call_ended", "Call ended"
    LEAD_CAPTURED = "lead_captured", "Lead captured"
    SCHEDULE_LEAD_ADDED = "schedule_lead_added", "Schedule lead added"
    SCHEDULE_LEAD_DUE = "schedule_lead_due", "Schedule lead due"
    SCHEDULE_LEAD_EXPIRED = "schedule_lead_expired", "Schedule lead expired"
    SCHEDULE_LEAD_CONVERTED = "schedule_lead_converted", "Schedule lead converted"


class HttpMethod(models.TextChoices):
    GET = "GET", "GET"
    POST = "POST", "POST"
    PUT = "PUT", "PUT"


class TriggerTemplate(models.Model):
    """A ready-made trigger shipped with the product (installed by a data migration)."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    event = models.CharField(max_length=32, choices=Event.choices)
    conditions = models.JSONField(default=list, blank=True)
    http_method = models.CharField(max_length=6, choices=HttpMethod.choices, default=HttpMethod.GET)
    url_template = models.CharField(max_length=2000)
    mapping_token_names = models.JSONField(
        default=list,
        blank=True,
        help_text="Token names that get a custom field mapping group on new triggers.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


def decrypted_secrets(*ciphertexts: str) -> list[str]:
    """Return the signing secrets stored as ``ciphertexts`` (empty ones left out)."""
    from ..infra.secrets_at_rest import decrypt

    return [decrypt(text) for text in ciphertexts if text]


class EventTrigger(models.Model):
    """A rule: on an event, when the conditions hold, send the rendered URL.

    ``offer`` empty means global (every offer). Health fields (last success, last
    error, consecutive failures) are maintained by the delivery service.
    """

    name = models.CharField(max_length=300)
    template = models.ForeignKey(
        TriggerTemplate, on_delete=models.SET_NULL, null=True, blank=True, related_name="triggers"
    )
    offer = models.ForeignKey(
        "Offer",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="triggers",
        help_text="Empty: a global trigger for every offer.",
    )
    event = models.CharField(max_length=32, choices=Event.choices)
    conditions = models.JSONField(
        default=list,
        blank=True,
        help_text='JSON list of rules, e.g. [{"token": "ringba_call_uuid", "operator": '
        '"is populated"}]. Operators: ' + ", ".join(trigger_conditions.OPERATORS) + ".",
    )
    http_method = models.CharField(max_length=6, choices=HttpMethod.choices, default=HttpMethod.GET)
    url_template = models.CharField(
        "URL",
        max_length=2000,
        help_text="Tokens as [token_name] or [token_name]{default}; values are URL-encoded.",
    )
    # The request beyond its URL (request_templates): database defaults, because the
    # previous release may still save triggers during a deploy.
    body_format = models.CharField(
        max_length=8,
        choices=BODY_FORMATS,
        default=NO_BODY,
        db_default=NO_BODY,
        help_text="POST/PUT only. JSON: tokens inside string values; form: name=[token]&….",
    )
    body_template = models.TextField(
        blank=True,
        default="",
        db_default="",
        help_text='e.g. {"caller": "[caller_id]", "call": "[call_uuid]"}',
    )
    header_templates = models.JSONField(
        "headers",
        null=True,
        blank=True,
        help_text='{"X-Api-Key": "[partner_api_key]"}; tokens as in the URL.',
    )
    # Standard Webhooks signing (integrations.outbound.signing): empty means unsigned. The
    # previous secret keeps signing too until the rotation is finished. Both are
    # stored encrypted (integrations.infra.secrets_at_rest); a new secret is shown once.
    signing_secret = models.TextField(blank=True, default="", db_default="")
    previous_signing_secret = models.TextField(blank=True, default="", db_default="")
    deadline_seconds = models.PositiveIntegerField(
        "send within (seconds)",
        null=True,
        blank=True,
        help_text="A delivery not sent by then is recorded 'expired — not sent' and never "
        "retried. Empty: call-start triggers use CALL_START_DEADLINE_SECONDS (Ringba attaches "
        "enrichment to the caller's next call, so late data lands on the wrong call); other "
        "events retry on the full schedule.",
    )
    active = models.BooleanField(default=True)
    last_success_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_failure_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.CharField(max_length=500, blank=True, editable=False)
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    # Trigger health (services.trigger_health): when the current failing streak began,
    # when the account managers were told about it, and a pause after a long one.
    # Paused is not inactive: events still write deliveries, which wait to be sent.
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    alerted_at = models.DateTimeField(null=True, blank=True, editable=False)
    paused_at = models.DateTimeField(null=True, blank=True, editable=False)
    pause_reason = models.CharField(max_length=500, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Health fields change by UPDATE from the worker, which records no history row.
    history = HistoricalRecords(
        excluded_fields=[
            "last_success_at",
            "last_failure_at",
            "last_error",
            "consecutive_failures",
            "failing_since",
            "alerted_at",
            # Secrets stay out of the history tables (their changes show as actions).
            "signing_secret",
            "previous_signing_secret",
        ]
    )

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["event", "active"], name="trigger_event_idx")]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        # Every save path (admin, services, shell, fixtures) refuses malformed rules:
        # one bad rule would otherwise raise at firing time on every conversion.
        self._check_conditions()
        super().save(*args, **kwargs)

    @property
    def signing_secrets(self) -> list[str]:
        """The secrets that sign, decrypted: the current one, then the previous one."""
        return decrypted_secrets(self.signing_secret, self.previous_signing_secret)

    def clean(self):
        self._check_conditions()
        validate_body(self.body_format, self.body_template or "", self.http_method)
        validate_headers(self.header_templates)
        template = self.url_template or ""
        authority = re.split(r"[/?#]", template.partition("://")[2], maxsplit=1)[0]
        if "[" in authority or "]" in authority:
            raise ValidationError({"url_template": "Tokens cannot be used in the host name."})
        try:
            check_url_allowed(template)
        except HostNotAllowed as exc:
            raise ValidationError({"url_template": str(exc)}) from exc

    def _check_conditions(self) -> None:
        try:
            trigger_conditions.validate(self.conditions)
        except ValidationError as exc:
            raise ValidationError({"conditions": exc.messages}) from exc

    @property
    def scope_label(self) -> str:
        return f"Offer: {self.offer}" if self.offer_id else "Global"


class CustomFieldMapping(models.Model):
    """Supplies a token (e.g. ringba_webhook_token) for calls from one traffic source."""

    trigger = models.ForeignKey(EventTrigger, on_delete=models.CASCADE, related_name="mappings")
    token_name = models.CharField(
        "mapping group (token)", max_length=64, validators=[validate_token_name]
    )
    traffic_source = models.ForeignKey(
        "TrafficSource", on_delete=models.CASCADE, related_name="field_mappings"
    )
    value = models.CharField(max_length=500)

    history = HistoricalRecords()

    class Meta:
        ordering = ["token_name", "traffic_source__name"]
        verbose_name = "custom field mapping"
        constraints = [
            models.UniqueConstraint(
                fields=["trigger", "token_name", "traffic_source"],
                name="mapping_unique_per_source",
            ),
        ]

    def __str__(self):
        return f"{self.token_name} for {self.traffic_source_id}"

    def clean(self):
        refuse_near_miss("token_name", self.token_name)
        if self.token_name == WEBHOOK_TOKEN_NAME:
            try:
                self.value = extract_webhook_token(self.value)
            except InvalidWebhookToken as exc:
                raise ValidationError({"value": str(exc)}) from exc


def known_token_names() -> set[str]:
    """Token names something reads: computed ones, Ringba's, and every trigger's."""
    known = set(SYSTEM_TOKENS) | {WEBHOOK_TOKEN_NAME, CALL_UUID_TOKEN_NAME}
    for template, rules in EventTrigger.objects.values_list("url_template", "conditions"):
        known.update(names_in(template))
        known.update(rule.get("token", "") for rule in rules or [] if isinstance(rule, dict))
    for names in TriggerTemplate.objects.values_list("mapping_token_names", flat=True):
        known.update(names or [])
    return known


def refuse_near_miss(field: str, name: str) -> None:
    """Refuse a token name one typo away from a known one (``ringba_webhok_token``).

    Such a token is stored and silently never used: no trigger asks for it, and the
    postback goes without the value the account manager meant to give it.
    """
    known = known_token_names()
    if name in known:
        return
    close = get_close_matches(name, known, n=1, cutoff=0.85)
    if close:
        raise ValidationError(
            {
                field: f"{name} is not a token any trigger uses; did you mean {close[0]}? "
                "A misspelt token is stored but never sent."
            }
        )
