"""Credentials are never data: the one list of their names, and how text is cut of them.

TrackDrive's clients put their key in the query string (``?auth_token=…`` on every
request of its PHP SDK, ``offer_token=…`` on ``update_by_caller_id``) and Ringba's
pixels carry the offer's ``lead_token``. Such a value must never become a lead or
call token (it would be shown by the calls API and could be rendered into a
trigger), nor reach a log line or a stored request in full. Every door asks
``is_credential_name``; stored and logged text goes through ``redact_query`` or
``redact_text``. A pure leaf: no Django, so gunicorn's logger can use it too.
"""

import json
import re
from functools import lru_cache
from urllib.parse import unquote_plus

# Compared after ``credential_key``: decoded, stripped, lower case, "-" as "_".
CREDENTIAL_NAMES = frozenset(
    {
        "auth_token",
        "api_key",
        "offer_token",
        "lead_token",
        "offer_lead_token",
        "schedule_lead_token",
    }
)
# Percent-encoding applied more than this many times is no name a server decodes.
_MAX_DECODINGS = 3
# A value this short keeps no recognisable prefix: it is replaced whole.
_SHOWN_PREFIX_FROM = 8


def credential_key(name) -> str:
    """Return ``name`` as CREDENTIAL_NAMES spells it (percent-decoded, folded)."""
    text = str(name)
    for _ in range(_MAX_DECODINGS):
        decoded = unquote_plus(text)
        if decoded == text:
            break
        text = decoded
    return text.strip().lower().replace("-", "_")


def is_credential_name(name) -> bool:
    """Return whether a parameter called ``name`` carries a credential."""
    if isinstance(name, str) and len(name) <= _MEMO_NAME_LENGTH:
        return _is_credential_text(name)
    return credential_key(name) in CREDENTIAL_NAMES


# Names remembered only up to this length: a sender's long junk names must not fill
# memory (4,096 of them at most, each this short).
_MEMO_NAME_LENGTH = 64


@lru_cache(maxsize=4096)
def _is_credential_text(name: str) -> bool:
    # Every pixel asks this of each of its names, and Ringba sends the same few.
    # Bounded: names nobody sent before only push out the least recent ones.
    return credential_key(name) in CREDENTIAL_NAMES


def cut(value: str) -> str:
    """Return ``value`` cut to its first four characters (enough to tell which one it was)."""
    value = str(value).strip()
    if value.endswith("…") and len(value) <= 5:
        return value  # cut already (text redacted twice stays as the first cut left it)
    if len(value) < _SHOWN_PREFIX_FROM:
        return "…"
    return f"{value[:4]}…"


def redact_query(query: str, *, replacement=None) -> str:
    """Return a query string (or form body) with every credential's value cut.

    Everything else is kept byte for byte. ``replacement``, when given, is written
    instead of the cut value (the access log writes ``[redacted]``).
    """
    if not query:
        return query
    parts = []
    for part in query.split("&"):
        name, separator, value = part.partition("=")
        if separator and is_credential_name(name):
            shown = replacement if replacement is not None else cut(unquote_plus(value))
            part = f"{name}={shown}"
        parts.append(part)
    return "&".join(parts)


# A JSON-ish "key": "value" pair, read without a parser: the text may be broken.
_QUOTED_PAIR = re.compile(
    r"""(?P<quote>["'])(?P<key>(?:\\.|(?!(?P=quote)).){1,100}?)(?P=quote)\s*:\s*"""
    r"""(?P<vquote>["']?)(?P<value>(?:\\.|[^"'\\,}\s])*)"""
)
# A key=value pair of a form body or query string inside free text.
_FORM_PAIR = re.compile(r"(?P<key>[^&=\s?\"'{},]{1,100})=(?P<value>[^&\s\"'}]*)")


def redact_text(text: str) -> str:
    """Return any request text (JSON, form, query, broken) with credential values cut.

    Reads pairs the way a lenient eye would, so a body no parser accepts (cut
    off, mislabelled, with escaped keys) is still redacted before it is stored.
    """
    if not text:
        return text
    text = _QUOTED_PAIR.sub(_cut_quoted, text)
    return _FORM_PAIR.sub(_cut_form, text)


def _json_key(raw: str) -> str:
    try:
        return json.loads(f'"{raw}"')
    except ValueError:
        return raw


def _cut_quoted(match: re.Match) -> str:
    if not is_credential_name(_json_key(match["key"])) or not match["value"]:
        return match[0]
    head = match[0][: match.start("value") - match.start()]
    return f"{head}{cut(_json_key(match['value']))}"


def _cut_form(match: re.Match) -> str:
    if not is_credential_name(match["key"]) or not match["value"]:
        return match[0]
    return f"{match['key']}={cut(unquote_plus(match['value']))}"
