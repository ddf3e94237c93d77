"""The business at a glance: pixels, calls, conversions, payout, postbacks (SPEC §13).

One function, ``stats``, answers the dashboard and ``GET /api/v1/stats``: for a
period, optionally one offer and one traffic source, the figures grouped by day,
hour, offer or traffic source. Each table is read with one grouped aggregate over
an index on its time column (leads by received_at, calls by started_at, deliveries
by created_at, refused pixels by received_at), so the cost follows the period's
rows, never the table's.

What each figure counts, within the period:
- pixels accepted: leads received; pixels rejected: refusals received (kept only
  ``REJECTED_PIXEL_DAYS``, so older periods show none);
- calls: calls started; matched: those with a lead; conversions and payout: those
  offer-converted (payout summed), by the call's start;
- postbacks: real (not test) deliveries created, by their status now.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDay, TruncHour

from ..models import (
    Call,
    DeliveryStatus,
    Lead,
    Offer,
    PostbackDelivery,
    RejectedPixel,
    TrafficSource,
)

GROUPS = ("day", "hour", "offer", "traffic_source")
MAX_PERIOD = timedelta(days=400)
COUNTS = (
    "pixels_accepted",
    "pixels_rejected",
    "calls",
    "matched_calls",
    "conversions",
    "postbacks_delivered",
    "postbacks_retrying",
    "postbacks_failed",
    "postbacks_skipped",
)


def zero_figures() -> dict:
    return dict.fromkeys(COUNTS, 0) | {"payout": Decimal("0.00")}


@dataclass
class StatsRow:
    key: str
    label: str
    figures: dict = field(
        default_factory=lambda: dict.fromkeys(COUNTS, 0) | {"payout": Decimal("0.00")}
    )


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
    """The figures for [start, end), grouped by ``group_by`` (one of GROUPS)."""
    if group_by not in GROUPS:
        raise ValueError(f"group_by must be one of {', '.join(GROUPS)}")
    rows: dict[str, StatsRow] = {}

    def add(key, figures: dict) -> None:
        text = _key_text(key, group_by)
        row = rows.setdefault(text, StatsRow(key=text, label=text))
        for name, value in figures.items():
            row.figures[name] += value or 0

    def scoped(queryset, time_field: str, offer_path: str, source_path: str):
        queryset = queryset.filter(**{f"{time_field}__gte": start, f"{time_field}__lt": end})
        if offer_id is not None:
            queryset = queryset.filter(**{offer_path: offer_id})
        if traffic_source_id is not None:
            queryset = queryset.filter(**{source_path: traffic_source_id})
        grouping = {
            "day": TruncDay(time_field),
            "hour": TruncHour(time_field),
            "offer": F(offer_path),
            "traffic_source": F(source_path),
        }[group_by]
        return queryset.annotate(group=grouping).values("group").order_by()

    for row in scoped(Lead.objects, "received_at", "offer_id", "traffic_source_id").annotate(
        n=Count("pk")
    ):
        add(row["group"], {"pixels_accepted": row["n"]})
    for row in scoped(
        RejectedPixel.objects, "received_at", "offer_id", "traffic_source_id"
    ).annotate(n=Count("pk")):
        add(row["group"], {"pixels_rejected": row["n"]})
    converted = Q(offer_converted=True)
    for row in scoped(Call.objects, "started_at", "offer_id", "traffic_source_id").annotate(
        n=Count("pk"),
        matched=Count("pk", filter=Q(lead__isnull=False)),
        conversions=Count("pk", filter=converted),
        payout=Sum("payout", filter=converted),
    ):
        add(
            row["group"],
            {
                "calls": row["n"],
                "matched_calls": row["matched"],
                "conversions": row["conversions"],
                "payout": row["payout"] or Decimal("0.00"),
            },
        )
    deliveries = scoped(
        PostbackDelivery.objects.filter(is_test=False),
        "created_at",
        "call__offer_id",
        "call__traffic_source_id",
    )
    for row in deliveries.annotate(
        **{
            f"postbacks_{status}": Count("pk", filter=Q(status=status))
            for status in (
                DeliveryStatus.DELIVERED,
                DeliveryStatus.RETRYING,
                DeliveryStatus.FAILED,
                DeliveryStatus.SKIPPED,
            )
        },
        pending=Count("pk", filter=Q(status=DeliveryStatus.PENDING)),
    ):
        add(
            row["group"],
            {
                "postbacks_delivered": row["postbacks_delivered"],
                # Pending ones are about to be sent: with the retrying, not yet delivered.
                "postbacks_retrying": row["postbacks_retrying"] + row["pending"],
                "postbacks_failed": row["postbacks_failed"],
                "postbacks_skipped": row["postbacks_skipped"],
            },
        )
    ordered = sorted(rows.values(), key=lambda row: row.key)
    _label(ordered, group_by)
    return Stats(start=start, end=end, group_by=group_by, rows=ordered)


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
