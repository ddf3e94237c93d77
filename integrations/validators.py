"""Field validators shared by the models, the admin and the APIs."""

import re

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


def validate_regex(value: str) -> None:
    """Refuse a regular expression that does not compile."""
    try:
        re.compile(value)
    except re.error as exc:
        raise ValidationError(f"Not a valid regular expression: {exc}", code="bad_regex") from exc
