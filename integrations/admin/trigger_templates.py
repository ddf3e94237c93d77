"""Ringba trigger templates: read-only, shipped by migrations; each lists the triggers
made from it."""

from django.contrib import admin
from django.db.models import Count

from ..models import TriggerTemplate


@admin.register(TriggerTemplate)
class TriggerTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "event", "http_method", "trigger_count"]
    readonly_fields = [
        "slug",
        "name",
        "description",
        "event",
        "conditions",
        "http_method",
        "url_template",
        "mapping_token_names",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_triggers=Count("triggers"))

    @admin.display(description="triggers", ordering="_triggers")
    def trigger_count(self, template):
        return template._triggers

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False
