"""Keep StatsHour: recount hours of leads, refusals, calls and deliveries (SPEC §13).

The dashboard read a million rows per request (0.8 s for a week, 2.7 s for 90 days
at 1 M rows each, bench/README.md); it now reads hourly rollups. ``refresh``
recounts a window of hours from the raw tables (one grouped aggregate per table,
over its time index) and replaces that window's rollups in one transaction, under
a lock so two workers never interleave. The worker's sweeper refreshes:
- the last 2 hours every minute (new pixels, calls and first attempts);
- the last 48 hours every 15 minutes (conversions and retries that come later);
- the last ``REJECTED_PIXEL_DAYS`` days once a day (and when it starts).
A conversion of a call that started more than 2 hours ago refreshes that call's
hour when it commits. Figures are attributed to the hour a row began (a lead's
receipt, a call's start, a delivery's creation), so a late change rewrites an old
hour, which is why windows are recounted rather than incremented. Refused pixels
are kept only ``REJECTED_PIXEL_DAYS``; older hours keep the count they had.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone

from ..models import Call, DeliveryStatus, Lead, PostbackDelivery, RejectedPixel, StatsHour

ROLLUP_LOCK = 4402  # pg_advisory_xact_lock key (4401 is matching's)
RECENT = timedelta(hours=2)
LATE = timedelta(hours=48)


def floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def refresh(start: datetime, end: datetime) -> int:
    """Recount the hours in [start, end) (widened to whole hours); return rows written."""
    start, end = floor_hour(start), floor_hour(end - timedelta(microseconds=1)) + timedelta(hours=1)
    counted = _count(start, end)
    keep_rejected_before = timezone.now() - timedelta(days=settings.REJECTED_PIXEL_DAYS)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ROLLUP_LOCK])
        window = StatsHour.objects.filter(hour__gte=start, hour__lt=end)
        # Refusals older than their retention are gone from the raw table: keep the
        # count those hours had rather than recount them as none.
        for hour, offer_id, source_id, rejected in window.filter(
            hour__lt=keep_rejected_before, pixels_rejected__gt=0
        ).values_list("hour", "offer_id", "traffic_source_id", "pixels_rejected"):
            counted.setdefault((hour, offer_id, source_id), {})["pixels_rejected"] = rejected
        window.delete()
        StatsHour.objects.bulk_create(
            StatsHour(hour=hour, offer_id=offer_id, traffic_source_id=source_id, **figures)
            for (hour, offer_id, source_id), figures in counted.items()
        )
    return len(counted)


def refresh_hour_of(moment: datetime) -> None:
    """Recount the hour ``moment`` falls in, after the current transaction commits."""
    if timezone.now() - moment > RECENT:  # recent hours are recounted every minute anyway
        transaction.on_commit(lambda: refresh(moment, moment + timedelta(microseconds=1)))


def _count(start: datetime, end: datetime) -> dict:
    """Figures per (hour, offer id, source id) from the raw tables, hours in [start, end)."""
    counted: dict = {}

    def add(rows, names):
        for row in rows:
            key = (row["rollup_hour"], row["rollup_offer"], row["rollup_source"])
            figures = counted.setdefault(key, {})
            for name in names:
                figures[name] = figures.get(name, 0) + (row[name] or 0)

    def grouped(queryset, time_field, offer_path, source_path):
        return (
            queryset.filter(**{f"{time_field}__gte": start, f"{time_field}__lt": end})
            .annotate(
                rollup_hour=TruncHour(time_field),
                rollup_offer=F(offer_path),
                rollup_source=F(source_path),
            )
            .values("rollup_hour", "rollup_offer", "rollup_source")
            .order_by()
        )

    add(
        grouped(Lead.objects, "received_at", "offer_id", "traffic_source_id").annotate(
            pixels_accepted=Count("pk")
        ),
        ["pixels_accepted"],
    )
    add(
        grouped(RejectedPixel.objects, "received_at", "offer_id", "traffic_source_id").annotate(
            pixels_rejected=Count("pk")
        ),
        ["pixels_rejected"],
    )
    converted = Q(offer_converted=True)
    buyer_converted = Q(buyer_converted=True)
    add(
        grouped(Call.objects, "started_at", "offer_id", "traffic_source_id").annotate(
            calls=Count("pk"),
            matched_calls=Count("pk", filter=Q(lead__isnull=False)),
            conversions=Count("pk", filter=converted),
            payout=Sum("payout", filter=converted),
            buyer_conversions=Count("pk", filter=buyer_converted),
            revenue=Sum("revenue", filter=buyer_converted),
        ),
        ["calls", "matched_calls", "conversions", "payout", "buyer_conversions", "revenue"],
    )
    waiting = Q(status__in=[DeliveryStatus.RETRYING, DeliveryStatus.PENDING])
    add(
        grouped(
            PostbackDelivery.objects.filter(is_test=False),
            "created_at",
            "call__offer_id",
            "call__traffic_source_id",
        ).annotate(
            postbacks_delivered=Count("pk", filter=Q(status=DeliveryStatus.DELIVERED)),
            # Pending ones are about to be sent: with the retrying, not yet delivered.
            postbacks_retrying=Count("pk", filter=waiting),
            postbacks_failed=Count("pk", filter=Q(status=DeliveryStatus.FAILED)),
            postbacks_skipped=Count("pk", filter=Q(status=DeliveryStatus.SKIPPED)),
        ),
        ["postbacks_delivered", "postbacks_retrying", "postbacks_failed", "postbacks_skipped"],
    )
    return counted
