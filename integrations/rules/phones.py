"""Phone number normalisation to E.164 (the one place that knows phone formats)."""

import re

import phonenumbers

DEFAULT_REGION = "US"
# North American numbers already in one of the shapes below are what phonenumbers
# would return (+1 and ten digits whose area code starts 2-9 is always a possible
# number); answering them without it is ~40x faster, and they are most numbers a
# pixel, a call or a partner's call log carries.
_NANP_E164 = re.compile(r"\+1[2-9][0-9]{9}")
_NANP_NATIONAL = re.compile(r"1?([2-9][0-9]{9})")


class InvalidPhoneNumber(ValueError):
    """The value cannot be read as a possible phone number."""


def normalize_phone(raw: str, *, region: str = DEFAULT_REGION) -> str:
    """Return ``raw`` in E.164 (``+18005551234``) or raise InvalidPhoneNumber.

    National numbers are read in ``region`` (US by default), so ``8005551234``,
    ``18005551234`` and ``+1 (800) 555-1234`` all give ``+18005551234``.
    """
    text = str(raw).strip()
    if _NANP_E164.fullmatch(text):
        return text
    if region == DEFAULT_REGION and (national := _NANP_NATIONAL.fullmatch(text)):
        return f"+1{national[1]}"
    if not text:
        raise InvalidPhoneNumber("is empty")
    if len(text) > 40:
        raise InvalidPhoneNumber("is too long to be a phone number")
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(f"{text!r} is not a phone number ({exc._msg})") from exc
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidPhoneNumber(
            f"{text!r} is not a possible phone number; send 10 digits (8005551234) or E.164 "
            "(+18005551234)"
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def national_digits(e164: str) -> str:
    """Return the national significant number of an E.164 number (``8005551234``)."""
    try:
        return str(phonenumbers.parse(e164, None).national_number)
    except phonenumbers.NumberParseException:
        return ""
