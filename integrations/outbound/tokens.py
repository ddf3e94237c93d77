"""Token contexts for calls and TrackDrive-style ``[token]{default}`` URL rendering.

Precedence for a call, highest first (SPEC §6.3): system tokens, the number's
extra tokens, the trigger's custom field mappings for the call's traffic source,
post-call tokens, then the attached lead's tokens.
"""

import re
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import quote

from ..rules.phones import national_digits
from ..rules.ringba import WEBHOOK_TOKEN_NAME

SYSTEM_TOKENS = frozenset(
    {
        "call_uuid",
        "caller_id",
        "caller_id_short",
        "number",
        "offer_id",
        "offer_name",
        "traffic_source_id",
        "traffic_source_name",
        "revenue",
        "payout",
        "duration",
        "started_at",
        "ended_at",
        "buyer_converted",
        "offer_converted",
        # A schedule lead's own events (SPEC §12).
        "schedule_id",
        "schedule_name",
        "schedule_lead_uuid",
        "schedule_lead_state",
        "schedule_lead_attempts",
        "schedule_lead_expires_at",
    }
)
# Names a pixel may not set as tokens: computed by us, or used to route postbacks.
RESERVED_LEAD_TOKENS = SYSTEM_TOKENS | {WEBHOOK_TOKEN_NAME}

TOKEN_PATTERN = re.compile(r"\[([a-z0-9_]+)\](?:\{([^{}]*)\})?")
_URL_SAFE = "-._~"  # RFC 3986 unreserved: everything else is percent-encoded


def format_money(amount) -> str:
    """Return an amount with two decimals (``12.50``), or '' when there is none."""
    if amount is None:
        return ""
    return f"{Decimal(amount).quantize(Decimal('0.01'))}"


def _format_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def system_tokens(call) -> dict[str, str]:
    """Return the tokens we compute for ``call``; callers select_related its relations."""
    return {
        "call_uuid": call.call_uuid,
        "caller_id": call.caller_id,
        "caller_id_short": national_digits(call.caller_id),
        "number": call.number.number if call.number_id else "",
        "offer_id": str(call.offer_id),
        "offer_name": call.offer.name,
        "traffic_source_id": str(call.traffic_source.traffic_source_id),
        "traffic_source_name": call.traffic_source.name,
        "revenue": format_money(call.revenue),
        "payout": format_money(call.payout),
        "duration": _format_value(call.duration),
        "started_at": _format_value(call.started_at),
        "ended_at": _format_value(call.ended_at),
        "buyer_converted": _format_value(call.buyer_converted),
        "offer_converted": _format_value(call.offer_converted),
    }


# Where a token's value came from, as the admin's "why" panel names the layers.
PIXEL = "pixel"
POST_CALL = "post-call tokens"
FIELD_MAPPING = "field mapping"
NUMBER_TOKEN = "number extra token"
SYSTEM = "system"
TEST_FIRE = "test fire"  # the fake call id a test fire puts over the real one

Layers = list[tuple[str, dict]]


def call_layers(call, *, mapping_tokens: dict[str, str] | None = None) -> Layers:
    """The token layers of ``call``, lowest precedence first, each with its name."""
    return [
        (PIXEL, _pixel_tokens(call)),
        (POST_CALL, call.post_call_tokens or {}),
        (FIELD_MAPPING, mapping_tokens or {}),
        (NUMBER_TOKEN, _number_tokens(call)),
        (SYSTEM, system_tokens(call)),
    ]


def _pixel_tokens(call) -> dict:
    """The pixel's fields: the attached lead's, or for a schedule's callback the schedule
    lead's (so its original ringba_call_uuid credits the partner's Ringba call)."""
    if call.lead_id:
        return call.lead.tokens
    if call.schedule_lead_id:
        return call.schedule_lead.tokens
    return {}


def _number_tokens(call) -> dict:
    if not call.number_id:
        return {}  # a schedule's callback is placed on no tracking number
    return {token.key: token.value for token in call.number.extra_tokens.all()}


def lead_layers(lead, *, mapping_tokens: dict[str, str] | None = None) -> Layers:
    """The token layers of a lead that has no call yet, lowest precedence first."""
    computed = {
        "caller_id": lead.caller_id,
        "caller_id_short": national_digits(lead.caller_id),
        "offer_id": str(lead.offer_id),
        "offer_name": lead.offer.name,
        **_source_tokens(lead.traffic_source),
    }
    return [(PIXEL, lead.tokens or {}), (FIELD_MAPPING, mapping_tokens or {}), (SYSTEM, computed)]


