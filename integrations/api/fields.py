"""Serializer fields for numbers a person typed: ASCII digits, one optional sign, one dot.

Python's ``Decimal`` and ``int`` read ``"1_000"`` as 1000, Arabic-Indic ``"٣"`` as 3
and full-width digit five as 5, and DRF's fields inherit that. No dialer or person
means those as amounts or minutes, so a money field or a count that arrives as
text must be written the plain way; JSON numbers pass as before.
"""

import re

from rest_framework import serializers

_PLAIN_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)
_PLAIN_INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)


def _plain(value, pattern: re.Pattern, example: str, what: str):
    if isinstance(value, str) and not pattern.fullmatch(value.strip()):
        raise serializers.ValidationError(
            f"{what} must be written with the digits 0-9, an optional sign"
            f"{' and one .' if what == 'an amount' else ''} (for example {example}); "
            f"got {value.strip()[:40]!r}"
        )
    return value


class PlainDecimalField(serializers.DecimalField):
    """DRF's DecimalField, refusing text that is not ``[+-]digits[.digits]`` in ASCII."""

    def to_internal_value(self, data):
        return super().to_internal_value(_plain(data, _PLAIN_DECIMAL, "12.50", "an amount"))


class PlainIntegerField(serializers.IntegerField):
    """DRF's IntegerField, refusing text that is not ``[+-]digits`` in ASCII."""

    def to_internal_value(self, data):
        return super().to_internal_value(_plain(data, _PLAIN_INTEGER, "1440", "a whole number"))
