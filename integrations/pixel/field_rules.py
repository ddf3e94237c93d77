"""Check pixel values against an offer's contact-field rules (type, required, pattern, values)."""

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation

import re2
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.utils.dateparse import parse_datetime

from ..rules.phones import InvalidPhoneNumber, normalize_phone
from ..rules.validators import compile_pattern

_BOOLEAN_WORDS = {"1", "0", "true", "false", "yes", "no", "on", "off", "y", "n", "t", "f"}
_email = EmailValidator()
_url = URLValidator(schemes=["http", "https"])


def _type_problem(field_type: str, text: str) -> str | None:
    if field_type == "integer":
        if not re.fullmatch(r"[+-]?\d{1,18}", text):
            return "must be a whole number"
    elif field_type == "decimal":
        try:
            if not Decimal(text).is_finite():
                return "must be a finite number"
        except InvalidOperation:
            return "must be a number such as 12.50"
    elif field_type == "boolean":
        if text.lower() not in _BOOLEAN_WORDS:
            return "must be true or false"
    elif field_type == "datetime":
        try:
            valid = parse_datetime(text) is not None or _iso_date(text)
        except ValueError:
            valid = False
        if not valid:
            return "must be an ISO 8601 date/time such as 2026-11-29T14:00:00Z"
    elif field_type == "phone":
        try:
            normalize_phone(text)
        except InvalidPhoneNumber:
            return "must be a phone number"
    elif field_type == "email":
        try:
            _email(text)
        except ValidationError:
            return "must be an email address"
    elif field_type == "url":
        try:
            _url(text)
        except ValidationError:
            return "must be an http(s) URL"
    return None


def _iso_date(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def check_contact_fields(rules, tokens: dict) -> list[str]:
    """Return one ``"<field>: <problem>"`` message per rule that ``tokens`` break."""
    problems = []
    for rule in rules:
        value = tokens.get(rule.name)
        text = "" if value is None else str(value).strip()
        if text == "":
            if rule.required:
                problems.append(f"{rule.name}: is required by this offer")
            continue
        problem = _type_problem(rule.field_type, text)
        if problem is None and rule.pattern:
            try:
                if not compile_pattern(rule.pattern).fullmatch(text):
                    problem = f"does not match the pattern {rule.pattern}"
            except re2.error:
                problem = None  # a broken pattern is the offer's fault, not the sender's
        if problem is None and rule.acceptable_values and text not in rule.acceptable_values:
            problem = "must be one of " + ", ".join(rule.acceptable_values)
        if problem:
            problems.append(f"{rule.name}: {problem} (got {text[:80]!r})")
    return problems
