"""When a schedule may call: weekdays and hours in a time zone (SPEC §12).

Pure rules, no database. Times are compared on the wall clock of the schedule's
zone, so "9:00-20:00 America/New_York" means 9 to 8 in New York in winter and in
summer alike: the UTC hours move by one across a daylight-saving change.
"""

import re
import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class ContactWindow:
    days: frozenset[int]  # ISO weekdays, 1 = Monday … 7 = Sunday
    start: time
    end: time  # exclusive
    time_zone: str
    # Hours of their own for some weekdays (TrackDrive's hours per weekday): day → (start, end).
    day_hours: dict = field(default_factory=dict, compare=False)

    def hours_on(self, weekday: int) -> tuple[time, time]:
        return self.day_hours.get(weekday, (self.start, self.end))

    def is_open(self, at: datetime) -> bool:
        """True when ``at`` (aware) falls inside the window."""
        local = at.astimezone(zoneinfo.ZoneInfo(self.time_zone))
        start, end = self.hours_on(local.isoweekday())
        return local.isoweekday() in self.days and start <= local.time() < end

    def next_opening(self, at: datetime) -> datetime | None:
        """The first instant at or after ``at`` inside the window (None: never opens)."""
        if not self.days:
            return None
        if self.is_open(at):
            return at
        zone = zoneinfo.ZoneInfo(self.time_zone)
        local = at.astimezone(zone)
        for offset in range(8):
            day = local.date() + timedelta(days=offset)
            if day.isoweekday() not in self.days:
                continue
            # fold=0 and zoneinfo's normalisation: a start inside a skipped hour
            # (spring forward) opens at the first valid instant after it.
            opening = datetime.combine(day, self.hours_on(day.isoweekday())[0], tzinfo=zone)
            opening = opening.astimezone(zoneinfo.ZoneInfo("UTC")).astimezone(zone)
            if opening > local:
                return opening
        return None


_DAY_HOURS = re.compile(
    r"^\s*(?P<day>[A-Za-z]{3})[a-z]*\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*$"
)


def parse_day_hours(text: str) -> dict[int, tuple[time, time]]:
    """Read "Sat 10:00-14:00; Sun 12:00-16:00" into {6: (10:00, 14:00), 7: (…)}.

    ValueError names the part that cannot be read and what it should look like.
    """
    hours: dict[int, tuple[time, time]] = {}
    for part in filter(None, (piece.strip() for piece in text.replace("\n", ";").split(";"))):
        found = _DAY_HOURS.match(part)
        day = found and found["day"].title()
        if not found or day not in DAY_NAMES:
            raise ValueError(f"{part!r}: write a day and its hours, e.g. 'Sat 10:00-14:00'")
        try:
            start, end = (
                time.fromisoformat(found["start"].zfill(5)),
                time.fromisoformat(found["end"].zfill(5)),
            )
        except ValueError:
            raise ValueError(f"{part!r}: hours are HH:MM, 00:00 to 23:59") from None
        if start >= end:
            raise ValueError(f"{part!r}: the hours must start before they end")
        hours[DAY_NAMES.index(day) + 1] = (start, end)
    return hours


def day_hours_text(hours: dict[int, tuple[time, time]]) -> str:
    return "; ".join(
        f"{DAY_NAMES[day - 1]} {start:%H:%M}-{end:%H:%M}"
        for day, (start, end) in sorted(hours.items())
    )
