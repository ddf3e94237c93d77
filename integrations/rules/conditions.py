"""Trigger conditions: ``token operator value`` rules stored as JSON.

A trigger's ``conditions`` is a list of objects ``{"token": ..., "operator": ...,
"value": ...}``; every rule must hold for the trigger to fire. ``validate`` is
called from ``EventTrigger.clean()`` so that the admin and the API refuse the same
malformed rules; ``evaluate`` runs at firing time.
"""

import re
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError

from .validators import TOKEN_NAME_PATTERN

IS_POPULATED = "is populated"
IS_EMPTY = "is empty"
EQUALS = "="
NOT_EQUALS = "!="
AT_LEAST = ">="
AT_MOST = "<="
CONTAINS = "contains"

UNARY_OPERATORS = {IS_POPULATED, IS_EMPTY}
OPERATORS = [IS_POPULATED, IS_EMPTY, EQUALS, NOT_EQUALS, AT_LEAST, AT_MOST, CONTAINS]


def validate(conditions) -> None:
    """Raise ValidationError naming the first malformed rule, or return None."""
    if conditions in (None, ""):
        return
    if not isinstance(conditions, list):
        raise ValidationError(
            'Conditions must be a JSON list such as [{"token": "ringba_call_uuid", '
            '"operator": "is populated"}].',
            code="conditions_not_list",
        )
    for position, rule in enumerate(conditions, start=1):
        where = f"Condition {position}"
        if not isinstance(rule, dict):
            raise ValidationError(f"{where} must be an object with token and operator.")
        unknown = set(rule) - {"token", "operator", "value"}
        if unknown:
            raise ValidationError(f"{where} has unknown keys: {', '.join(sorted(unknown))}.")
        token = rule.get("token")
        if not isinstance(token, str) or not re.match(TOKEN_NAME_PATTERN, token):
            raise ValidationError(f"{where}: token must be a token name like ringba_call_uuid.")
        operator = rule.get("operator")
        if operator not in OPERATORS:
            raise ValidationError(
                f"{where}: operator {operator!r} is not one of {', '.join(OPERATORS)}."
            )
        if operator not in UNARY_OPERATORS:
            value = rule.get("value")
            if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                raise ValidationError(f"{where}: operator {operator!r} needs a value.")
            if operator in (AT_LEAST, AT_MOST) and _as_decimal(value) is None:
                raise ValidationError(f"{where}: {operator!r} compares numbers; {value!r} is not.")


def evaluate(conditions, tokens: dict) -> str | None:
    """Return None when every rule holds, else a sentence naming the first that fails."""
    for rule in conditions or []:
        actual, holds = _check(rule, tokens)
        if not holds:
            return f"condition not met: {_rule_text(rule)} (value: {actual!r})"
    return None


def explain(conditions, tokens: dict) -> list[dict]:
    """Every rule with the value it saw and its verdict, for the admin's "why" panel."""
    checked = []
    for rule in conditions or []:
        actual, holds = _check(rule, tokens)
        checked.append({"rule": _rule_text(rule), "value": actual, "holds": holds})
    return checked


def _check(rule: dict, tokens: dict) -> tuple[str, bool]:
    """The token's value as compared, and whether ``rule`` holds for it."""
    operator = rule["operator"]
    actual = _text(tokens.get(rule["token"]))
    expected = _text(rule.get("value"))
    if operator == IS_POPULATED:
        return actual, actual != ""
    if operator == IS_EMPTY:
        return actual, actual == ""
    if operator == EQUALS:
        return actual, actual == expected
    if operator == NOT_EQUALS:
        return actual, actual != expected
    if operator == CONTAINS:
        return actual, expected in actual
    left, right = _as_decimal(actual), _as_decimal(expected)
    if left is None or right is None:
        return actual, False
    return actual, left >= right if operator == AT_LEAST else left <= right


def _rule_text(rule: dict) -> str:
    operator = rule.get("operator")
    value = "" if operator in UNARY_OPERATORS else f" {_text(rule.get('value'))}"
    return f"{rule.get('token')} {operator}{value}"


def describe(conditions) -> str:
    """Return the rules as one human-readable line for list pages."""
    return " AND ".join(_rule_text(rule) for rule in conditions or []) or "always"


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()


def _as_decimal(value):
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
