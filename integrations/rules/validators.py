"""Field validators shared by the models, the admin and the APIs."""

from functools import lru_cache

import re2
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

from .phones import InvalidPhoneNumber, normalize_phone

TOKEN_NAME_PATTERN = r"^[a-z0-9_]+$"

validate_token_name = RegexValidator(
    regex=TOKEN_NAME_PATTERN,
    message="Use only lower-case letters, digits and underscores (e.g. ringba_webhook_token).",
    code="invalid_token_name",
)


def validate_e164(value: str) -> None:
    """Refuse a value that is not already in E.164 form."""
    try:
        normalized = normalize_phone(value)
    except InvalidPhoneNumber as exc:
        raise ValidationError(f"Not a phone number: {exc}", code="invalid_phone") from exc
    if normalized != value:
        raise ValidationError(f"Store phone numbers in E.164 form ({normalized}).", code="not_e164")


_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False


@lru_cache(maxsize=512)
def compile_pattern(pattern: str):
    """Compile an account manager's pattern with RE2; raise re2.error if it cannot run.

    RE2 matches in linear time, so no pattern (``(a+)+$``) and no pixel value can
    pin a web worker, as a backtracking engine would.
    """
    return re2.compile(pattern, options=_RE2_OPTIONS)


def validate_regex(value: str) -> None:
    """Refuse a regular expression the pattern engine (RE2) does not accept."""
    try:
        compile_pattern(value)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise ValidationError(
            f"Not a pattern this product can run ({reason}). Patterns run on RE2, which "
            "never backtracks: back-references and look-ahead/look-behind are not supported.",
            code="bad_regex",
        ) from exc
