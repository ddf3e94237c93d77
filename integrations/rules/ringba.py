"""What this product knows about Ringba: tag syntax, webhook URLs, the pixel body.

Ringba's conversion webhook takes three fixed parameter names (``call_id``,
``call_revenue``, ``sale_successful``) that Ringba does not let anyone rename.
"""

import re
from urllib.parse import parse_qsl, quote, urlsplit

from django.conf import settings

WEBHOOK_TOKEN_NAME = "ringba_webhook_token"
CALL_UUID_TOKEN_NAME = "ringba_call_uuid"
WEBHOOK_CALL_PARAM = "call_id"
WEBHOOK_REVENUE_PARAM = "call_revenue"
WEBHOOK_CONVERSION_PARAM = "sale_successful=true"

RINGBA_TEMPLATE_SLUG = "ringba-webhook"
RINGBA_TEMPLATE_NAME = (
    "GLOBAL TRIGGER: RINGBA WEBHOOK: Do a Postback for Ringba Traffic Sources if "
    "ringba_call_uuid is populated"
)
CANONICAL_WEBHOOK_BASE_URL = "https://webhook.ringba.com"
RINGBA_TEMPLATE_URL = (
    f"{CANONICAL_WEBHOOK_BASE_URL}/hook/[{WEBHOOK_TOKEN_NAME}]"
    f"?{WEBHOOK_CALL_PARAM}=[{CALL_UUID_TOKEN_NAME}]&{WEBHOOK_REVENUE_PARAM}=[payout]"
    f"&{WEBHOOK_CONVERSION_PARAM}"
)

# Ringba's "Enrich Call Data" (IDE): TrackDrive tells the partner's Ringba about a call
# as it starts. The id is the partner's, so it is a per-traffic-source mapping: a call
# from a partner without one is skipped (missing token), never sent to another's Ringba.
ENRICH_TEMPLATE_SLUG = "ringba-ide"
ENRICH_ID_TOKEN_NAME = "ringba_number_id"
CANONICAL_ENRICH_BASE_URL = "https://display.ringba.com"
# The caller's own E.164 number ([caller_id]; its "+" is percent-encoded when
# rendered). The first template sent "+1" and the national digits, which made a UK
# caller +442079460123 into the US number +12079460123: someone else's call.
ENRICH_TEMPLATE_URL = (
    f"{CANONICAL_ENRICH_BASE_URL}/enrich/[{ENRICH_ID_TOKEN_NAME}]"
    "?callerid=[caller_id]&trackdrive_call_uuid=[call_uuid]"
)
# Enrichment parameters Ringba fills itself: the partner creates no URL parameter.
ENRICH_SYSTEM_FIELDS = frozenset({"callerid"})
# "+1", "%2B1" or "1" written before the national digits: right only for US callers.
_US_PREFIX_BEFORE_SHORT = re.compile(r"(?:%2B|\+)?1\[caller_id_short\]", re.IGNORECASE)


def prefixes_us_country_code(url_template: str) -> bool:
    """Return whether a URL template writes +1 before the caller's national digits."""
    return bool(_US_PREFIX_BEFORE_SHORT.search(url_template or ""))


# Tags as Ringba writes them into pixel bodies; a value still shaped like one means
# Ringba had nothing to put there.
CALLER_ID_TAG = "[tag:InboundNumber:Number]"
# Ringba's current docs spell it InboundCallId; the seed article's InboundCallID also
# works in Ringba. The page shows Ringba's spelling (SPEC §8).
CALL_UUID_TAG = "[Call:InboundCallId]"
_UNREPLACED_TAG = re.compile(r"^\s*\[[^\[\]]*\]\s*$")
_WEBHOOK_TOKEN = re.compile(r"^[A-Za-z0-9_\-.~]{1,200}$")
_HAS_ALPHANUMERIC = re.compile(r"[A-Za-z0-9]")


def is_unreplaced_tag(value) -> bool:
    """Return True when ``value`` is a whole Ringba tag such as ``[tag:User:first_name]``."""
    return isinstance(value, str) and bool(_UNREPLACED_TAG.match(value))


def user_tag(field_name: str) -> str:
    """Return the Ringba tag that carries a contact field from Ringba's user data."""
    return f"[tag:User:{field_name}]"


def pixel_tag_for(field_name: str) -> str:
    """Return the Ringba tag a partner types into the pixel body for ``field_name``."""
    if field_name == "caller_id":
        return CALLER_ID_TAG
    if field_name == CALL_UUID_TOKEN_NAME:
        return CALL_UUID_TAG
    return user_tag(field_name)


class InvalidWebhookToken(ValueError):
    """The value is neither a Ringba webhook token nor a Ringba webhook URL."""


def extract_webhook_token(value: str) -> str:
    """Return the webhook token from a bare token or a whole Ringba webhook URL.

    ``https://webhook.ringba.com/hook/abc123?call_id=...`` gives ``abc123``. A URL
    whose path is not ``/hook/<token>`` is refused with a message saying why.
    """
    text = (value or "").strip()
    if not text:
        raise InvalidWebhookToken("Enter the Ringba webhook token or the whole webhook URL.")
    if "/" in text or ":" in text:
        text = _token_from_url(text)
    if not _WEBHOOK_TOKEN.match(text) or not _HAS_ALPHANUMERIC.search(text):
        raise InvalidWebhookToken(
            "A Ringba webhook token has letters or digits, and may also use '-', '_', '.' and '~'."
        )
    return text


