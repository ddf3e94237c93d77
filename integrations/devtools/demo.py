"""The demo data set: one offer, one Ringba partner, two numbers, the Ringba trigger and
a Lead-to-Call schedule for the partner's unrouted calls.

Idempotent: every row is looked up by a stable natural key before it is created,
so running it again changes nothing. The admin password is derived from
SECRET_KEY (HMAC), so it is stable, printable on every run, and never stored.
"""

import hashlib
import hmac
from dataclasses import dataclass
from datetime import time
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import transaction

from ..models import (
    AdjustmentMode,
    ApiClient,
    ContactField,
    CustomFieldMapping,
    EventTrigger,
    Number,
    NumberToken,
    Offer,
    Schedule,
    ScheduleContactField,
    TrafficSource,
    TriggerTemplate,
)
from ..rules.ringba import ENRICH_TEMPLATE_SLUG, RINGBA_TEMPLATE_SLUG, WEBHOOK_TOKEN_NAME
from ..services.api_clients import hash_key, install_key
from ..services.partner_credentials import set_ringba_token
from ..services.triggers import create_trigger_from_template
from .reconciliation_showcase import ensure_showcase

OFFER_NAME = "Demo Offer: Final Expense"
SCHEDULE_NAME = "Demo Schedule: Missed Calls"
SOURCE_NAME = "Demo Ringba Partner"
NUMBERS = ["+18005550100", "+18005550101"]
NUMBER_WEBHOOK_TOKEN = "demo-number-webhook-token"
MAPPING_WEBHOOK_TOKEN = "demo-mapping-webhook-token"
# The demo partner's Ringba number id for Enrich Call Data (the IDE trigger).
RINGBA_NUMBER_ID = "demo-ringba-number"
ADMIN_USERNAME = "admin"
API_USERNAME = "calls-api"
CONTACT_FIELDS = [
    ("first_name", "First name", "string", False, "Caller's first name."),
    ("last_name", "Last name", "string", False, "Caller's last name."),
    ("jornaya_leadid", "Jornaya LeadiD", "string", False, "Jornaya LeadiD token."),
    (
        "trusted_form_cert_url",
        "TrustedForm certificate",
        "url",
        False,
        "TrustedForm certificate URL.",
    ),
]


@dataclass
class Demo:
    offer: Offer
    source: TrafficSource
    numbers: list[Number]
    trigger: EventTrigger
    enrich_trigger: EventTrigger
    admin_password: str
    api_token: str
    schedule: Schedule
    # The second partner's Ringba call log to upload (seed_demo(reconciliation_showcase=True)).
    reconciliation_csv: Path | None = None


# The demo partner's Ringba account at the local stand-in (returns and adjustments).
DEMO_RINGBA_ACCOUNT_ID = "RA-demo-partner"


def demo_ringba_api_token(secret_key: str | None = None) -> str:
    """The API token the demo partner "granted", derived from SECRET_KEY like the rest.

    ``secret_key``: another process's key (a test's stand-in for a stack it started).
    """
    key = (secret_key or settings.SECRET_KEY).encode()
    return hmac.new(key, b"demo ringba api token", hashlib.sha256).hexdigest()[:32]


def demo_admin_password() -> str:
    digest = hmac.new(settings.SECRET_KEY.encode(), b"demo admin password", hashlib.sha256)
    return "demo-" + digest.hexdigest()[:16]


@transaction.atomic
def seed_demo(*, reconciliation_showcase: bool = False) -> Demo:
    """Create (or find) the demo rows and return them.

    With ``reconciliation_showcase``, also a second partner whose books differ from
    its Ringba call log once in every way (``reconciliation_showcase``), and that
    log as a CSV under ``var/`` to upload in Reconcile now.
    """
    source, _ = TrafficSource.objects.get_or_create(
        name=SOURCE_NAME, defaults={"company": "Demo Publisher LLC"}
    )
    offer, _ = Offer.objects.get_or_create(
        name=OFFER_NAME,
        defaults={"payout": Decimal("12.50"), "min_duration_seconds": 90},
    )
    offer.traffic_sources.add(source)
    _ensure_contact_fields(ContactField, offer=offer)
    numbers = []
    for raw in NUMBERS:
        number, _ = Number.objects.get_or_create(
            number=raw, defaults={"offer": offer, "traffic_source": source, "label": "Demo"}
        )
        numbers.append(number)
    NumberToken.objects.get_or_create(
        number=numbers[0], key=WEBHOOK_TOKEN_NAME, defaults={"value": NUMBER_WEBHOOK_TOKEN}
    )
    template = TriggerTemplate.objects.get(slug=RINGBA_TEMPLATE_SLUG)
    trigger = EventTrigger.objects.filter(template=template, offer=None).order_by("pk").first()
    if trigger is None:
        try:
            trigger = create_trigger_from_template(template=template)
        except ValidationError as exc:
            raise ImproperlyConfigured(
                f"The demo's Ringba trigger would post to {settings.RINGBA_WEBHOOK_BASE_URL}, "
                "which POSTBACK_ALLOWED_HOSTS does not allow: set both to the same host "
                f"({'; '.join(exc.messages)})"
            ) from exc
    CustomFieldMapping.objects.get_or_create(
        trigger=trigger,
        token_name=WEBHOOK_TOKEN_NAME,
        traffic_source=source,
        defaults={"value": MAPPING_WEBHOOK_TOKEN},
    )
    enrich_trigger = _ensure_enrich_trigger(offer, source)
    _ensure_ringba_account(source)
    password = demo_admin_password()
    _ensure_admin(password)
    showcase_csv = None
    if reconciliation_showcase:
        _, showcase_csv = ensure_showcase(
            offer=offer, trigger=trigger, directory=Path(settings.BASE_DIR) / "var"
        )
    return Demo(
        offer=offer,
        source=source,
        numbers=numbers,
        trigger=trigger,
        enrich_trigger=enrich_trigger,
        admin_password=password,
        api_token=_ensure_api_client(),
        schedule=_ensure_schedule(offer, source),
        reconciliation_csv=showcase_csv,
    )


