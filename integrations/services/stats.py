"""The business at a glance: pixels, calls, conversions, payout, postbacks (SPEC §13).

One function, ``stats``, answers the dashboard and ``GET /api/v1/stats``: for a
period (whole hours), optionally one offer and one traffic source, the figures
grouped by day, hour, offer or traffic source. It reads the hourly rollups that
the worker keeps (``services.rollups``, ``StatsHour``): one small aggregate,
whatever the size of the raw tables. Rollups lag the raw tables by up to a minute.

What each figure counts, within the period:
- pixels accepted: leads received; pixels rejected: refusals received;
- calls: calls started; matched: those with a lead; conversions and payout: those
  offer-converted (payout summed), by the call's start; buyer conversions and
  revenue likewise for the buyer side;
- postbacks: real (not test) deliveries created, by their status when last counted
  (pending ones count as retrying).
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import F, Sum
from django.db.models.functions import TruncDay

from ..models import Offer, StatsHour, TrafficSource

GROUPS = ("day", "hour", "offer", "traffic_source")
CENTS = Decimal("0.01")
MAX_PERIOD = timedelta(days=400)
COUNTS = (
    "pixels_accepted",
    "pixels_rejected",
    "calls",
    "matched_calls",
    "conversions",
    "buyer_conversions",
    "postbacks_delivered",
    "postbacks_retrying",
    "postbacks_failed",
    "postbacks_skipped",
)


AMOUNTS = ("payout", "revenue")


def zero_figures() -> dict:
    return dict.fromkeys(COUNTS, 0) | dict.fromkeys(AMOUNTS, Decimal("0.00"))


@dataclass
class StatsRow:
    key: str
    label: str
    figures: dict = field(default_factory=zero_figures)


@dataclass
class Stats:
    start: datetime
    end: datetime
    group_by: str
    rows: list[StatsRow]

    @property
    def totals(self) -> dict:
        totals = zero_figures()
        for row in self.rows:
            for name, value in row.figures.items():
                totals[name] += value
        return totals


def stats(
    *,
    start: datetime,
    end: datetime,
    group_by: str = "day",
    offer_id: int | None = None,
    traffic_source_id: int | None = None,
) -> Stats:
    """The figures for the hours in [start, end), grouped by ``group_by`` (one of GROUPS)."""
    if group_by not in GROUPS:
        raise ValueError(f"group_by must be one of {', '.join(GROUPS)}")
    hours = StatsHour.objects.filter(hour__gte=start, hour__lt=end)
    if offer_id is not None:
        hours = hours.filter(offer_id=offer_id)
    if traffic_source_id is not None:
        hours = hours.filter(traffic_source_id=traffic_source_id)
    grouping = {
        "day": TruncDay("hour"),
        "hour": F("hour"),
        "offer": F("offer_id"),
        "traffic_source": F("traffic_source_id"),
    }[group_by]
    totals = (
        hours.annotate(group=grouping)
        .values("group")
        .order_by("group")
        .annotate(**{name: Sum(name) for name in (*COUNTS, *AMOUNTS)})
    )
    rows = []
    for row in totals:
        key = _key_text(row.pop("group"), group_by)
        figures = zero_figures()
        figures.update({name: value for name, value in row.items() if value is not None})
        for name in AMOUNTS:
            figures[name] = Decimal(figures[name]).quantize(CENTS)
        rows.append(StatsRow(key=key, label=key, figures=figures))
    rows.sort(key=lambda row: row.key)
    _label(rows, group_by)
    return Stats(start=start, end=end, group_by=group_by, rows=rows)


def _key_text(key, group_by: str) -> str:
    if key is None:
        return "none"
    if group_by == "day":
        return key.date().isoformat()
    if group_by == "hour":
        return key.strftime("%Y-%m-%dT%H:00")
    return str(key)


def _label(rows: list[StatsRow], group_by: str) -> None:
    """Offers and sources are keyed by id; give them their names."""
    if group_by not in ("offer", "traffic_source"):
        return
    model = Offer if group_by == "offer" else TrafficSource
    ids = [int(row.key) for row in rows if row.key.isdigit()]
    names = dict(model.objects.filter(pk__in=ids).values_list("pk", "name"))
    for row in rows:
        if row.key.isdigit():
            row.label = names.get(int(row.key), row.key)