def _token_from_url(text: str) -> str:
    """Return the token of an absolute Ringba webhook URL, or raise InvalidWebhookToken."""
    expected = f"expected https://{webhook_hostname()}/hook/<token>?call_id=..."
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidWebhookToken(
            f"Paste the whole webhook URL, starting with https:// ({expected})."
        )
    if "@" in parts.netloc or "\\" in text or not _is_ringba_webhook_host(parts.hostname or ""):
        raise InvalidWebhookToken(
            f"{parts.hostname} is not Ringba's webhook host ({webhook_hostname()})."
        )
    path_parts = parts.path.split("/")[1:]
    if len(path_parts) != 2 or path_parts[0] != "hook" or not path_parts[1]:
        raise InvalidWebhookToken(f"This is not a Ringba webhook URL: {expected}")
    return path_parts[1]


def webhook_hostname() -> str:
    """Return the host that Ringba webhooks are sent to in this deployment."""
    return urlsplit(settings.RINGBA_WEBHOOK_BASE_URL).hostname or ""


def _is_ringba_webhook_host(hostname: str) -> bool:
    return hostname.lower() in {webhook_hostname().lower(), "webhook.ringba.com"}


# The prefix of every call id the portal makes up (the partner page's curl, test
# fires). Ringba's own InboundCallIds never start with it.
TEST_CALL_ID_PREFIX = "TEST-"


def is_test_call_id(value: str | None) -> bool:
    """True for a made-up test call id: its lead is a test and never pays."""
    return bool(value) and value.upper().startswith(TEST_CALL_ID_PREFIX)


def is_webhook_url(url: str) -> bool:
    """True for a rendered Ringba webhook postback (``…/hook/<token>?call_id=…``).

    Ringba answers such a postback 404 once the call id has converted, which is
    how a retry learns that an attempt whose outcome was lost had been delivered.
    """
    parts = urlsplit(url)
    return _is_ringba_webhook_host(parts.hostname or "") and parts.path.startswith("/hook/")


def webhook_conversion(url: str) -> tuple[str, str]:
    """Return (call id, revenue text) that a rendered webhook URL reports; '' when absent."""
    query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    return query.get(WEBHOOK_CALL_PARAM, ""), query.get(WEBHOOK_REVENUE_PARAM, "")


# Ringba's REST API (public docs; CallAdjustmentsApi): a conversion is changed after
# the webhook only here, with an absolute new amount ("override") so that sending
# the same request twice leaves the same amount. The buyer-side request asks the
# partner's admin, who approves it in Ringba.
OVERRIDE_PATH = "/{account}/calls/payments/override"
BUYER_OVERRIDE_REQUEST_PATH = "/{account}/calls/requestConversionOverride"


def conversion_override(
    *, base_url: str, account_id: str, call_id: str, amount, reason: str
) -> tuple[str, dict]:
    """Return (URL, JSON body) setting the partner's conversion amount for ``call_id``."""
    url = base_url.rstrip("/") + OVERRIDE_PATH.format(account=quote(account_id, safe=""))
    body = {
        "inboundCallId": call_id,
        "reason": reason,
        "adjustConversion": True,
        "adjustPayout": False,
        "newConversionAmount": float(amount),
    }
    return url, body


def buyer_override_request(
    *, base_url: str, buyer_account_id: str, call_id: str, amount, reason: str
) -> tuple[str, dict]:
    """Return (URL, JSON body) asking the partner's admin to set the amount."""
    path = BUYER_OVERRIDE_REQUEST_PATH.format(account=quote(buyer_account_id, safe=""))
    return base_url.rstrip("/") + path, {
        "inboundCallId": call_id,
        "reason": reason,
        "amount": float(amount),
    }


# Ringba's call-log API (public docs; CallLogsGetCallLogsApi): a partner's calls for a
# period, ``size`` (at most 1000) at a time from ``offset``; columns by their ids.
CALL_LOG_PATH = "/{account}/calllogs"
CALL_LOG_PAGE_SIZE = 1000
CALL_LOG_COLUMNS = (
    "inboundCallId",
    "callDt",
    "inboundPhoneNumber",
    "hasConverted",
    "conversionAmount",
)


def call_log_request(
    *, base_url: str, account_id: str, start, end, offset: int, size: int = CALL_LOG_PAGE_SIZE
) -> tuple[str, dict]:
    """Return (URL, JSON body) for one page of the partner's call log in [start, end)."""
    url = base_url.rstrip("/") + CALL_LOG_PATH.format(account=quote(account_id, safe=""))
    return url, {
        "reportStart": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "reportEnd": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "offset": offset,
        "size": min(size, CALL_LOG_PAGE_SIZE),
        "orderByColumns": [{"column": "callDt", "direction": "asc"}],
        "valueColumns": [{"column": column} for column in CALL_LOG_COLUMNS],
        "formatDateTime": False,
    }


def localize_ringba_url(url_template: str) -> str:
    """Point a template URL at this deployment's Ringba hosts.

    Production keeps ``https://webhook.ringba.com`` and ``https://display.ringba.com``;
    demos and tests point RINGBA_WEBHOOK_BASE_URL and RINGBA_ENRICH_BASE_URL at a
    local stand-in for Ringba.
    """
    for canonical, local in (
        (CANONICAL_WEBHOOK_BASE_URL, settings.RINGBA_WEBHOOK_BASE_URL),
        (CANONICAL_ENRICH_BASE_URL, settings.RINGBA_ENRICH_BASE_URL),
    ):
        if url_template.startswith(canonical + "/"):
            return local + url_template[len(canonical) :]
    return url_template
