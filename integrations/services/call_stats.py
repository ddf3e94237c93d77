"""TrackDrive's ``GET /api/v1/calls/stats``: calls grouped one way, one figure per group.

TrackDrive groups by a call attribute (``buyer_converted``, ``offer_converted``,
``status``) or a slice of its creation time (five minutes, day, week, month) and
sums one figure (``count`` or ``revenue``; the portal keeps no cost, so neither
``cost`` nor ``profit``). Unlike the dashboard's figures (``services.stats``, from
hourly rollups) these groups need the raw call rows: five-minute slices and the
conversion flags are not in the rollups. The period is bounded (``MAX_PERIOD``,
``MAX_FIVE_MINUTE_PERIOD``) so one request reads at most a bounded slice of the
calls, through the started_at index.

A call's "created at" here is its ``started_at``: when the call began, as the
telephony side reported it (the same moment TrackDrive stamps on a call it routes).
Time groups are in TIME_ZONE, and every slice of the period is listed, empty ones
with 0, so a chart needs no gap filling. Attribute groups list every value.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import BooleanField, Count, ExpressionWrapper, Q, QuerySet, Sum
from django.db.models.functions import TruncDay, TruncMinute, TruncMonth, TruncWeek
from django.utils import timezone

TIME_GROUPS = (
    "created_at_five_minutes",
    "created_at_day",
    "created_at_week",
    "created_at_month",
)
ATTRIBUTE_GROUPS = ("buyer_converted", "offer_converted", "status")
GROUPS = (*ATTRIBUTE_GROUPS, *TIME_GROUPS)
STATS = ("count", "revenue")
# TrackDrive's figures the portal has no data for, and why (the 422 says it).
STATS_WITHOUT_DATA = {
    "cost": "the portal records no cost per call (TrackDrive's is its telephony and partner "
    "cost); payout to partners is in GET /api/v1/stats (stat=payout)",
    "profit": "profit is revenue minus cost, and the portal records no cost per call",
}
MAX_PERIOD = timedelta(days=400)
MAX_FIVE_MINUTE_PERIOD = timedelta(days=7)
CENTS = Decimal("0.01")
FIVE_MINUTES = timedelta(minutes=5)


@dataclass(frozen=True)
class GroupFigure:
    group: str
    value: int | Decimal


def call_stats(
    calls: QuerySet, *, group_by: str, stat: str, start: datetime, end: datetime
) -> list[GroupFigure]:
    """``stat`` per ``group_by`` for ``calls`` started in [start, end] (both included)."""
    if group_by not in GROUPS:
        raise ValueError(f"group_by must be one of {', '.join(GROUPS)}")
    if stat not in STATS:
        raise ValueError(f"stat must be one of {', '.join(STATS)}")
    calls = calls.filter(started_at__gte=start, started_at__lte=end)
    figure = (
        Count("id")
        if stat == "count"
        else Sum("revenue", filter=Q(buyer_converted=True, revenue__isnull=False))
    )
    if group_by in ATTRIBUTE_GROUPS:
        found = _by_attribute(calls, group_by, figure)
        groups = ["false", "true"] if group_by != "status" else ["completed", "in-progress"]
    else:
        found = _by_time(calls, group_by, figure)
        groups = _time_slices(group_by, start, end)
    zero = 0 if stat == "count" else Decimal("0.00")
    figures = [GroupFigure(group, _amount(found.get(group), zero)) for group in groups]
    # A group outside the listed ones cannot happen for these groupings; keep any
    # rather than drop a figure silently.
    figures += [
        GroupFigure(group, _amount(value, zero))
        for group, value in sorted(found.items())
        if group not in groups
    ]
    return figures


def _amount(value, zero):
    if value is None:
        return zero
    return Decimal(value).quantize(CENTS) if isinstance(zero, Decimal) else value


def _by_attribute(calls: QuerySet, group_by: str, figure) -> dict:
    if group_by == "status":
        talking = ExpressionWrapper(Q(ended_at__isnull=True), output_field=BooleanField())
        rows = calls.annotate(talking=talking).values("talking").order_by().annotate(value=figure)
        return {"in-progress" if row["talking"] else "completed": row["value"] for row in rows}
    rows = calls.values(group_by).order_by().annotate(value=figure)
    return {"true" if row[group_by] else "false": row["value"] for row in rows}


def _by_time(calls: QuerySet, group_by: str, figure) -> dict:
    zone = timezone.get_current_timezone()
    truncate = {
        # Minutes in SQL, folded into five-minute slices here: no portable SQL for it,
        # and a five-minute period is at most MAX_FIVE_MINUTE_PERIOD of minutes.
        "created_at_five_minutes": TruncMinute("started_at", tzinfo=zone),
        "created_at_day": TruncDay("started_at", tzinfo=zone),
        "created_at_week": TruncWeek("started_at", tzinfo=zone),
        "created_at_month": TruncMonth("started_at", tzinfo=zone),
    }[group_by]
    rows = calls.annotate(slice=truncate).values("slice").order_by().annotate(value=figure)
    found: dict = {}
    for row in rows:
        key = _slice_name(group_by, _slice_start(group_by, row["slice"]))
        found[key] = row["value"] if key not in found else found[key] + row["value"]
    return found


def _slice_start(group_by: str, moment: datetime) -> datetime:
    moment = timezone.localtime(moment) if timezone.is_aware(moment) else moment
    if group_by == "created_at_five_minutes":
        return moment.replace(minute=moment.minute - moment.minute % 5, second=0, microsecond=0)
    if group_by == "created_at_day":
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if group_by == "created_at_week":
        day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        return day - timedelta(days=day.weekday())
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _slice_name(group_by: str, start: datetime) -> str:
    if group_by == "created_at_five_minutes":
        return start.isoformat()
    if group_by == "created_at_month":
        return start.strftime("%Y-%m")
    return start.date().isoformat()  # a day, or a week by its Monday


def _time_slices(group_by: str, start: datetime, end: datetime) -> list[str]:
    """Every slice that overlaps [start, end], in order."""
    names = []
    moment = _slice_start(group_by, timezone.localtime(start))
    last = _slice_start(group_by, timezone.localtime(end))
    while moment <= last:
        names.append(_slice_name(group_by, moment))
        moment = _next_slice(group_by, moment)
    return names


def _next_slice(group_by: str, moment: datetime) -> datetime:
    zone = timezone.get_current_timezone()
    naive = timezone.make_naive(moment, zone)
    if group_by == "created_at_five_minutes":
        # In UTC: a wall-clock step would repeat or skip slices at a clock change.
        return timezone.localtime(moment + FIVE_MINUTES)
    if group_by == "created_at_day":
        naive += timedelta(days=1)
    elif group_by == "created_at_week":
        naive += timedelta(days=7)
    else:
        naive = naive.replace(year=naive.year + naive.month // 12, month=naive.month % 12 + 1)
    return timezone.make_aware(naive, zone)
