"""When a schedule may call: weekdays and hours in a time zone (SPEC §12).

Pure rules, no database. Times are compared on the wall clock of the schedule's
zone, so "9:00-20:00 America/New_York" means 9 to 8 in New York in winter and in
summer alike: the UTC hours move by one across a daylight-saving change.
"""

import zoneinfo
from dataclasses import dataclass
from datetime import datetime, time, timedelta


@dataclass(frozen=True)
class ContactWindow:
    days: frozenset[int]  # ISO weekdays, 1 = Monday … 7 = Sunday
    start: time
    end: time  # exclusive
    time_zone: str

    def is_open(self, at: datetime) -> bool:
        """True when ``at`` (aware) falls inside the window."""
        local = at.astimezone(zoneinfo.ZoneInfo(self.time_zone))
        return local.isoweekday() in self.days and self.start <= local.time() < self.end

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
            opening = datetime.combine(day, self.start, tzinfo=zone)
            opening = opening.astimezone(zoneinfo.ZoneInfo("UTC")).astimezone(zone)
            if opening > local:
                return opening
        return None
