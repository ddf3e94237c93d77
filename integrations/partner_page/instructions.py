"""What a partner types into Ringba, field by field (SPEC §8).

Builds the content of the posting-instructions page for one offer and traffic
source; the staff page and the partner's share link render the same content.
For a Lead-to-Call schedule (SPEC §12) the page is the Finalized variant: the
pixel fires when the call ends, only for calls no target answered, with the
schedule's lead token; everything else (body, webhook) is the same.
"""

import json
import shlex
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlsplit

from django.conf import settings
from django.db.models import Q
from django.urls import reverse

from ..models import (
    ContactField,
    CustomFieldMapping,
    Event,
    EventTrigger,
    Number,
    NumberToken,
    Offer,
    Schedule,
    TrafficSource,
)
from ..pixel.field_rules import check_contact_fields
from ..rules import ringba
from ..services.offer_cache import ContactFieldRule
from .field_samples import sample_value


@dataclass(frozen=True)
class PixelSetting:
    """One field of Ringba's Tracking Pixel form, in the order the form asks for it."""

    label: str
    value: str
    note: str = ""
    copy: bool = True


def capture_url() -> str:
    return f"{settings.PUBLIC_BASE_URL}{reverse('leads-capture')}"


def pixel_fields(offer: Offer, source: TrafficSource) -> dict[str, str]:
    """Return the pixel body: credentials, Ringba's call tags, then the contact fields."""
    body = {
        "lead_token": offer.lead_token,
        "traffic_source_id": str(source.traffic_source_id),
        "caller_id": ringba.CALLER_ID_TAG,
        ringba.CALL_UUID_TOKEN_NAME: ringba.CALL_UUID_TAG,
    }
    for field in offer.contact_fields.all():
        if field.show_in_instructions and field.name not in body:
            body[field.name] = ringba.pixel_tag_for(field.name)
    return body


def get_pixel_url(body: dict[str, str]) -> str:
    """Return the GET variant: the same fields in the query string.

    Tags are left readable (Ringba replaces them before sending); other values are
    percent-encoded.
    """

    def encode(value: str) -> str:
        return value if ringba.is_unreplaced_tag(value) else quote(value, safe="")

    query = "&".join(f"{key}={encode(value)}" for key, value in body.items())
    return f"{capture_url()}?{query}"


def _rule(field: ContactField) -> ContactFieldRule:
    return ContactFieldRule(
        name=field.name,
        field_type=field.field_type,
        required=field.required,
        pattern=field.pattern,
        acceptable_values=tuple(field.acceptable_values_list),
    )


def _with_example(field: ContactField) -> ContactField:
    """The field, with ``example``: a value passing its rules (None if none was found)."""
    field.example = _passing_sample(_rule(field))
    return field


def _passing_sample(rule: ContactFieldRule) -> str | None:
    """A sample value for ``rule`` that the capture API's own check accepts, or None."""
    value = sample_value(rule.field_type, rule.pattern, rule.acceptable_values)
    if value is None or check_contact_fields([rule], {rule.name: value}):
        return None
    return value


@dataclass(frozen=True)
class CurlExample:
    command: str
    # "<field>: <problem>" for each rule the sample could not satisfy (the page says
    # which value the partner must fill in by hand); empty when it answers 201.
    problems: list[str]


def curl_example(offer: Offer, source: TrafficSource) -> CurlExample:
    """A curl command that posts a test pixel passing every rule of the offer's fields."""
    sample = {
        "lead_token": offer.lead_token,
        "traffic_source_id": str(source.traffic_source_id),
        "caller_id": "+18005551234",
        ringba.CALL_UUID_TOKEN_NAME: "TEST-CURL-0001",
    }
    rules = []
    for field in offer.contact_fields.all():
        if not (field.required or field.show_in_instructions) or field.name in sample:
            continue
        rule = _rule(field)
        rules.append(rule)
        value = _passing_sample(rule)
        if value is not None:
            sample[rule.name] = value
        elif rule.required:
            sample[rule.name] = f"<{rule.name}>"  # named in CurlExample.problems
    problems = check_contact_fields(rules, sample)
    # shlex.quote: a value such as "Men's health" (or a crafted one) stays one argument.
    command = (
        f"curl -X POST {shlex.quote(capture_url())} \\\n"
        "  -H 'Content-Type: application/json' \\\n"
        f"  -d {shlex.quote(json.dumps(sample))}"
    )
    return CurlExample(command=command, problems=problems)


# Where Ringba's Finalized pixel is narrowed to unrouted calls (SPEC §12).
FINALIZED_TAG_FILTER = "Call Length From Connect = 0"
FINALIZED_TAG_FILTER_NOTE = (
    "Tag Filters > Add Filter: pick the tag Call > Call Length From Connect, the operator "
    "Equals and the value 0. Only calls no target answered fire this pixel; answered "
    "calls go through your Connected pixel as usual."
)


def _when_to_fire(owner: Offer | Schedule) -> list[PixelSetting]:
    """The pixel's name and Fire Pixel On: Connected for an offer, Finalized for a schedule."""
    if isinstance(owner, Schedule):
        return [
            PixelSetting(
                "Name",
                f"TrackDrive callback: {owner.name}",
                "A second pixel, beside the Connected one.",
            ),
            PixelSetting(
                "Fire Pixel On",
                "Finalized",
                "Fires when the call ends, so calls nobody answered are sent too; the tag "
                "filter below keeps only those.",
                copy=False,
            ),
        ]
    return [
        PixelSetting("Name", f"TrackDrive: {owner.name}", "Any descriptive label."),
        PixelSetting(
            "Fire Pixel On",
            "Connected (Answered)",
            "Alternative: Finalized, with a tag filter on call length, for "
            "unrouted calls monetised through a Lead-to-Call schedule.",
            copy=False,
        ),
    ]


