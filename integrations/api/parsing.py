"""Read a pixel's parameters from wherever Ringba put them (SPEC §4.1).

Query string, JSON body or form body, merged with the body winning. A body that
looks like JSON is parsed as JSON whatever its Content-Type says, because Ringba
setups mislabel. A nested ``data`` object is flattened into the top level.
"""

import json
from urllib.parse import parse_qsl

from django.conf import settings
from django.core.exceptions import RequestDataTooBig

from .errors import Rejected

MAX_JSON_DEPTH = 20


def _too_big() -> Rejected:
    limit = settings.CAPTURE_MAX_BODY_BYTES
    return Rejected(413, [f"body: larger than {limit} bytes; send only the pixel fields"])


def read_body(request) -> bytes:
    """Return the raw body, refusing one over CAPTURE_MAX_BODY_BYTES (413)."""
    limit = settings.CAPTURE_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise Rejected(400, ["Content-Length: is not a number"]) from None
    if declared > limit:
        raise _too_big()
    try:
        body = request.body
    except RequestDataTooBig:
        raise _too_big() from None
    if len(body) > limit:
        raise _too_big()
    return body


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
        if _depth(data) > MAX_JSON_DEPTH:
            raise Rejected(400, [f"body: nested deeper than {MAX_JSON_DEPTH} levels"])
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


def _nul_field(value, name: str) -> str | None:
    """Return the name of the first field whose key or value holds a NUL character."""
    if isinstance(value, str):
        return name if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = f"{name}.{key}" if name else str(key)
            if "\x00" in str(key):
                return found
            inner = _nul_field(item, found)
            if inner:
                return inner
    if isinstance(value, list):
        for item in value:
            inner = _nul_field(item, name)
            if inner:
                return inner
    return None


def refuse_nul_characters(params: dict) -> None:
    """Raise Rejected(400) if any key or value holds a NUL character.

    PostgreSQL cannot store NUL in text or JSON, and no real pixel carries one;
    refusing it says so instead of failing with a server error.
    """
    field = _nul_field(params, "")
    if field:
        raise Rejected(
            400,
            [
                f"{field.replace(chr(0), '')}: contains a NUL character (\\u0000), which "
                "cannot be stored; remove it"
            ],
        )
