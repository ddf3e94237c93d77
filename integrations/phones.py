"""Phone number normalisation to E.164 (the one place that knows phone formats)."""

import phonenumbers

DEFAULT_REGION = "US"


class InvalidPhoneNumber(ValueError):
    """The value cannot be read as a possible phone number."""


def normalize_phone(raw: str, *, region: str = DEFAULT_REGION) -> str:
    """Return ``raw`` in E.164 (``+18005551234``) or raise InvalidPhoneNumber.

    National numbers are read in ``region`` (US by default), so ``8005551234``,
    ``18005551234`` and ``+1 (800) 555-1234`` all give ``+18005551234``.
    """
    text = str(raw).strip()
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
