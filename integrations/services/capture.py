"""Capture a Ringba pixel as a lead (SPEC §4): validate, dedupe, store, match, fire.

The hot path of the product. With the offer configuration cached, an accepted
new pixel on PostgreSQL costs one statement that inserts the lead and matches it
under the (offer, caller) lock (``lead_store``); when it attaches, one more SELECT
loads the call for the answer. Repeats, duplicate policies, lead triggers and
SQLite take slower paths inside one transaction.
"""

import json
import logging
import math
import re
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from .. import events
from ..errors import Rejected, RejectionKind
from ..field_rules import check_contact_fields
from ..models import Call, DuplicatePolicy, Event, Lead, Offer
from ..offer_cache import OfferConfig, active_trigger_events, forget_offer, get_offer_config
from ..phones import InvalidPhoneNumber, normalize_phone
from ..ringba import CALL_UUID_TOKEN_NAME, is_unreplaced_tag
from ..tokens import RESERVED_LEAD_TOKENS
from ..validators import TOKEN_NAME_PATTERN
from .lead_store import insert_lead
from .matching import match_lead

logger = logging.getLogger(__name__)

CONSUMED_FIELDS = {
    "lead_token",
    "offer_lead_token",
    "traffic_source_id",
    "caller_id",
    CALL_UUID_TOKEN_NAME,
}
MAX_FIELDS = 200
MAX_VALUE_LENGTH = 4000
MAX_UUID_LENGTH = 200
MAX_LEAD_TOKEN_LENGTH = 64
# Warnings kept on a lead and sent back; a pixel with thousands of bad keys must not
# make a huge row or answer.
MAX_WARNINGS = 50
_TOKEN_NAME = re.compile(TOKEN_NAME_PATTERN)


@dataclass
class RawRequest:
    """What Ringba sent, kept on the lead so an account manager can see it."""

    body: str = ""
    query: str = ""
    content_type: str = ""
    source_ip: str | None = None
    user_agent: str = ""


@dataclass
class CaptureResult:
    lead: Lead
    created: bool
    call: Call | None
    traffic_source_id: int  # the partner's public id
    warnings: list[str] = field(default_factory=list)


@dataclass
class _CleanPixel:
    config: OfferConfig
    traffic_source_pk: int
    traffic_source_public_id: int
    caller_id: str
    ringba_call_uuid: str | None
    tokens: dict
    warnings: list[str]


def capture_lead(*, params: dict, raw: RawRequest) -> CaptureResult:
    """Validate and store one pixel; return the lead and whether it is new.

    Raises Rejected (unauthorized, conflict or invalid) with messages naming the field.
    A repeat with the same ``ringba_call_uuid`` on the same offer merges into the
    existing lead — decided by a unique constraint, so concurrent repeats are safe.
    """
    pixel = _clean(params)
    config = pixel.config
    if pixel.ringba_call_uuid is None and config.duplicate_policy != DuplicatePolicy.ALLOW:
        return _capture_with_policy(pixel, raw)
    try:
        return _store_new(pixel, raw)
    except IntegrityError:
        existing = (
            Lead.objects.filter(offer_id=config.offer_id, ringba_call_uuid=pixel.ringba_call_uuid)
            .values_list("pk", flat=True)
            .first()
            if pixel.ringba_call_uuid
            else None
        )
        if existing is None:
            # Not a repeat: the cached configuration named a source or offer that has
            # just been deleted. Forget it; the sender is told what the database says.
            forget_offer(lead_token_of(params))
            raise Rejected(
                RejectionKind.INVALID,
                ["traffic_source_id: is no longer enabled on this offer; check its id"],
            ) from None
        return _merge(existing, pixel)


def _store_new(pixel: "_CleanPixel", raw: RawRequest) -> CaptureResult:
    """Insert the lead, match it to its call and fire ``lead_captured``.

    The common case on PostgreSQL is one autocommitted statement (``lead_store``).
    Anything more — firing lead triggers, matching on SQLite — happens in the
    lead's own transaction, so it commits with the lead or not at all.
    """
    lead = _new_lead(pixel, raw)
    window = pixel.config.match_window_seconds
    fires = Event.LEAD_CAPTURED in active_trigger_events()
    # Inside a caller's transaction (the duplicate policy's) everything joins it.
    one_statement = (
        connection.vendor == "postgresql" and not fires and not connection.in_atomic_block
    )
    with nullcontext() if one_statement else transaction.atomic():
        stored = insert_lead(lead, window_seconds=window)
        call = _attached_call(stored.call_id) if stored.call_id else None
        if not stored.matched and not one_statement:
            call = match_lead(lead, window_seconds=window)
        if fires:
            events.lead_captured.send(sender=Lead, lead=_reload(lead.pk))
    if not stored.matched and one_statement:
        call = _match_after_commit(lead, window_seconds=window)
    return CaptureResult(
        lead=lead,
        created=True,
        call=call,
        warnings=pixel.warnings,
        traffic_source_id=pixel.traffic_source_public_id,
    )


