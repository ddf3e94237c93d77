"""Moments in API queries: ISO 8601, a date, or TrackDrive's "2016-01-01 12:25:15 -0500".

TrackDrive's documented examples write the offset after a space, or as " UTC", and
put it in a URL unencoded, so "+0000" arrives as " 0000" (a "+" in a query string is
a space). All of these name the same moment; a date alone is midnight in TIME_ZONE.
"""

import re
from datetime import datetime, time

from django.utils import timezone

from .errors import Rejected

# The years a period may name: none of the portal's rows is older, and arithmetic
# near datetime's limits (year 1, year 9999) overflows.
FIRST_YEAR, LAST_YEAR = 2000, 2100

# A time, then a space and an offset whose sign may be a decoded "+" (a space).
SPACED_OFFSET = re.compile(r"(\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s+([+-]?)(\d{2}):?(\d{2})$")
NAMED_UTC = re.compile(r"\s+(?:UTC|GMT|Z)$", re.IGNORECASE)


def parse_moment(text: str, name: str) -> datetime:
    """A date (midnight in TIME_ZONE) or an ISO date-time; Rejected (422) otherwise."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Rejected(422, [f"{name}: {text!r} is not a date (YYYY-MM-DD) or date-time"]) from None
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        # Year 1 or 9999 overflows once moved to UTC or widened to whole hours.
        raise Rejected(422, [f"{name}: must be a date between {FIRST_YEAR} and {LAST_YEAR}"])
    if len(text) == 10:
        moment = datetime.combine(moment.date(), time.min)
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def trackdrive_moment(text: str, name: str) -> datetime:
    """``parse_moment`` that also reads TrackDrive's spaced offsets and " UTC"."""
    text = NAMED_UTC.sub("+00:00", text.strip())
    text = SPACED_OFFSET.sub(
        lambda found: f"{found[1]}{found[2] or '+'}{found[3]}:{found[4]}", text
    )
    return parse_moment(text, name)