def _ensure_enrich_trigger(offer: Offer, source: TrafficSource) -> EventTrigger:
    """The offer's Ringba IDE trigger, enriching the demo partner's Ringba at call start."""
    template = TriggerTemplate.objects.get(slug=ENRICH_TEMPLATE_SLUG)
    trigger = EventTrigger.objects.filter(template=template, offer=offer).order_by("pk").first()
    if trigger is not None:
        return trigger
    try:
        return create_trigger_from_template(
            template=template, offer=offer, traffic_source=source, mapping_value=RINGBA_NUMBER_ID
        )
    except ValidationError as exc:
        raise ImproperlyConfigured(
            f"The demo's Ringba IDE trigger would call {settings.RINGBA_ENRICH_BASE_URL}, "
            "which POSTBACK_ALLOWED_HOSTS does not allow: set both to the same host "
            f"({'; '.join(exc.messages)})"
        ) from exc


def _ensure_ringba_account(source: TrafficSource) -> None:
    """Returns and adjustments go to the stand-in's API with the partner's token."""
    if source.ringba_account_id != DEMO_RINGBA_ACCOUNT_ID:
        source.ringba_account_id = DEMO_RINGBA_ACCOUNT_ID
        source.adjustment_mode = AdjustmentMode.PARTNER_TOKEN
        source.save(update_fields=["ringba_account_id", "adjustment_mode", "updated_at"])
    set_ringba_token(source=source, token=demo_ringba_api_token(), who="seed_demo")


def _ensure_schedule(offer: Offer, source: TrafficSource) -> Schedule:
    """The schedule for the partner's unrouted calls; open every day and hour, so the
    demo's dialer (simulate_call --finalized) can claim whenever it runs."""
    schedule, _ = Schedule.objects.get_or_create(
        name=SCHEDULE_NAME,
        defaults={
            "offer": offer,
            "contact_days": "1234567",
            "contact_start": time(0, 0),
            "contact_end": time(23, 59, 59),
            "time_zone": settings.TIME_ZONE,
            "retry_minutes": 30,
        },
    )
    schedule.traffic_sources.add(source)
    _ensure_contact_fields(ScheduleContactField, schedule=schedule)
    return schedule


def _ensure_contact_fields(model, **owner) -> None:
    """The demo's contact fields on an offer or a schedule (``owner``: offer= or schedule=)."""
    for position, (name, label, field_type, required, description) in enumerate(CONTACT_FIELDS):
        model.objects.get_or_create(
            **owner,
            name=name,
            defaults={
                "display_name": label,
                "field_type": field_type,
                "required": required,
                "description": description,
                "position": position,
            },
        )


def _ensure_admin(password: str) -> None:
    User = get_user_model()
    admin, created = User.objects.get_or_create(
        username=ADMIN_USERNAME, defaults={"is_staff": True, "is_superuser": True}
    )
    if created or not admin.check_password(password):
        admin.set_password(password)
        admin.save(update_fields=["password"])


def demo_api_key() -> str:
    """The demo dialer's calls-API key, derived from SECRET_KEY like the admin password:
    keys are stored hashed, and seeding again must print the same key."""
    digest = hmac.new(settings.SECRET_KEY.encode(), b"demo calls api key", hashlib.sha256)
    return digest.hexdigest()[:40]


def _ensure_api_client() -> str:
    User = get_user_model()
    user, _ = User.objects.get_or_create(username=API_USERNAME, defaults={"is_active": True})
    permission = Permission.objects.get(
        content_type__app_label="integrations", codename="use_calls_api"
    )
    user.user_permissions.add(permission)
    key = demo_api_key()
    client = ApiClient.objects.filter(user=user).first() or ApiClient(
        name="Demo dialer",
        description="The demo's telephony side (simulate_call).",
        user=user,
    )
    if client.pk is None or client.key_hash != hash_key(key) or client.revoked_at:
        client.revoked_at = None
        install_key(client, key)
    return key