def _match_after_commit(lead: Lead, *, window_seconds: int) -> Call | None:
    """Attach a stored lead to an already-converted call; never undo the stored lead.

    The lead is committed, so a failure here must not answer "nothing was stored":
    it is logged, and the worker's reconciler attaches the pair within seconds.
    """
    try:
        return match_lead(lead, window_seconds=window_seconds)
    except DatabaseError:
        logger.exception("lead %s stored; matching deferred to the reconciler", lead.pk)
        return None


def _fold_consumed_names(params: dict) -> dict:
    """Return ``params`` with the consumed field names in lower case.

    Ringba's pixel body is typed by hand, so ``Ringba_Call_UUID`` must still be the
    idempotency key and ``LEAD_TOKEN`` must never be stored as a token. Where both
    spellings are sent, the exact lower-case one wins.
    """
    folded, consumed = {}, {}
    for key, value in params.items():
        name = str(key).strip().lower()
        if name not in CONSUMED_FIELDS:
            folded[key] = value
        elif key == name or name not in consumed:
            consumed[name] = value
    return {**folded, **consumed}


def lead_token_of(params: dict) -> str | None:
    """Return the pixel's lead token (either spelling, any case), stripped, or None."""
    folded = _fold_consumed_names(params)
    token = folded.get("lead_token") or folded.get("offer_lead_token")
    if not isinstance(token, str):
        return None
    return token.strip() or None


def _clean(params: dict) -> _CleanPixel:
    params = _fold_consumed_names(params)
    lead_token = lead_token_of(params)
    if lead_token is None:
        raise Rejected(
            RejectionKind.UNAUTHORIZED,
            ["lead_token: is required; copy it from the offer's Posting Instructions page"],
        )
    config = get_offer_config(lead_token) if len(lead_token) <= MAX_LEAD_TOKEN_LENGTH else None
    if config is None or not config.active:
        raise Rejected(RejectionKind.UNAUTHORIZED, ["lead_token: lead_token is invalid"])

    errors: list[str] = []
    warnings: list[str] = []
    traffic_source_public_id, traffic_source_pk = _clean_traffic_source(
        params.get("traffic_source_id"), config, errors
    )
    caller_id = _clean_caller_id(params.get("caller_id"), errors)
    ringba_call_uuid = _clean_ringba_call_uuid(params.get(CALL_UUID_TOKEN_NAME), errors, warnings)
    tokens = _clean_tokens(params, warnings)
    if ringba_call_uuid:
        tokens[CALL_UUID_TOKEN_NAME] = ringba_call_uuid

    problems = check_contact_fields(config.contact_fields, tokens)
    if config.enforce_validations:
        errors.extend(problems)
    else:
        warnings.extend(problems)
    if errors:
        raise Rejected(RejectionKind.INVALID, _capped(errors))
    warnings = _capped(warnings)
    return _CleanPixel(
        config,
        traffic_source_pk,
        traffic_source_public_id,
        caller_id,
        ringba_call_uuid,
        tokens,
        warnings,
    )


def _clean_traffic_source(value, config: OfferConfig, errors: list[str]):
    """Return (public id, primary key) of an enabled active source, or (None, None)."""
    if _missing(value):
        errors.append(
            _missing_message(
                "traffic_source_id", value, "the id from the Posting Instructions page"
            )
        )
        return None, None
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        errors.append(f"traffic_source_id: must be a number, got {text[:40]!r}")
        return None, None
    source = config.sources.get(int(text))
    if source is None:
        errors.append(f"traffic_source_id: {text} is not enabled on this offer")
        return None, None
    pk, active = source
    if not active:
        errors.append(f"traffic_source_id: {text} is not active")
        return None, None
    return int(text), pk


def _clean_caller_id(value, errors: list[str]) -> str | None:
    if _missing(value):
        errors.append(
            _missing_message(
                "caller_id", value, "the caller's number, e.g. [tag:InboundNumber:Number]"
            )
        )
        return None
    try:
        return normalize_phone(str(value))
    except InvalidPhoneNumber as exc:
        errors.append(f"caller_id: {exc}")
        return None


def _clean_ringba_call_uuid(value, errors: list[str], warnings: list[str]) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if is_unreplaced_tag(value):
        warnings.append(
            f"ringba_call_uuid: Ringba sent the unreplaced tag {value.strip()}; "
            "ignored (use [Call:InboundCallID])"
        )
        return None
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        errors.append("ringba_call_uuid: must be a string")
        return None
    text = str(value).strip()
    if len(text) > MAX_UUID_LENGTH:
        errors.append(f"ringba_call_uuid: is longer than {MAX_UUID_LENGTH} characters")
        return None
    return text


