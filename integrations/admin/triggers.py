from django import forms
from django.contrib import admin, messages
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.utils import timezone
from django.utils.html import format_html

from ..models import CustomFieldMapping, EventTrigger, PostbackDelivery
from ..outbound.error_summaries import summary_of
from ..rules import conditions
from ..rules.ringba import prefixes_us_country_code
from ..services import trigger_health
from ..services.rebuild import built_before
from . import token_overrides
from .accessible import LabelledInlineMixin
from .confirm import action_form, confirmation_page
from .history import ChangeReasonMixin, ConfigHistoryAdmin
from .links import changelist_link
from .new_from_template import NewFromTemplateView
from .rebuild_notice import edited, tell_stale_postbacks
from .trigger_form import EventTriggerForm
from .trigger_signing import SigningActions
from .trigger_test_fire import TestFireAction


class CustomFieldMappingInline(LabelledInlineMixin, admin.TabularInline):
    model = CustomFieldMapping
    extra = 1
    fields = ["token_name", "traffic_source", "value"]
    verbose_name_plural = (
        "custom field mappings (for ringba_webhook_token you may paste the whole Ringba "
        "webhook URL; the token after /hook/ is kept)"
    )

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        # A trigger made from a template offers its mapping group pre-filled.
        names = obj.template.mapping_token_names if obj and obj.template_id else []
        if names:
            formset.form.base_fields["token_name"].initial = names[0]
        return formset


class RecoverForm(forms.Form):
    since = forms.DateTimeField(
        label="Failed since",
        help_text="Deliveries created at or after this time (YYYY-MM-DD HH:MM) that ended "
        "failed are sent again, as new attempts on the same rows.",
    )


@admin.register(EventTrigger)
class EventTriggerAdmin(
    NewFromTemplateView, TestFireAction, SigningActions, ChangeReasonMixin, ConfigHistoryAdmin
):
    form = EventTriggerForm
    history_related = (("field mappings", CustomFieldMapping, "trigger_id"),)
    list_display = [
        "name",
        "scope",
        "event",
        "active",
        "condition_summary",
        "health",
        "delivery_count",
    ]
    list_filter = ["active", "event", "template", "offer"]
    list_select_related = ["offer"]
    search_fields = ["name", "url_template"]
    readonly_fields = [
        "template",
        "caller_id_check",
        "signing",
        "effective_tokens",
        "last_success_at",
        "last_failure_at",
        "last_error",
        "consecutive_failures",
        "failing_since",
        "paused_at",
        "pause_reason",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["name", "active", "offer", "event", "template"]}),
        (
            "Request",
            {
                "fields": [
                    "http_method",
                    "url_template",
                    "caller_id_check",
                    "body_format",
                    "body_template",
                    "header_templates",
                    "conditions",
                    "effective_tokens",
                ]
            },
        ),
        (
            "Signing (Standard Webhooks)",
            {
                "fields": ["signing"],
                "description": "For receivers other than Ringba: each request carries "
                "webhook-id (the same on retries), webhook-timestamp and webhook-signature "
                "(HMAC-SHA256 of id.timestamp.body). Use the list's actions to sign, "
                "rotate, finish a rotation or stop.",
            },
        ),
        (
            "Health",
            {
                "fields": [
                    "last_success_at",
                    "last_failure_at",
                    "last_error",
                    "consecutive_failures",
                    "failing_since",
                    "paused_at",
                    "pause_reason",
                ]
            },
        ),
        ("Audit", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]
    inlines = [CustomFieldMappingInline]
    actions = [
        "test_fire",
        "resume_triggers",
        "recover_failed_deliveries",
        "rotate_signing_secret",
        "finish_signing_rotation",
        "stop_signing",
    ]

    change_list_template = "admin/integrations/eventtrigger/change_list.html"

    def save_related(self, request, form, formsets, change):
        """Say how many postbacks not delivered yet were built with the old settings."""
        super().save_related(request, form, formsets, change)
        token_overrides.warn(self, request, token_overrides.overrides_for_trigger(form.instance))
        if change and edited(form, formsets):
            stale = built_before(since=timezone.now(), trigger=form.instance)
            tell_stale_postbacks(
                self, request, stale, "of this trigger", trigger__id__exact=form.instance.pk
            )

    @admin.display(description="caller id")
    def caller_id_check(self, trigger):
        if not prefixes_us_country_code(trigger.url_template if trigger else ""):
            return "—"
        return format_html(
            '<strong class="errornote">{}</strong>',
            "This URL writes +1 before the caller's national digits: a caller from outside "
            "the US/Canada becomes a different number (a stranger's call in Ringba). Send "
            "[caller_id], the caller's own E.164 number, instead.",
        )

    @admin.display(description="numbers that override its mappings")
    def effective_tokens(self, trigger):
        return token_overrides.effective_tokens_table(
            token_overrides.overrides_for_trigger(trigger)
        )

    @admin.display(description="paused", boolean=True)
    def paused(self, trigger):
        return trigger.paused_at is not None

    @admin.action(description="Resume (send the deliveries that waited)", permissions=["change"])
    def resume_triggers(self, request, queryset):
        resumed = 0
        for trigger in queryset:
            if trigger_health.resume(trigger):
                self.log_change(request, trigger, "Resumed after a pause")
                resumed += 1
        self.message_user(
            request,
            f"Resumed {resumed} trigger(s); their waiting deliveries go out with the next sweep.",
            messages.SUCCESS,
        )

    @admin.action(description="Re-send failed deliveries since…", permissions=["change"])
    def recover_failed_deliveries(self, request, queryset):
        form = action_form(RecoverForm, request)
        if not form.is_valid():
            return confirmation_page(
                self,
                request,
                "admin/integrations/eventtrigger/recover.html",
                "Re-send failed deliveries",
                form=form,
                triggers=queryset,
            )
        since = form.cleaned_data["since"]
        for trigger in queryset:
            count = trigger_health.recover_failed(trigger, since=since)
            self.log_change(request, trigger, f"Re-sent {count} failed deliveries since {since}")
            self.message_user(
                request, f"“{trigger.name}”: {count} failed delivery(ies) queued again."
            )
        return None

    @admin.display(description="scope", ordering="offer")
    def scope(self, trigger):
        return trigger.scope_label

    @admin.display(description="health", ordering="consecutive_failures")
    def health(self, trigger):
        """One column for the list at 1280 px: paused, failing (how often), or fine."""
        if trigger.paused_at:
            return format_html(
                '<strong class="outcome-failed">paused</strong> since {}',
                naturaltime(trigger.paused_at),
            )
        if trigger.consecutive_failures:
            return format_html(
                '<span class="outcome-failed" title="{}">failing {} times in a row</span>',
                summary_of(trigger.last_error),
                trigger.consecutive_failures,
            )
        if trigger.last_success_at:
            return f"ok, last sent {naturaltime(trigger.last_success_at)}"
        return "nothing sent yet"

    @admin.display(description="conditions")
    def condition_summary(self, trigger):
        return conditions.describe(trigger.conditions)

    @admin.display(description="deliveries")
    def delivery_count(self, trigger):
        # A link, not a count: the global Ringba trigger has a delivery per conversion.
        return changelist_link(PostbackDelivery, "view", trigger__id__exact=trigger.pk)