def _source_tokens(source) -> dict[str, str]:
    """A partner's system tokens; none yet for a lead sent without traffic_source_id."""
    if source is None:
        return {}
    return {
        "traffic_source_id": str(source.traffic_source_id),
        "traffic_source_name": source.name,
    }


def schedule_lead_layers(lead, *, mapping_tokens: dict[str, str] | None = None) -> Layers:
    """The token layers of a schedule lead's own events, lowest precedence first."""
    schedule = lead.schedule
    computed = {
        "caller_id": lead.caller_id,
        "caller_id_short": national_digits(lead.caller_id),
        "offer_id": str(schedule.offer_id),
        "offer_name": schedule.offer.name,
        "traffic_source_id": str(lead.traffic_source.traffic_source_id),
        "traffic_source_name": lead.traffic_source.name,
        "schedule_id": str(schedule.pk),
        "schedule_name": schedule.name,
        "schedule_lead_uuid": str(lead.uuid),
        "schedule_lead_state": lead.state,
        "schedule_lead_attempts": str(lead.attempts),
        "schedule_lead_expires_at": _format_value(lead.expires_at),
    }
    return [(PIXEL, lead.tokens or {}), (FIELD_MAPPING, mapping_tokens or {}), (SYSTEM, computed)]


def call_context(call, *, mapping_tokens: dict[str, str] | None = None) -> dict[str, str]:
    """Return every token of ``call`` as strings, layered by precedence.

    ``mapping_tokens`` are the trigger's custom field mappings already filtered to
    the call's traffic source. Empty values never hide a lower layer's value.
    """
    return layered(call_layers(call, mapping_tokens=mapping_tokens))


def lead_context(lead, *, mapping_tokens: dict[str, str] | None = None) -> dict[str, str]:
    """Return the tokens of a lead that has no call yet (for lead_captured triggers).

    The same precedence as a call's, highest first: what we compute from the lead,
    the trigger's field mappings for its traffic source, then the pixel's fields.
    """
    return layered(lead_layers(lead, mapping_tokens=mapping_tokens))


def layered(layers: Layers) -> dict[str, str]:
    """Merge token layers, lowest first; an empty value never hides a lower one."""
    context: dict[str, str] = {}
    for _name, layer in layers:
        for key, value in layer.items():
            text = _format_value(value)
            if text != "" or key not in context:
                context[key] = text
    return context


def sources_of(name: str, layers: Layers) -> list[tuple[str, str]]:
    """Every layer that gives ``name`` a non-empty value, as (layer, value), winner first."""
    found = []
    for layer_name, layer in reversed(layers):
        text = _format_value(layer.get(name))
        if text != "":
            found.append((layer_name, text))
    return found


def names_in(template: str) -> list[str]:
    """The token names a URL template uses, in order, once each."""
    return list(dict.fromkeys(match.group(1) for match in TOKEN_PATTERN.finditer(template)))


@dataclass(frozen=True)
class RenderedUrl:
    url: str
    missing: tuple[str, ...]  # tokens without a default that resolved to nothing


def render_tokens(template: str, context: dict[str, str], encode) -> tuple[str, list[str]]:
    """Replace ``[token]{default}`` placeholders with ``encode(value)``.

    Returns the text and the tokens without a default that resolved to nothing
    (rendered empty), so a caller can refuse to send a half-built request.
    """
    missing: list[str] = []

    def substitute(match: re.Match) -> str:
        name, default = match.group(1), match.group(2)
        value = context.get(name, "")
        if value == "":
            if default is None:
                missing.append(name)
            value = default or ""
        return encode(value)

    return TOKEN_PATTERN.sub(substitute, template), missing


def render_url(template: str, context: dict[str, str]) -> RenderedUrl:
    """Render ``[token]{default}`` placeholders into a URL, percent-encoding each value.

    Every substituted value is encoded as a single path segment or query value, so
    ``abc&call_revenue=999`` can never add or change a parameter. Unknown tokens
    render as their default or empty and, when they have no default, are reported
    in ``missing`` so the caller can refuse to send a half-built URL.
    """

    def encode(value: str) -> str:
        encoded = quote(value, safe=_URL_SAFE)
        # "." and ".." are unreserved, but as a path segment a client resolves them
        # (…/leads/../confirm is sent as …/confirm): encode them so they stay data.
        return encoded.replace(".", "%2E") if encoded in (".", "..") else encoded

    url, missing = render_tokens(template, context, encode)
    return RenderedUrl(url=url, missing=tuple(missing))
