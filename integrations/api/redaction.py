"""Keep a request's raw text for debugging without the credentials it carried.

The raw body and query are stored with each lead and refused pixel. Searching the
raw text for the token missed every other spelling of it: JSON ``\\u`` escapes,
percent-encoding, another offer's token beside the real one, an upper-case key.
So redaction starts from the parsed values: every value under a credential's name
(``integrations.rules.credentials``: lead tokens, API keys; any case, any position the
parser reads) is a secret; the raw text has each
cut to its first four characters; and if reading the redacted text back still
yields a secret (it was escaped), the raw text is replaced by the parsed fields,
re-encoded with the secrets cut.
"""

import json
from collections.abc import Callable, Iterable

from ..rules.credentials import cut, is_credential_name
from .client import redact

# Shorter values are no token we issued (ours are 32 characters), and cutting them
# would hide ordinary text.
MIN_SECRET_LENGTH = 8
RE_ENCODED = "[re-encoded without the credential it carried in escaped form] "


def secret_values(*params: dict) -> set[str]:
    """Every credential's value in ``params`` (a nested ``data`` object included)."""
    found = set()
    for mapping in params:
        for key, value in (mapping or {}).items():
            if is_credential_name(key) and isinstance(value, str):
                if len(value.strip()) >= MIN_SECRET_LENGTH:
                    found.add(value.strip())
            elif key == "data" and isinstance(value, dict):
                found |= secret_values(value)
    return found


def redacted_raw(
    text: str, parsed: dict, *, secrets: Iterable[str], reread: Callable[[str], dict]
) -> str:
    """Return ``text`` without ``secrets``, judged by reading the result back.

    ``parsed`` is what ``text`` was read as; ``reread`` parses text the same way.
    When the redacted text cannot be read back, or still yields a secret, the
    parsed fields themselves are stored instead, with the secrets cut.
    """
    secrets = set(secrets)
    if not secrets or not text:
        return text
    for secret in sorted(secrets, key=len, reverse=True):
        text = redact(text, secret)
    if "\\" not in text and "%" not in text:
        # No escape a parser could decode (JSON's \u, percent-encoding): every
        # parsed secret stood in the text literally and is cut. The common case on
        # the capture path, which need not parse the body a second time.
        return text
    try:
        still_there = secret_values(reread(text)) & secrets
    except Exception:  # any parser error: do not trust the text
        still_there = secrets
    if not still_there:
        return text
    return RE_ENCODED + json.dumps(_cut(parsed), ensure_ascii=False, default=str)


def _cut(params: dict) -> dict:
    """``params`` with every credential's value cut to its first four characters."""
    shown = {}
    for key, value in params.items():
        if is_credential_name(key) and isinstance(value, str):
            shown[key] = cut(value)
        elif key == "data" and isinstance(value, dict):
            shown[key] = _cut(value)
        else:
            shown[key] = value
    return shown
