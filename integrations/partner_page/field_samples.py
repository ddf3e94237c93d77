"""Sample values that pass an offer's contact-field rules, for the partner's test curl.

The posting-instructions page promises that its curl example answers 201 (SPEC §8),
so every field it carries must pass the offer's type, pattern and acceptable-values
rules. A value is taken from the acceptable values when there are some, made from
the pattern when there is one (by walking the parsed regex: optional parts left
out, the fewest repetitions, the first alternative, the first character of each
class), else typical of the
type. The caller checks the result against the real rules; a pattern this walk
cannot satisfy (back-references, look-arounds, negated classes) yields None.
"""

import re
from re import _constants as sre  # the parser's node names; stable from 3.11 to 3.13
from re import _parser as sre_parse

TYPICAL = {
    "string": "Test",
    "integer": "42",
    "decimal": "12.50",
    "boolean": "true",
    "datetime": "2026-01-15T14:00:00Z",
    "phone": "+18005551234",
    "email": "partner@example.com",
    "url": "https://example.com/",
}

_CATEGORY_SAMPLE = {
    sre.CATEGORY_DIGIT: "1",
    sre.CATEGORY_NOT_DIGIT: "a",
    sre.CATEGORY_WORD: "a",
    sre.CATEGORY_NOT_WORD: "-",
    sre.CATEGORY_SPACE: " ",
    sre.CATEGORY_NOT_SPACE: "a",
}


class _Unsupported(Exception):
    pass


def sample_value(field_type: str, pattern: str, acceptable_values: tuple[str, ...]) -> str | None:
    """A value for a field with these rules, or None when none could be made."""
    if acceptable_values:
        return acceptable_values[0]
    if pattern:
        return sample_matching(pattern)
    return TYPICAL.get(field_type, TYPICAL["string"])


def sample_matching(pattern: str) -> str | None:
    """A short string the regular expression ``pattern`` fully matches, or None."""
    try:
        tree = sre_parse.parse(pattern)
        # Optional parts left out first (a zip code without its +4), then each taken
        # once, for a pattern whose shortest match is empty (a required field).
        candidates = (_emit(tree, optional=0), _emit(tree, optional=1))
        return next((text for text in candidates if text and re.fullmatch(pattern, text)), None)
    except (_Unsupported, re.error, ValueError, TypeError):
        return None


def _emit(items, optional: int) -> str:
    out = []
    for op, arg in items:
        if op is sre.LITERAL:
            out.append(chr(arg))
        elif op is sre.ANY:
            out.append("a")
        elif op is sre.IN:
            out.append(_from_class(arg))
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", None)):
            low, high, sub = arg
            out.append(_emit(sub, optional) * min(max(low, optional), high))
        elif op is sre.SUBPATTERN:
            out.append(_emit(arg[-1], optional))
        elif op is sre.ATOMIC_GROUP:
            out.append(_emit(arg, optional))
        elif op is sre.BRANCH:
            out.append(_emit(arg[1][0], optional))
        elif op is sre.AT:
            continue  # ^ $ \b: anchors add no characters
        else:
            raise _Unsupported(op)
    return "".join(out)


def _from_class(items) -> str:
    for op, arg in items:
        if op is sre.NEGATE:
            raise _Unsupported(op)
        if op is sre.LITERAL:
            return chr(arg)
        if op is sre.RANGE:
            return chr(arg[0])
        if op is sre.CATEGORY and arg in _CATEGORY_SAMPLE:
            return _CATEGORY_SAMPLE[arg]
    raise _Unsupported(items)
