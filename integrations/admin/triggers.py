from django import forms
from django.contrib import admin, messages
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from ..infra.secrets_at_rest import SecretUnreadable, hint
from ..models import (
    Call,
    CustomFieldMapping,
    DeliveryStatus,
    EventTrigger,
    Offer,
    PostbackDelivery,
    TrafficSource,
    TriggerTemplate,
)
from ..outbound.error_summaries import summary_of
from ..rules import conditions
from ..rules.ringba import ENRICH_TEMPLATE_SLUG, prefixes_us_country_code
from ..services import trigger_health, trigger_signing
from ..services.firing import plan_test_fire
from ..services.rebuild import built_before
from ..services.triggers import add_partner_mapping, covering_trigger, create_trigger_from_template
from . import token_overrides
from .accessible import LabelledInlineMixin
from .history import ChangeReasonMixin, ConfigHistoryAdmin
from .links import change_link, changelist_link
from .rebuild_notice import edited, tell_stale_postbacks
from .trigger_form import EventTriggerForm


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


class NewFromTemplateForm(forms.Form):
    template = forms.ModelChoiceField(
        queryset=TriggerTemplate.objects.all(), empty_label="Select a template…"
    )
    offer = forms.ModelChoiceField(
        queryset=Offer.objects.all(), required=False, empty_label="Global (every offer)"
    )
    traffic_source = forms.ModelChoiceField(
        queryset=TrafficSource.objects.all(),
        required=False,
        empty_label="(none yet)",
        help_text="The partner whose value you enter below (more partners: add mappings "
        "on the trigger's page).",
    )
    mapping_value = forms.CharField(
        required=False,
        max_length=500,
        label="Partner's value",
        help_text="For the Ringba IDE template: the partner's Ringba number id (from "
        "Enrich Call Data in their Ringba). For the Ringba webhook: their webhook token.",
    )

    def clean(self):
        data = super().clean()
        template = data.get("template")
        source, value = data.get("traffic_source"), (data.get("mapping_value") or "").strip()
        data["mapping_value"] = value
        if (
            template is not None
            and template.slug == ENRICH_TEMPLATE_SLUG
            and not (source and value)
        ):
            raise ValidationError(
                "The Ringba IDE template needs a traffic source and that partner's Ringba "
                "number id: enrichment goes to one partner's Ringba account."
            )
        if bool(source) != bool(value):
            raise ValidationError("Enter both a traffic source and its value, or neither.")
        return data


class RecoverForm(forms.Form):
    since = forms.DateTimeField(
        label="Failed since",
        help_text="Deliveries created at or after this time (YYYY-MM-DD HH:MM) that ended "
        "failed are sent again, as new attempts on the same rows.",
    )


class TestFireForm(forms.Form):
    call_uuid = forms.CharField(
        label="Call uuid", max_length=64, help_text="The call to render the trigger for."
    )
    use_real_call_id = forms.BooleanField(
        required=False,
        label="Send the call's real ringba_call_uuid",
        help_text="Off (recommended): ringba_call_uuid is sent as a fake TEST-… id, so "
        "Ringba cannot credit a real call. On: Ringba may record a real conversion.",
    )

    def clean_call_uuid(self):
        value = self.cleaned_data["call_uuid"].strip()
        call = (
            Call.objects.select_related("number", "offer", "traffic_source", "lead")
            .filter(call_uuid=value)
            .first()
        )
        if call is None:
            raise forms.ValidationError("No call with this uuid.")
        self.call = call
        return value