def _tag_filter(owner: Offer | Schedule) -> PixelSetting:
    if isinstance(owner, Schedule):
        return PixelSetting(
            "Tag Filters", FINALIZED_TAG_FILTER, FINALIZED_TAG_FILTER_NOTE, copy=False
        )
    return PixelSetting(
        "Tag Filters",
        "Connection - Target - Id",
        "Set to the TrackDrive target(s) that should fire the pixel.",
        copy=False,
    )


def build(offer: Offer | Schedule, source: TrafficSource) -> dict:
    """Return the template context of the instructions page for ``offer`` (or a
    Lead-to-Call schedule) and ``source``."""
    body = pixel_fields(offer, source)
    body_json = json.dumps(body, indent=2)
    return {
        "offer": offer,
        "schedule": offer if isinstance(offer, Schedule) else None,
        "source": source,
        "capture_url": capture_url(),
        "lead_token": offer.lead_token,
        "traffic_source_id": source.traffic_source_id,
        "pixel_settings": [
            *_when_to_fire(offer),
            PixelSetting("URL", capture_url()),
            PixelSetting(
                "Advanced Instructions", "On", "Switches the pixel to a JSON POST.", copy=False
            ),
            PixelSetting("HTTP Method", "POST", copy=False),
            PixelSetting("Content Type", "application/json"),
            PixelSetting("Body", body_json, "Paste as is; Ringba fills in the tags."),
            PixelSetting("Headers", "(leave empty)", copy=False),
            PixelSetting("Authentication", "(leave empty)", copy=False),
            _tag_filter(offer),
        ],
        "pixel_body": body_json,
        "get_pixel_url": get_pixel_url(body),
        "contact_fields": [
            _with_example(field)
            for field in offer.contact_fields.all()
            if field.show_in_instructions
        ],
        "webhook": {
            "menu": "Integrations > Webhooks > Create Webhook",
            "name": "Global Buyer Revenue Postback",
            "call_token": ringba.WEBHOOK_CALL_PARAM,
            "revenue_token": ringba.WEBHOOK_REVENUE_PARAM,
            "fire_conversion": ringba.WEBHOOK_CONVERSION_PARAM,
            "example": f"{ringba.CANONICAL_WEBHOOK_BASE_URL}/hook/<token>?"
            f"{ringba.WEBHOOK_CALL_PARAM}=[callUUID]&"
            f"{ringba.WEBHOOK_REVENUE_PARAM}=[conversionAmount]&"
            f"{ringba.WEBHOOK_CONVERSION_PARAM}",
            "on_file": "" if isinstance(offer, Schedule) else webhook_token_on_file(offer, source),
        },
        "curl": curl_example(offer, source),
        "enrichment": None if isinstance(offer, Schedule) else enrichment(offer, source),
    }


def webhook_token_on_file(offer: Offer, source: TrafficSource) -> str:
    """The last four characters of the partner's Ringba webhook token we hold, or ''.

    On file: the source's mapping on an active conversion trigger covering the offer,
    or an extra token on every one of the offer's active numbers for the source.
    """
    mapping = (
        CustomFieldMapping.objects.filter(
            token_name=ringba.WEBHOOK_TOKEN_NAME,
            traffic_source=source,
            trigger__active=True,
            trigger__event=Event.CALL_OFFER_CONVERTED,
        )
        .filter(Q(trigger__offer__isnull=True) | Q(trigger__offer=offer))
        .exclude(value="")
        .values_list("value", flat=True)
        .first()
    )
    if mapping:
        return mapping[-4:]
    numbers = Number.objects.filter(offer=offer, traffic_source=source, active=True)
    tokens = NumberToken.objects.filter(number__in=numbers, key=ringba.WEBHOOK_TOKEN_NAME).exclude(
        value=""
    )
    count = numbers.count()
    if count and tokens.values("number").distinct().count() == count:
        return tokens.values_list("value", flat=True).first()[-4:]
    return ""


def enrichment(offer: Offer, source: TrafficSource) -> dict | None:
    """What the partner sets up in Ringba to receive the IDE trigger's call data, or None.

    Ringba stores an Enrich Call Data parameter only under a URL parameter whose
    name matches exactly, so the page lists the names the trigger sends — apart from
    Ringba's own system fields (``callerid``), which exist already.
    """
    trigger = (
        EventTrigger.objects.filter(
            template__slug=ringba.ENRICH_TEMPLATE_SLUG, active=True, paused_at__isnull=True
        )
        .filter(Q(offer__isnull=True) | Q(offer=offer))
        .order_by("-offer_id", "pk")  # the offer's own first
        .first()
    )
    if trigger is None:
        return None
    mapping = trigger.mappings.filter(
        token_name=ringba.ENRICH_ID_TOKEN_NAME, traffic_source=source
    ).first()
    names = [name for name, _ in parse_qsl(urlsplit(trigger.url_template).query)]
    return {
        # Ringba fills its system fields itself: the partner creates only the others.
        "parameters": [name for name in names if name not in ringba.ENRICH_SYSTEM_FIELDS],
        "system_fields": [name for name in names if name in ringba.ENRICH_SYSTEM_FIELDS],
        "number_id": mapping.value if mapping else "",
    }
