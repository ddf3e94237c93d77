"""A Ringba pixel's parameters, cleaned and checked: pure rules, no database.

``clean_pixel`` turns the merged parameters of one pixel and its offer's cached
configuration into a ``CleanPixel`` (or raises ``Rejected`` naming each field),
following SPEC §4.2: consumed fields are read case-insensitively, caller ids become
E.164, unreplaced Ringba tags count as missing, reserved token names are ignored
with a warning, contact-field rules are enforced or turned into warnings.
Only the capture API calls it (``api.pixel_intake``); storing, matching and firing
the clean pixel are ``services.capture``'s job.
"""

import json
import math
import re
from typing import TYPE_CHECKING

from ..outbound.tokens import RESERVED_LEAD_TOKENS
from ..rules.credentials import is_credential_name
from ..rules.errors import Rejected, RejectionKind
from ..rules.phones import InvalidPhoneNumber, normalize_phone
from ..rules.ringba import CALL_UUID_TOKEN_NAME, is_test_call_id, is_unreplaced_tag
from ..rules.validators import TOKEN_NAME_PATTERN
from .clean import MAX_WARNINGS, CleanPixel
from .field_rules import check_contact_fields

if TYPE_CHECKING:  # a type only; the configuration is read from the cache by the caller
    from ..services.offer_cache import OfferConfig

CONSUMED_FIELDS = {
    "lead_token",
    "offer_lead_token",
    "schedule_lead_token",
    "traffic_source_id",
    "caller_id",
    CALL_UUID_TOKEN_NAME,
}
MAX_FIELDS = 200
MAX_VALUE_LENGTH = 4000
MAX_UUID_LENGTH = 200
MAX_LEAD_TOKEN_LENGTH = 64
_TOKEN_NAME = re.compile(TOKEN_NAME_PATTERN)


TEST_LEAD_WARNING = (
    "ringba_call_uuid: starts with TEST-, so this is a test lead: stored and shown, never "
    "attached to a call or called back, and it fires no postback"
)


class FoldedParams(dict):
    """A pixel's parameters whose consumed names are already folded (read once)."""


def fold_consumed_names(params: dict) -> FoldedParams:
    """Return ``params`` with the consumed field names in lower case.

    Ringba's pixel body is typed by hand, so ``Ringba_Call_UUID`` must still be the
    idempotency key and ``LEAD_TOKEN`` must never be stored as a token. Where both
    spellings are sent, the exact lower-case one wins. Parameters folded already are
    returned as they are: the API folds once, and each reader after it asks again.
    """
    if isinstance(params, FoldedParams):
        return params
    folded, consumed = {}, {}
    for key, value in params.items():
        name = str(key).strip().lower()
        if name not in CONSUMED_FIELDS:
            folded[key] = value
        elif key == name or name not in consumed:
            consumed[name] = value
    return FoldedParams({**folded, **consumed})


def lead_token_of(params: dict) -> str | None:
    """Return the pixel's lead token (any of TrackDrive's names, any case), stripped, or None."""
    return _token_in(fold_consumed_names(params))


def _token_in(folded: dict) -> str | None:
    token = (
        folded.get("lead_token")
        or folded.get("offer_lead_token")
        or folded.get("schedule_lead_token")
    )
    if not isinstance(token, str):
        return None
    return token.strip() or None


def require_lead_token(params: dict) -> str:
    """Return the pixel's lead token; raise Rejected (unauthorized) when it is missing."""
    lead_token = lead_token_of(params)
    if lead_token is None or len(lead_token) > MAX_LEAD_TOKEN_LENGTH:
        message = (
            "lead_token: is required; copy it from the offer's Posting Instructions page"
            if lead_token is None
            else "lead_token: lead_token is invalid"
        )
        raise Rejected(RejectionKind.UNAUTHORIZED, [message])
    return lead_token


def clean_pixel(params: dict, config: "OfferConfig", *, source_required: bool = True) -> CleanPixel:
    """Return the pixel as a CleanPixel for ``config``'s offer; raise Rejected (invalid).

    ``source_required``: Ringba's pixel must name its partner (``traffic_source_id``);
    TrackDrive's ``POST /api/v1/leads`` may leave it out, and the lead then takes
    its partner from the call it attaches to.
    """
    params = fold_consumed_names(params)

    errors: list[str] = []
    warnings: list[str] = []
    sent_source = params.get("traffic_source_id")
    if not source_required and _missing(sent_source) and not is_unreplaced_tag(sent_source):
        traffic_source_public_id, traffic_source_pk = None, None
    else:
        traffic_source_public_id, traffic_source_pk = _clean_traffic_source(
            sent_source, config, errors
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
        raise Rejected(RejectionKind.INVALID, capped(errors))
    if is_test_call_id(ringba_call_uuid):
        warnings.insert(0, TEST_LEAD_WARNING)
    warnings = capped(warnings)
    return CleanPixel(
        _token_in(params) or "",
        config,
        traffic_source_pk,
        traffic_source_public_id,
        caller_id,
        ringba_call_uuid,
        tokens,
        warnings,
    )


def _clean_traffic_source(value, config: "OfferConfig", errors: list[str]):
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
    if source is None or not source[1]:  # one message: which ids exist is not told
        errors.append(
            f"traffic_source_id: {text} is not enabled on this offer; check the id on your "
            "Posting Instructions page"
        )
        return None, None
    pk, _ = source
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
        if is_credential_name(key):
            # A client's key (TrackDrive's SDK adds ?auth_token= to every request)
            # would be shown by the calls API and could be rendered into a trigger.
            warnings.append(f"{_shown_name(key)}: a credential; used to sign in, never stored")
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


def _shown_name(key) -> str:
    return str(key).strip()[:64]


def capped(messages: list[str]) -> list[str]:
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
