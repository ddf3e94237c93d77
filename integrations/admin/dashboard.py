"""The account managers' dashboard on the admin home (SPEC §13): a period, totals, charts.

The figures are services.stats' (the same as GET /api/v1/stats), for the last
1, 7, 30 or 90 days, optionally one offer and one traffic source; by hour for one
day, else by day. Charts are inline SVG (admin/charts.py).
"""

import time as time_module
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Max, Sum
from django.utils import timezone

from ..models import (
    DUE_STATUSES,
    Call,
    DeliveryStatus,
    Event,
    Offer,
    PostbackDelivery,
    StatsHour,
    TrafficSource,
)
from ..services import paid, rollups
from ..services.reconciliation import open_differences
from ..services.rollups import floor_hour
from ..services.stats import stats
from ..services.trigger_health import failing_hosts
from .charts import bar_chart

PERIODS = (1, 7, 30, 90)


@dataclass
class Dashboard:
    days: int
    offer_id: int | None
    source_id: int | None
    offers: list
    sources: list
    totals: dict
    charts: list
    failing_hosts: list
    # Rows of each partner's latest reconciliation that differ, not reviewed yet.
    open_differences: int = 0
    # Conversions of the period whose postback has not reached Ringba: (count, payout).
    at_stake: tuple = (0, Decimal("0.00"))
    counted_at: datetime | None = None  # when the period's rollups were last counted
    periods: tuple = PERIODS

    @property
    def matched_share(self) -> str:
        calls = self.totals["calls"]
        return f"{100 * self.totals['matched_calls'] / calls:.0f} %" if calls else "—"


def _int(value) -> int | None:
    return int(value) if isinstance(value, str) and value.isascii() and value.isdigit() else None


def build(params) -> Dashboard:
    days = _int(params.get("days")) or 7
    days = days if days in PERIODS else 7
    offer_id, source_id = _int(params.get("offer")), _int(params.get("source"))
    count_current_hour()
    end = timezone.make_aware(datetime.combine(timezone.localdate(), time.min)) + timedelta(days=1)
    start = end - timedelta(days=days)
    group_by = "hour" if days == 1 else "day"
    result = stats(
        start=start, end=end, group_by=group_by, offer_id=offer_id, traffic_source_id=source_id
    )
    rows = {row.key: row.figures for row in result.rows}
    labels = _period_keys(start, days, group_by)
    empty = dict.fromkeys(result.totals, 0)

    def series(name):
        return [rows.get(label, empty)[name] for label in labels]

    axis = {"x_label": "hour of the day" if group_by == "hour" else "day", "y_label": "count"}
    charts = [
        bar_chart(
            "Pixels and calls",
            labels,
            [
                ("pixels", "chart-a", series("pixels_accepted")),
                ("calls", "chart-b", series("calls")),
                ("conversions", "chart-c", series("conversions")),
            ],
            **axis,
        ),
        bar_chart(
            "Payout ($)",
            labels,
            [("payout", "chart-c", series("payout"))],
            **{**axis, "y_label": "payout ($)"},
        ),
        bar_chart(
            "Postbacks",
            labels,
            [
                ("delivered", "chart-b", series("postbacks_delivered")),
                ("retrying", "chart-a", series("postbacks_retrying")),
                ("failed", "chart-bad", series("postbacks_failed")),
            ],
            **axis,
        ),
    ]
    return Dashboard(
        days=days,
        offer_id=offer_id,
        source_id=source_id,
        offers=list(Offer.objects.order_by("name").values_list("pk", "name")),
        sources=list(TrafficSource.objects.order_by("name").values_list("pk", "name")),
        totals=result.totals,
        charts=charts,
        failing_hosts=list(failing_hosts()),
        open_differences=open_differences(),
        at_stake=not_reported_yet(start, end, offer_id=offer_id, source_id=source_id),
        counted_at=StatsHour.objects.filter(hour__gte=start, hour__lt=end).aggregate(
            at=Max("counted_at")
        )["at"],
    )


def not_reported_yet(start, end, *, offer_id=None, source_id=None) -> tuple[int, Decimal]:
    """Calls of the period converted here whose conversion postback Ringba has not
    accepted (pending, retrying or failed, no payment): how many, and their payout.

    Read from the deliveries not delivered (a small set, by their status), never by
    scanning the period's calls.
    """
    waiting = PostbackDelivery.objects.filter(
        event=Event.CALL_OFFER_CONVERTED,
        is_test=False,
        status__in=[*DUE_STATUSES, DeliveryStatus.FAILED],
        call__offer_converted=True,
        call__started_at__gte=start,
        call__started_at__lt=end,
    ).exclude(paid.is_paid("call"))
    if offer_id is not None:
        waiting = waiting.filter(call__offer_id=offer_id)
    if source_id is not None:
        waiting = waiting.filter(call__traffic_source_id=source_id)
    calls = Call.objects.filter(pk__in=waiting.values("call_id"))
    figures = calls.aggregate(count=Count("pk"), payout=Sum("payout"))
    return figures["count"], (figures["payout"] or Decimal("0.00")).quantize(Decimal("0.01"))


# The current hour is recounted when the dashboard is shown, at most this often per
# process: "live" without a write per page view.
LIVE_EVERY_SECONDS = 10
_last_live_count = [0.0]


def count_current_hour() -> None:
    now = time_module.monotonic()
    if now - _last_live_count[0] < LIVE_EVERY_SECONDS:
        return
    _last_live_count[0] = now
    hour = floor_hour(timezone.now())
    rollups.refresh(hour, hour + timedelta(hours=1))


def _period_keys(start: datetime, days: int, group_by: str) -> list[str]:
    """Every day (or hour) of the period, so quiet ones show as empty, not missing."""
    local = timezone.localtime(start)
    if group_by == "hour":
        return [(local + timedelta(hours=h)).strftime("%Y-%m-%dT%H:00") for h in range(24)]
    return [(local + timedelta(days=d)).date().isoformat() for d in range(days)]
