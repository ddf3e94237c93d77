"""normalize_phone answers North American numbers without phonenumbers: same answers.

The shortcut must never change a result: for every string shaped like a NANP number
(with or without +1 or 1, any digits, including non-ASCII ones) it returns exactly
what phonenumbers returns, or refuses exactly when phonenumbers refuses.
"""

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from integrations.rules.phones import InvalidPhoneNumber, normalize_phone


def _by_phonenumbers(text: str) -> str | None:
    try:
        parsed = phonenumbers.parse(text.strip(), "US")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _ours(text: str) -> str | None:
    try:
        return normalize_phone(text)
    except InvalidPhoneNumber:
        return None


DIGITS = st.text(alphabet="0123456789", min_size=9, max_size=12)


@given(prefix=st.sampled_from(["", "1", "+1", "+", " +1", "+44"]), digits=DIGITS)
def test_the_shortcut_agrees_with_phonenumbers(prefix, digits):
    text = prefix + digits
    assert _ours(text) == _by_phonenumbers(text)


ARABIC_FIVE = "\u0665"  # a digit to \\d, not to the shortcut


@pytest.mark.parametrize(
    "text",
    [
        f"+1415{ARABIC_FIVE * 3}0111",
        f"415{ARABIC_FIVE * 3}0111",
        "+14155550111\n",
        "+1 415 555 0111",
        "(415) 555-0111",
    ],
)
def test_other_shapes_still_go_through_phonenumbers(text):
    assert _ours(text) == _by_phonenumbers(text)