@admin.register(EventTrigger)
class EventTriggerAdmin(ChangeReasonMixin, ConfigHistoryAdmin):
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

    @admin.display(description="signing secrets")
    def signing(self, trigger):
        if not trigger.signing_secret:
            return "Not signed."
        # Shown once, when made (the rotate action's message); here only their ends.
        try:
            current, *previous = [hint(secret) for secret in trigger.signing_secrets]
        except SecretUnreadable:
            return "Stored, but no key in FIELD_ENCRYPTION_KEYS opens it: rotate the secret."
        shown = format_html("<code>{}</code> (current)", current)
        if not previous:
            return shown
        return format_html(
            "{}<br><code>{}</code> (previous: still signing until the rotation is finished)",
            shown,
            previous[0],
        )

    @admin.action(
        description="Sign requests: make or rotate the signing secret", permissions=["change"]
    )
    def rotate_signing_secret(self, request, queryset):
        for trigger in queryset:
            rotated = trigger_signing.rotate(trigger.pk)
            self.log_change(request, trigger, "Signing secret made or rotated")
            self.message_user(
                request,
                format_html(
                    "{}: new signing secret <code>{}</code> — copy it now, it is stored "
                    "encrypted and not shown again.",
                    trigger.name,
                    rotated.new_secret,
                ),
                messages.WARNING,
            )
        self.message_user(
            request,
            "Give each receiver its trigger's new secret, then finish the rotation. Until "
            "then both sign (a second rotation before that keeps the receiver's secret).",
            messages.SUCCESS,
        )

    @admin.action(
        description="Finish the signing rotation (drop the previous secret)", permissions=["change"]
    )
    def finish_signing_rotation(self, request, queryset):
        finished = [t for t in queryset if trigger_signing.finish_rotation(t.pk)]
        for trigger in finished:
            self.log_change(request, trigger, "Signing rotation finished")
        self.message_user(request, f"Finished {len(finished)} rotation(s).", messages.SUCCESS)

    @admin.action(description="Stop signing requests", permissions=["change"])
    def stop_signing(self, request, queryset):
        stopped = [t for t in queryset if trigger_signing.stop(t.pk)]
        for trigger in stopped:
            self.log_change(request, trigger, "Signing stopped")
        self.message_user(
            request, f"{len(stopped)} trigger(s) now send unsigned.", messages.SUCCESS
        )

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
        form = RecoverForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return TemplateResponse(
                request,
                "admin/integrations/eventtrigger/recover.html",
                {
                    **self.admin_site.each_context(request),
                    "title": "Re-send failed deliveries",
                    "form": form,
                    "triggers": queryset,
                    "opts": self.model._meta,
                    "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                },
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

    def get_urls(self):
        return [
            path(
                "new-from-template/",
                self.admin_site.admin_view(self.new_from_template),
                name="integrations_eventtrigger_new_from_template",
            ),
            *super().get_urls(),
        ]

    def new_from_template(self, request):
        if not self.has_add_permission(request):
            return redirect("admin:index")
        form = NewFromTemplateForm(request.POST or None)
        trigger = None
        covering = None
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            covering = covering_trigger(template=data["template"], offer=data["offer"])
            if "add_mapping" in request.POST and covering is not None and data["traffic_source"]:
                # One click from "already covered": this partner's value on that trigger.
                mapping = add_partner_mapping(
                    trigger=covering,
                    traffic_source=data["traffic_source"],
                    value=data["mapping_value"],
                )
                self.log_change(
                    request,
                    covering,
                    f"Mapping {mapping.token_name} added for {data['traffic_source'].name}",
                )
                self.message_user(
                    request,
                    f"Added {data['traffic_source'].name}'s {mapping.token_name} to "
                    f"“{covering.name}”.",
                    messages.SUCCESS,
                )
                return redirect(
                    reverse("admin:integrations_eventtrigger_change", args=[covering.pk])
                )
            try:
                trigger = create_trigger_from_template(
                    template=data["template"],
                    offer=data["offer"],
                    traffic_source=data["traffic_source"],
                    mapping_value=data["mapping_value"],
                )
            except ValidationError as exc:
                form.add_error(None, exc.messages)
                if covering is not None:  # a link to the trigger to add mappings to
                    form.add_error(
                        None,
                        format_html(
                            'Open <a href="{}">{}</a> to add this partner\'s mapping.',
                            reverse("admin:integrations_eventtrigger_change", args=[covering.pk]),
                            covering.name,
                        ),
                    )
        if trigger is not None:
            self.log_addition(request, trigger, "Created from template")
            token = (trigger.template.mapping_token_names or ["ringba_webhook_token"])[0]
            self.message_user(
                request,
                format_html(
                    "Created “{}”. Add a {} mapping below for each (other) traffic source, "
                    "or an extra token on its numbers; calls from a partner without one "
                    "are skipped.",
                    trigger.name,
                    token,
                ),
                messages.SUCCESS,
            )
            return redirect(reverse("admin:integrations_eventtrigger_change", args=[trigger.pk]))
        return TemplateResponse(
            request,
            "admin/integrations/eventtrigger/new_from_template.html",
            {
                **self.admin_site.each_context(request),
                "title": "New trigger from template",
                "form": form,
                # Offered when the partner's value was typed and a trigger covers the offer.
                "covering": covering if trigger is None and form.is_bound else None,
                "templates": TriggerTemplate.objects.all(),
                "opts": self.model._meta,
            },
        )

    @admin.action(description="Test fire against a call…", permissions=["change"])
    def test_fire(self, request, queryset):
        form = TestFireForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return TemplateResponse(
                request,
                "admin/integrations/eventtrigger/test_fire.html",
                {
                    **self.admin_site.each_context(request),
                    "title": "Test fire triggers",
                    "form": form,
                    "triggers": queryset,
                    "opts": self.model._meta,
                    "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                },
            )
        with transaction.atomic():
            deliveries = [
                plan_test_fire(
                    trigger=trigger,
                    call=form.call,
                    use_real_call_id=form.cleaned_data["use_real_call_id"],
                    cause=f"admin: Test fire ({request.user.get_username()})",
                )
                for trigger in queryset
            ]
        for delivery in deliveries:
            self.log_change(request, delivery.trigger, f"Test fire for call {form.call.call_uuid}")
            queued = delivery.status == DeliveryStatus.PENDING
            self.message_user(
                request,
                format_html(
                    "Test of “{}”: {} {} — {} ({})",
                    delivery.trigger.name,
                    delivery.http_method,
                    delivery.url or "(no URL)",
                    "queued; the worker sends it now" if queued else delivery.skip_reason,
                    change_link(delivery, "see the result"),
                ),
                messages.SUCCESS if queued else messages.WARNING,
            )
        return None


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
