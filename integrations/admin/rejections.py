import json
from datetime import timedelta

from django.conf import settings
from django.contrib import admin
from django.db.models import Q
from django.utils import timezone
from django.utils.html import format_html
from rangefilter.filters import DateRangeFilter

from ..models import RejectedPixel
from .big_tables import BigTableAdmin, phone_variants
from .csv_export import CsvExportMixin
from .leads import ReadOnlyMixin
from .links import changelist_link


@admin.register(RejectedPixel)
class RejectedPixelAdmin(CsvExportMixin, ReadOnlyMixin, BigTableAdmin):
    # What a partner needs to fix its pixels; the raw body stays on the page (it may
    # hold a partner's data beyond the fields, already redacted of lead tokens).
    csv_columns = (
        ("received_at", lambda pixel: pixel.received_at),
        ("status_code", lambda pixel: pixel.status_code),
        ("offer", lambda pixel: str(pixel.offer or "")),
        (
            "traffic_source",
            lambda pixel: pixel.traffic_source.name if pixel.traffic_source_id else "",
        ),
        ("traffic_source_id_sent", lambda pixel: pixel.traffic_source_id_sent),
        ("caller_id", lambda pixel: pixel.caller_id),
        ("errors", lambda pixel: "; ".join(map(str, pixel.errors or []))),
        ("source_ip", lambda pixel: pixel.source_ip),
    )
    list_display = [
        "received_at",
        "status_code",
        "offer",
        "traffic_source_label",
        "first_error",
        "caller_id",
        "source_ip",
    ]
    list_filter = [
        ("received_at", DateRangeFilter),
        "received_at",
        "status_code",
        "offer",
        "traffic_source",
    ]
    list_select_related = ["offer", "traffic_source"]
    search_fields = ["caller_id", "source_ip"]
    search_help_text = "Caller id in any format, or the sender's exact IP address."
    fields = [
        "received_at",
        "status_code",
        "errors_list",
        "offer",
        "traffic_source_label",
        "caller_id",
        "content_type",
        "source_ip",
        "user_agent",
        "raw_query",
        "body_pretty",
    ]
    readonly_fields = fields

    def search_conditions(self, term):
        conditions = Q(caller_id__in=phone_variants(term))
        if term.count(".") == 3 or ":" in term:
            conditions |= Q(source_ip=term)
        return conditions

    @admin.display(description="traffic source")
    def traffic_source_label(self, pixel):
        if pixel.traffic_source_id:
            return pixel.traffic_source
        return pixel.traffic_source_id_sent or "—"

    @admin.display(description="error")
    def first_error(self, pixel):
        errors = pixel.errors or []
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        return f"{errors[0][:120]}{more}" if errors else "—"

    @admin.display(description="errors")
    def errors_list(self, pixel):
        return format_html("<pre>{}</pre>", "\n".join(pixel.errors or []) or "—")

    @admin.display(description="body (lead token cut to 4 characters)")
    def body_pretty(self, pixel):
        try:
            text = json.dumps(json.loads(pixel.raw_body), indent=2, ensure_ascii=False)
        except ValueError:
            text = pixel.raw_body
        return format_html('<pre class="raw-body">{}</pre>', text or "—")


def rejected_pixels_link(**filters):
    """'N in the last 7 days' linking to the rejected pixels of an offer or source."""
    days = settings.REJECTED_PIXEL_DAYS
    since = timezone.now() - timedelta(days=days)
    lookup = {key.replace("__id__exact", "_id"): value for key, value in filters.items()}
    count = RejectedPixel.objects.filter(received_at__gte=since, **lookup).count()
    return changelist_link(RejectedPixel, f"{count} in the last {days} days", **filters)