def _clean_tokens(params: dict, warnings: list[str]) -> dict:
    tokens = {}
    for key, value in params.items():
        if key in CONSUMED_FIELDS:
            continue
        name = key.strip().lower()
        if not _TOKEN_NAME.match(name) or len(name) > 64:
            warnings.append(f"{key[:64]}: ignored; field names use only a-z, 0-9 and _")
            continue
        if name in RESERVED_LEAD_TOKENS:
            warnings.append(f"{name}: ignored; this token is set by the system, not by pixels")
            continue
        if is_unreplaced_tag(value):
            warnings.append(f"{name}: Ringba sent the unreplaced tag {value.strip()}; dropped")
            continue
        if value is None:
            continue
        if isinstance(value, str):
            value = value.strip()
        elif isinstance(value, (dict, list)):
            value = json.dumps(value, separators=(",", ":"))
        elif not isinstance(value, (bool, int, float)):
            value = str(value)
        if isinstance(value, str) and len(value) > MAX_VALUE_LENGTH:
            warnings.append(f"{name}: longer than {MAX_VALUE_LENGTH} characters; truncated")
            value = value[:MAX_VALUE_LENGTH]
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**53:
            value = str(value)  # keep huge numbers exact; JSON columns lose precision
        if isinstance(value, float) and not math.isfinite(value):
            value = str(value)  # NaN and infinities are not valid JSON
        tokens[name] = value
        if len(tokens) > MAX_FIELDS:
            raise Rejected(
                RejectionKind.INVALID, [f"body: more than {MAX_FIELDS} fields; send fewer"]
            )
    return tokens


def _capped(messages: list[str]) -> list[str]:
    if len(messages) <= MAX_WARNINGS:
        return messages
    return [*messages[:MAX_WARNINGS], f"… and {len(messages) - MAX_WARNINGS} more"]


def _missing(value) -> bool:
    return (
        value is None or (isinstance(value, str) and not value.strip()) or is_unreplaced_tag(value)
    )


def _missing_message(name: str, value, hint: str) -> str:
    if is_unreplaced_tag(value):
        return (
            f"{name}: Ringba sent the unreplaced tag {value.strip()}, so the call had no "
            f"value for it; check the tag in the pixel body"
        )
    return f"{name}: is required; send {hint}"


def _new_lead(pixel: _CleanPixel, raw: RawRequest) -> Lead:
    now = timezone.now()
    return Lead(
        offer_id=pixel.config.offer_id,
        traffic_source_id=pixel.traffic_source_pk,
        caller_id=pixel.caller_id,
        ringba_call_uuid=pixel.ringba_call_uuid,
        tokens=pixel.tokens,
        warnings=pixel.warnings,
        raw_body=raw.body,
        raw_query=raw.query,
        content_type=raw.content_type[:200],
        source_ip=raw.source_ip,
        user_agent=raw.user_agent[:500],
        received_at=now,
        updated_at=now,
    )


def _attached_call(call_id: int) -> Call:
    return Call.objects.select_related("number", "offer", "traffic_source", "lead").get(pk=call_id)


def _merge(lead_pk: int, pixel: _CleanPixel) -> CaptureResult:
    """Merge a repeat pixel's fields into an existing lead, under a row lock."""
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead_pk)
        lead.tokens = {**lead.tokens, **pixel.tokens}
        lead.warnings = list(dict.fromkeys([*lead.warnings, *pixel.warnings]))[-MAX_WARNINGS:]
        lead.updated_at = timezone.now()
        lead.save(update_fields=["tokens", "warnings", "updated_at"])
    call = Call.objects.filter(lead_id=lead.pk).first()
    if call is None:
        call = match_lead(lead, window_seconds=pixel.config.match_window_seconds)
    source_id = (
        lead.traffic_source.traffic_source_id
        if lead.traffic_source_id != pixel.traffic_source_pk
        else pixel.traffic_source_public_id
    )
    return CaptureResult(
        lead=lead, created=False, call=call, warnings=pixel.warnings, traffic_source_id=source_id
    )


def _capture_with_policy(pixel: _CleanPixel, raw: RawRequest) -> CaptureResult:
    """Apply the offer's update/reject policy to a pixel without ringba_call_uuid.

    The offer row is locked so two pixels from one caller cannot both decide
    "no previous lead" at once.
    """
    config = pixel.config
    with transaction.atomic():
        Offer.objects.select_for_update().filter(pk=config.offer_id).values_list("pk").first()
        since = timezone.now() - timedelta(seconds=config.match_window_seconds)
        previous = (
            Lead.objects.filter(
                offer_id=config.offer_id, caller_id=pixel.caller_id, received_at__gte=since
            )
            .order_by("-received_at", "-pk")
            .values_list("pk", flat=True)
            .first()
        )
        if previous is not None and config.duplicate_policy == DuplicatePolicy.REJECT:
            raise Rejected(
                RejectionKind.CONFLICT,
                [
                    f"caller_id: {pixel.caller_id} already sent a lead to this offer within the "
                    f"last {config.match_window_seconds // 3600 or 1} h; this offer rejects "
                    "duplicates (send ringba_call_uuid to update the same call instead)"
                ],
            )
        if previous is None:
            return _store_new(pixel, raw)
    return _merge(previous, pixel)


def _reload(lead_pk: int) -> Lead:
    return Lead.objects.select_related("offer", "traffic_source").get(pk=lead_pk)
