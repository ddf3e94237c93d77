"""Read a pixel's parameters from wherever Ringba put them (SPEC §4.1).

Query string, JSON body or form body, merged with the body winning. A body that
looks like JSON is parsed as JSON whatever its Content-Type says, because Ringba
setups mislabel. A nested ``data`` object is flattened into the top level.
"""

import json
import re
from urllib.parse import parse_qsl

from django.conf import settings
from django.core.exceptions import RequestDataTooBig

from .errors import Rejected

MAX_JSON_DEPTH = 20


def _too_big(limit: int) -> Rejected:
    return Rejected(413, [f"body: larger than {limit} bytes; send only the fields needed"])


def read_body(request, *, limit: int | None = None) -> bytes:
    """Return the raw body, refusing one over ``limit`` bytes (413).

    ``limit`` defaults to CAPTURE_MAX_BODY_BYTES. A chunked body (no Content-Length)
    is read from the server's input stream up to the limit; Django alone would see
    it as empty. Compressed bodies are refused (415): no pixel needs them, and
    inflating them is a way to exceed every limit.
    """
    limit = settings.CAPTURE_MAX_BODY_BYTES if limit is None else limit
    encoding = request.META.get("HTTP_CONTENT_ENCODING", "").strip().lower()
    if encoding and encoding != "identity":
        raise _compressed(encoding)
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise Rejected(400, ["Content-Length: is not a number"]) from None
    if declared > limit:
        raise _too_big(limit)
    chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    try:
        if chunked and not request.META.get("CONTENT_LENGTH"):
            body = request.META["wsgi.input"].read(limit + 1)
            # Leave the request as if it had come with a length: request.body is this
            # body, and DRF (which trusts CONTENT_LENGTH and parses nothing without
            # it) reads the same bytes, so both APIs parse what arrived.
            request._body = body
            request._read_started = True
            request.META["CONTENT_LENGTH"] = str(len(body))
        else:
            body = request.body
    except RequestDataTooBig:
        raise _too_big(limit) from None
    if len(body) > limit:
        raise _too_big(limit)
    if body[:2] == b"\x1f\x8b":
        raise _compressed("gzip")
    return body


def _compressed(encoding: str) -> Rejected:
    return Rejected(
        415,
        [
            f"Content-Encoding: {encoding[:20]} is not supported; send the body uncompressed "
            "(application/json or application/x-www-form-urlencoded)"
        ],
    )


def _depth(value, level: int = 0) -> int:
    if level > MAX_JSON_DEPTH:
        return level
    if isinstance(value, dict):
        return max([_depth(item, level + 1) for item in value.values()] or [level])
    if isinstance(value, list):
        return max([_depth(item, level + 1) for item in value] or [level])
    return level


def parse_body(body: bytes, content_type: str) -> dict:
    """Return the body's parameters as a dict; raise Rejected (400/415) if unreadable."""
    if not body.strip():
        return {}
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Rejected(400, ["body: is not valid UTF-8"]) from None
    stripped = text.lstrip()
    media_type = content_type.split(";")[0].strip().lower()
    if stripped.startswith(("{", "[")) or media_type.endswith("json"):
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise Rejected(400, [f"body: is not valid JSON ({exc})"]) from None
        if not isinstance(data, dict):
            raise Rejected(400, ['body: must be a JSON object such as {"lead_token": "..."}'])
        check_depth(data)
        return data
    if media_type in ("application/x-www-form-urlencoded", "", "text/plain") and "=" in text:
        return dict(parse_qsl(text, keep_blank_values=True))
    raise Rejected(
        415,
        [
            f"Content-Type: {media_type or 'unknown'} is not supported; send application/json, "
            "application/x-www-form-urlencoded or a query string"
        ],
    )


def merge_params(query: dict, body: dict) -> dict:
    """Merge query and body (body wins) and flatten a nested ``data`` object."""
    params = {**query, **body}
    nested = params.pop("data", None)
    if isinstance(nested, dict):
        for key, value in nested.items():
            params.setdefault(key, value)
    elif nested is not None:
        params["data"] = nested
    return params


# What no database column can hold: NUL (PostgreSQL refuses it in text and JSON)
# and lone UTF-16 surrogates (they cannot be encoded as UTF-8 at all).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _unstorable_field(value, name: str) -> str | None:
    """Return the name of the first field whose key or value cannot be stored."""
    if isinstance(value, str):
        return name if _UNSTORABLE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = f"{name}.{key}" if name else str(key)
            if _UNSTORABLE.search(str(key)):
                return found
            inner = _unstorable_field(item, found)
            if inner:
                return inner
    if isinstance(value, list):
        for item in value:
            inner = _unstorable_field(item, name)
            if inner:
                return inner
    return None


def refuse_unstorable_text(params) -> None:
    """Raise Rejected(400) if any key or value holds NUL or a lone surrogate.

    No real pixel or call report carries either; refusing them says which field to
    fix instead of failing with a server error when the row is written.
    """
    field = _unstorable_field(params, "")
    if field:
        shown = _UNSTORABLE.sub("", field)[:64] or "(a field name)"
        raise Rejected(
            400,
            [
                f"{shown}: contains a NUL character (\\u0000) or an unpaired surrogate "
                "(\\ud800-\\udfff), which cannot be stored; send valid UTF-8 text"
            ],
        )


def check_depth(data, *, limit: int = MAX_JSON_DEPTH) -> None:
    """Raise Rejected(400) when ``data`` nests deeper than ``limit`` levels."""
    if _depth(data) > limit:
        raise Rejected(400, [f"body: nested deeper than {limit} levels"])
