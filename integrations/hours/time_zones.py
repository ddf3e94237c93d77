"""Time zones people pick: their own country's first, and only zones with real rules.

A legacy abbreviation such as ``EST`` is a fixed offset in the tz database (no
daylight saving), while the forms promise "daylight saving included": a schedule
set to EST would call New York an hour off half the year. Such names are refused
with the regional zone to use instead.
"""

import zoneinfo
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from django.core.exceptions import ValidationError

from ..rules.phones import DEFAULT_REGION

# The account's country (DEFAULT_REGION) first, in the picker.
COUNTRY_ZONES = {
    "US": [
        ("America/New_York", "Eastern (New York)"),
        ("America/Chicago", "Central (Chicago)"),
        ("America/Denver", "Mountain (Denver)"),
        ("America/Phoenix", "Arizona (no daylight saving)"),
        ("America/Los_Angeles", "Pacific (Los Angeles)"),
        ("America/Anchorage", "Alaska (Anchorage)"),
        ("Pacific/Honolulu", "Hawaii (Honolulu)"),
    ],
}
# What a legacy name most likely meant.
REGIONAL = {
    "EST": "America/New_York",
    "EST5EDT": "America/New_York",
    "CST6CDT": "America/Chicago",
    "MST": "America/Denver or America/Phoenix",
    "MST7MDT": "America/Denver",
    "PST8PDT": "America/Los_Angeles",
    "HST": "Pacific/Honolulu",
}
NEUTRAL = {"UTC", "Etc/UTC"}


def validate_time_zone(value: str) -> None:
    if value in REGIONAL or (
        value not in NEUTRAL and ("/" not in value or value.startswith("Etc/"))
    ):
        instead = REGIONAL.get(value, "a regional name such as America/New_York")
        raise ValidationError(
            f"{value!r} is a fixed offset without daylight saving; use {instead} "
            "(its clocks change when the callers' do)."
        )
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            f"{value!r} is not a time zone name such as America/New_York."
        ) from None


# The tz database's list of canonical zones: no backward-compatible aliases such as
# US/Eastern or Asia/Calcutta, which only point at another zone.
ZONE_TABLES = [Path(path) / "zone1970.tab" for path in zoneinfo.TZPATH]


@lru_cache(maxsize=1)
def canonical_zones() -> tuple[str, ...]:
    for table in ZONE_TABLES:
        if table.is_file():
            lines = table.read_text().splitlines()
            names = {line.split("\t")[2] for line in lines if line and not line.startswith("#")}
            return tuple(sorted(names))
    # No table on this system: every regional name (aliases included) rather than none.
    return tuple(
        sorted(
            name
            for name in zoneinfo.available_timezones()
            if "/" in name and not name.startswith(("Etc/", "SystemV/"))
        )
    )


def _with_local_time(name: str, label: str) -> tuple[str, str]:
    now = datetime.now(zoneinfo.ZoneInfo(name))
    return name, f"{label} — {now:%H:%M} now"


def time_zone_choices() -> list:
    """Grouped choices: the account's country's zones, then every canonical zone, each
    with its local time now (evaluated each time the form is shown)."""
    own = COUNTRY_ZONES.get(DEFAULT_REGION, [])
    return [
        (
            f"{DEFAULT_REGION} (this account's country)",
            [_with_local_time(name, label) for name, label in own],
        ),
        (
            "All time zones",
            [_with_local_time(name, name) for name in ("UTC", *canonical_zones())],
        ),
    ]
