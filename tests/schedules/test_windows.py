"""The contact window: weekdays and hours on a zone's wall clock, across DST changes."""

from datetime import UTC, datetime, time

import pytest

from integrations.hours.windows import ContactWindow

NEW_YORK_WEEKDAYS = ContactWindow(
    days=frozenset({1, 2, 3, 4, 5}), start=time(9), end=time(17), time_zone="America/New_York"
)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [
        # Friday 6 March 2026, EST (UTC-5): 9:00 in New York is 14:00 UTC.
        (utc(2026, 3, 6, 13, 30), False),  # 8:30 EST
        (utc(2026, 3, 6, 14, 0), True),  # 9:00 EST
        (utc(2026, 3, 6, 21, 59), True),  # 16:59 EST
        (utc(2026, 3, 6, 22, 0), False),  # 17:00 EST: the end is exclusive
        # Clocks spring forward on Sunday 8 March. Monday 9 March, EDT (UTC-4):
        # 9:00 in New York is 13:00 UTC now, an hour earlier in UTC.
        (utc(2026, 3, 9, 13, 30), True),  # 9:30 EDT (was 8:30 a week before)
        (utc(2026, 3, 9, 12, 59), False),  # 8:59 EDT
        (utc(2026, 3, 9, 21, 30), False),  # 17:30 EDT
        (utc(2026, 3, 7, 15, 0), False),  # Saturday
        # Clocks fall back on Sunday 1 November: Monday 2 November is EST again.
        (utc(2026, 11, 2, 13, 30), False),  # 8:30 EST
        (utc(2026, 11, 2, 14, 0), True),  # 9:00 EST
    ],
)
def test_the_window_follows_new_york_clocks_across_dst(moment, is_open):
    assert NEW_YORK_WEEKDAYS.is_open(moment) is is_open


def test_next_opening_skips_the_weekend_and_follows_the_new_offset():
    # Friday 6 March 2026 at 17:30 EST: the next opening is Monday 9:00 EDT = 13:00 UTC.
    assert NEW_YORK_WEEKDAYS.next_opening(utc(2026, 3, 6, 22, 30)) == utc(2026, 3, 9, 13, 0)


def test_next_opening_is_now_inside_the_window_and_later_today_before_it():
    inside = utc(2026, 3, 9, 15, 0)
    assert NEW_YORK_WEEKDAYS.next_opening(inside) == inside
    assert NEW_YORK_WEEKDAYS.next_opening(utc(2026, 3, 9, 11, 0)) == utc(2026, 3, 9, 13, 0)


def test_a_window_with_no_days_never_opens():
    never = ContactWindow(days=frozenset(), start=time(9), end=time(17), time_zone="UTC")
    assert never.next_opening(utc(2026, 3, 9, 11, 0)) is None
    assert not never.is_open(utc(2026, 3, 9, 11, 0))
