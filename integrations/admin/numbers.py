from django.contrib import admin
from django.db.models import Count
from django.utils import timezone

from ..models import Number, NumberToken
from ..services.rebuild import built_before
from . import token_overrides
from .accessible import LabelledInlineMixin
from .history import ConfigHistoryAdmin
from .rebuild_notice import edited, tell_stale_postbacks


class NumberTokenInline(LabelledInlineMixin, admin.TabularInline):
    model = NumberToken
    extra = 1
    fields = ["key", "value"]
    verbose_name = "extra token"
    verbose_name_plural = "extra tokens (a pasted Ringba webhook URL becomes its token)"


@admin.register(Number)
class NumberAdmin(ConfigHistoryAdmin):
    history_related = (("extra tokens", NumberToken, "number_id"),)
    list_display = ["number", "label", "offer", "traffic_source", "active", "token_count"]
    list_filter = ["active", "offer", "traffic_source"]
    list_select_related = ["offer", "traffic_source"]
    search_fields = ["number", "label", "extra_tokens__value"]
    autocomplete_fields = ["offer", "traffic_source"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [NumberTokenInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_tokens=Count("extra_tokens"))

    def save_related(self, request, form, formsets, change):
        """Say how many postbacks for calls on this number keep its old extra tokens."""
        super().save_related(request, form, formsets, change)
        token_overrides.warn(self, request, token_overrides.overrides_for_number(form.instance))
        if change and edited(form, formsets):
            stale = built_before(since=timezone.now(), call__number=form.instance)
            tell_stale_postbacks(
                self,
                request,
                stale,
                "for calls on this number",
                call__number__id__exact=form.instance.pk,
            )

    @admin.display(description="extra tokens", ordering="_tokens")
    def token_count(self, number):
        return number._tokens
