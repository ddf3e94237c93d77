"""What a partner types into Ringba, field by field (SPEC §8).

Builds the content of the posting-instructions page for one offer and traffic
source; the staff page and the partner's share link render the same content.
"""

import json
from dataclasses import dataclass
from urllib.parse import quote

from django.conf import settings
from django.urls import reverse

from . import ringba
from .models import Offer, TrafficSource


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


def curl_example(offer: Offer, source: TrafficSource) -> str:
    """Return a curl command that posts a test pixel to this server."""
    sample = {
        "lead_token": offer.lead_token,
        "traffic_source_id": str(source.traffic_source_id),
        "caller_id": "+18005551234",
        ringba.CALL_UUID_TOKEN_NAME: "TEST-CURL-0001",
    }
    return (
        f"curl -X POST '{capture_url()}' \\\n  -H 'Content-Type: application/json' \\\n"
        f"  -d '{json.dumps(sample)}'"
    )


def build(offer: Offer, source: TrafficSource) -> dict:
    """Return the template context of the instructions page for ``offer`` and ``source``."""
    body = pixel_fields(offer, source)
    body_json = json.dumps(body, indent=2)
    return {
        "offer": offer,
        "source": source,
        "capture_url": capture_url(),
        "lead_token": offer.lead_token,
        "traffic_source_id": source.traffic_source_id,
        "pixel_settings": [
            PixelSetting("Name", f"TrackDrive: {offer.name}", "Any descriptive label."),
            PixelSetting(
                "Fire Pixel On",
                "Connected (Answered)",
                "Alternative: Finalized, with a tag filter on call length, for "
                "unrouted calls monetised through a Lead-to-Call schedule.",
                copy=False,
            ),
            PixelSetting("URL", capture_url()),
            PixelSetting(
                "Advanced Instructions", "On", "Switches the pixel to a JSON POST.", copy=False
            ),
            PixelSetting("HTTP Method", "POST", copy=False),
            PixelSetting("Content Type", "application/json"),
            PixelSetting("Body", body_json, "Paste as is; Ringba fills in the tags."),
            PixelSetting("Headers", "(leave empty)", copy=False),
            PixelSetting("Authentication", "(leave empty)", copy=False),
            PixelSetting(
                "Tag Filters",
                "Connection - Target - Id",
                "Set to the TrackDrive target(s) that should fire the pixel.",
                copy=False,
            ),
        ],
        "pixel_body": body_json,
        "get_pixel_url": get_pixel_url(body),
        "contact_fields": [
            field for field in offer.contact_fields.all() if field.show_in_instructions
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
        },
        "curl": curl_example(offer, source),
    }
