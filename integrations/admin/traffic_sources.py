from django.contrib import admin
from django.db.models import Count

from ..models import Call, TrafficSource
from .links import changelist_link


@admin.register(TrafficSource)
class TrafficSourceAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "traffic_source_id",
        "company",
        "platform",
        "active",
        "offer_count",
        "call_count",
    ]
    list_filter = ["active", "platform"]
    search_fields = ["name", "company", "traffic_source_id"]
    readonly_fields = ["created_at", "updated_at"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(_offers=Count("offers", distinct=True), _calls=Count("calls", distinct=True))
        )

    @admin.display(description="offers", ordering="_offers")
    def offer_count(self, source):
        return source._offers

    @admin.display(description="calls", ordering="_calls")
    def call_count(self, source):
        return changelist_link(Call, source._calls, traffic_source__id__exact=source.pk)
