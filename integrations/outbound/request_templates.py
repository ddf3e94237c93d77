"""A trigger's request beyond its URL: a JSON or form body and headers, with tokens.

Tokens are written as in URLs (``[token]`` or ``[token]{default}``) and rendered for
the place they land in, so a value can never change the request's shape:
- JSON: tokens may appear only inside string values; each value is inserted as JSON
  text (quotes and backslashes escaped) by re-serialising the parsed template.
- form: ``name=[token]&…``; each value is percent-encoded.
- headers: ``{"Name": "template"}``; a rendered value holding a line break or NUL
  is refused (header injection), as is one HTTP cannot carry (text outside
  Latin-1, control characters), and the delivery is skipped saying so.
"""

import json
import re
from dataclasses import dataclass
from urllib.parse import quote

from django.core.exceptions import ValidationError

from .tokens import TOKEN_PATTERN, render_tokens

NO_BODY, JSON_BODY, FORM_BODY = "none", "json", "form"
BODY_FORMATS = [
    (NO_BODY, "No body"),
    (JSON_BODY, "JSON (application/json)"),
    (FORM_BODY, "Form (application/x-www-form-urlencoded)"),
]
CONTENT_TYPES = {JSON_BODY: "application/json", FORM_BODY: "application/x-www-form-urlencoded"}
HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}")
# Headers the sender owns: a template may not set them.
RESERVED_HEADERS = frozenset(
    {"host", "content-length", "content-type", "transfer-encoding", "connection", "user-agent"}
    | {"webhook-id", "webhook-timestamp", "webhook-signature"}
)
_UNSAFE_HEADER_VALUE = re.compile(r"[\r\n\x00]")
# What else a header value cannot carry: anything outside Latin-1 (HTTP/1.1 sends
# bytes, and urllib3 encodes header values as Latin-1) and the other control characters.
_UNCARRIABLE = re.compile(r"[^\t\x20-\x7e\xa0-\xff]")
_SHOWN_CHARACTERS = 5


@dataclass(frozen=True)
class RenderedRequest:
    body: str
    headers: dict
    missing: tuple[str, ...]  # tokens without a default that resolved to nothing
    refused: str = ""  # why the rendered request may not be sent ('' when it may)


def _substitute(template: str, context: dict[str, str], encode, missing: list[str]) -> str:
    text, unresolved = render_tokens(template, context, encode)
    missing += unresolved
    return text


def render_request(
    *, body_format: str, body_template: str, header_templates: dict | None, context: dict
) -> RenderedRequest:
    missing: list[str] = []
    body = ""
    if body_format == JSON_BODY and body_template.strip():
        body = json.dumps(
            _render_json(json.loads(body_template), context, missing), ensure_ascii=False
        )
    elif body_format == FORM_BODY:
        body = _substitute(body_template.strip(), context, lambda v: quote(v, safe=""), missing)
    headers = {"Content-Type": CONTENT_TYPES[body_format]} if body else {}
    refused = ""
    for name, template in (header_templates or {}).items():
        value = _substitute(str(template), context, lambda v: v, missing)
        if _UNSAFE_HEADER_VALUE.search(value):
            refused = refused or f"header {name}: its value holds a line break or NUL"
        elif _UNCARRIABLE.search(value):
            # Decided here, not by a send that fails and retries until the delivery
            # fails (counted against the host): no retry can make it sendable.
            shown = ", ".join(map(repr, dict.fromkeys(_UNCARRIABLE.findall(value))))
            refused = refused or (
                f"header {name}: its value holds characters an HTTP header cannot carry "
                f"({_first(shown)}); send that token in the body instead"
            )
        headers[name] = value
    return RenderedRequest(
        body=body, headers=headers, missing=tuple(dict.fromkeys(missing)), refused=refused
    )


def _first(shown: str) -> str:
    parts = shown.split(", ")
    return ", ".join(parts[:_SHOWN_CHARACTERS]) + (", …" if len(parts) > _SHOWN_CHARACTERS else "")


def _render_json(node, context, missing):
    if isinstance(node, str):
        return _substitute(node, context, lambda v: v, missing)
    if isinstance(node, list):
        return [_render_json(item, context, missing) for item in node]
    if isinstance(node, dict):
        return {key: _render_json(value, context, missing) for key, value in node.items()}
    return node


def validate_body(body_format: str, body_template: str, http_method: str) -> None:
    """Refuse a body the trigger could never send as written (for the trigger's clean)."""
    if body_format == NO_BODY:
        if body_template.strip():
            raise ValidationError({"body_format": "Choose JSON or form to send the body."})
        return
    if http_method == "GET":
        raise ValidationError({"http_method": "A body is sent with POST or PUT, not GET."})
    if body_format == JSON_BODY:
        try:
            parsed = json.loads(body_template or "{}")
        except ValueError as exc:
            raise ValidationError({"body_template": f"Not valid JSON: {exc}"}) from exc
        if TOKEN_PATTERN.search(json.dumps(_keys_only(parsed))):
            raise ValidationError({"body_template": "Tokens go in string values, not in keys."})


def _keys_only(node):
    if isinstance(node, dict):
        return {key: _keys_only(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_keys_only(item) for item in node]
    return None


def validate_headers(header_templates) -> None:
    if header_templates in (None, ""):
        return
    if not isinstance(header_templates, dict):
        raise ValidationError({"header_templates": 'A JSON object: {"Header-Name": "value"}.'})
    for name, value in header_templates.items():
        if not HEADER_NAME.fullmatch(name):
            raise ValidationError({"header_templates": f"{name!r} is not a header name."})
        if name.lower() in RESERVED_HEADERS:
            raise ValidationError(
                {"header_templates": f"{name} is set by the portal; it cannot be templated."}
            )
        if not isinstance(value, str) or _UNSAFE_HEADER_VALUE.search(value):
            raise ValidationError(
                {"header_templates": f"{name}: the value must be one line of text."}
            )
