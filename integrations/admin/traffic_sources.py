from django.contrib import admin

from ..models import Call, Lead, Offer, TrafficSource
from .big_tables import PageFiguresAdmin, count_of, newest_of
from .history import ConfigHistoryAdmin
from .links import when_link
from .rejections import rejected_pixels_link


@admin.register(TrafficSource)
class TrafficSourceAdmin(ConfigHistoryAdmin, PageFiguresAdmin):
    list_display = [
        "name",
        "traffic_source_id",
        "company",
        "platform",
        "active",
        "offer_count",
        "last_pixel",
        "last_call",
    ]
    list_filter = ["active", "platform"]
    search_fields = ["name", "company", "traffic_source_id"]
    readonly_fields = ["rejected_pixels", "created_at", "updated_at"]

    def list_annotations(self):
        # Newest rows, not counts: a partner's total calls would read all of them.
        return {
            "_offers": count_of(Offer.traffic_sources.through, "trafficsource"),
            "_last_pixel": newest_of(Lead, "traffic_source", "received_at"),
            "_last_call": newest_of(Call, "traffic_source", "started_at"),
        }

    @admin.display(description="rejected pixels")
    def rejected_pixels(self, source):
        if not source.pk:
            return "—"
        return rejected_pixels_link(traffic_source__id__exact=source.pk)

    @admin.display(description="offers")
    def offer_count(self, source):
        return source._offers

    @admin.display(description="last pixel")
    def last_pixel(self, source):
        return when_link(Lead, source._last_pixel, traffic_source__id__exact=source.pk)

    @admin.display(description="last call")
    def last_call(self, source):
        return when_link(Call, source._last_call, traffic_source__id__exact=source.pk)
