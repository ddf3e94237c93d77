import json

from django import forms
from django.contrib import admin, messages
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.utils import timezone
from django.utils.html import format_html
from rangefilter.filters import DateRangeFilter

from ..models import Call, Lead, Number, PostbackDelivery
from ..outbound.error_summaries import summary_of
from ..outbound.tokens import call_context
from ..rules.errors import Rejected
from ..services.calls import CallUpdate, update_call
from .big_tables import BigTableAdmin, ids_of, phone_variants
from .call_actions import ConversionActions
from .call_money import MoneyPanels
from .call_timeline import call_timeline
from .csv_export import CsvExportMixin, postback_outcome
from .history import ActionLogHistoryAdmin
from .links import change_link, cut, in_words
from .outcomes import (
    PostbackOutcomeFilter,
    enrichment_state,
    flag,
    money_annotations,
    ringba_paid,
    status_pill,
)
from .why import call_why


class DeliveryInline(admin.TabularInline):
    model = PostbackDelivery
    fk_name = "call"
    extra = 0
    can_delete = False
    fields = [
        "delivery_link",
        "trigger",
        "event",
        "status_shown",
        "attempt_count",
        "test_fire",
        "skip_reason",
        "last_error_in_words",
    ]
    readonly_fields = fields
    verbose_name_plural = "postback deliveries"

    @admin.display(description="status")
    def status_shown(self, delivery):
        return status_pill(delivery.status, delivery.get_status_display())

    @admin.display(description="test fire")
    def test_fire(self, delivery):
        return flag(delivery.is_test, "test fire")

    @admin.display(description="last error")
    def last_error_in_words(self, delivery):
        """The summary; the whole text is on the delivery's attempts."""
        return summary_of(delivery.last_error) if delivery.last_error else "—"

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("trigger")

    @admin.display(description="delivery")
    def delivery_link(self, delivery):
        return change_link(delivery, f"#{delivery.pk}")


NAME_CHARS = 12  # a name column's width at 1280 px, so that a call is one line


def _cut_with_tooltip(name: str) -> str:
    if len(name) <= NAME_CHARS:
        return name
    return format_html('<span title="{}">{}…</span>', name, name[: NAME_CHARS - 1])


class CallAdminForm(forms.ModelForm):
    """Editable conversion and end fields; saving goes through services.calls.

    ``version`` travels with the form: it is the version the call had when the
    page was opened, and a save made after anything else changed the call (a
    conversion from the API, another person) is refused instead of undoing it.
    """

    version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta:
        model = Call
        fields = ["ended_at", "duration", "buyer_converted", "revenue", "offer_converted", "payout"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version

    def clean(self):
        data = super().clean()
        call = self.instance
        current = Call.objects.filter(pk=call.pk).values_list("version", flat=True).first()
        if data.get("version") is not None and current != data["version"]:
            raise forms.ValidationError(
                "This call changed after you opened it (for example, it was converted "
                "through the calls API). Nothing was saved: reload the page to see the "
                "call as it is now, then make your change again.",
                code="stale",
            )
        if (
            data.get("offer_converted")
            and not call.offer_converted
            and data.get("payout") is None
            and call.offer.payout is None
        ):
            self.add_error("payout", "Enter the payout (the offer has no default payout).")
        ended_at = data.get("ended_at")
        if ended_at and ended_at < call.started_at:
            self.add_error("ended_at", "The call cannot end before it started.")
        return data


@admin.register(Call)
class CallAdmin(
    MoneyPanels, ConversionActions, ActionLogHistoryAdmin, CsvExportMixin, BigTableAdmin
):
    # What an account manager reconciles against Ringba, one call a row.
    csv_columns = (
        ("call_uuid", lambda call: call.call_uuid),
        ("ringba_call_uuid", lambda call: call.lead.ringba_call_uuid if call.lead_id else ""),
        ("started_at", lambda call: call.started_at),
        ("ended_at", lambda call: call.ended_at),
        ("duration_seconds", lambda call: call.duration),
        ("caller_id", lambda call: call.caller_id),
        ("number", lambda call: call.number.number if call.number_id else ""),
        ("offer", lambda call: call.offer.name),
        ("traffic_source", lambda call: call.traffic_source.name),
        ("traffic_source_id", lambda call: call.traffic_source.traffic_source_id),
        ("offer_converted", lambda call: call.offer_converted),
        ("payout", lambda call: call.payout),
        ("buyer_converted", lambda call: call.buyer_converted),
        ("revenue", lambda call: call.revenue),
        ("postback_status", lambda call: call._postback_status or ""),
        ("last_response", lambda call: call._last_response_code or call._last_error or ""),
    )

    def csv_queryset(self, queryset):
        return queryset.annotate(**postback_outcome("pk"))

    form = CallAdminForm
    # Fits 1280 px: conversions show as their amounts (— when not converted), ids cut.
    list_display = [
        "call_short",
        "started_short",
        "caller_id",
        "offer_short",
        "source_short",
        "converted",
        "paid_at_ringba",
        "enrichment",
    ]
    list_filter = [
        ("started_at", DateRangeFilter),  # one "By started at": a range, not both
        PostbackOutcomeFilter,
        "offer_converted",
        "buyer_converted",
        "offer",
        "traffic_source",
    ]
    list_select_related = ["number", "offer", "traffic_source", "lead"]
    search_fields = ["call_uuid", "caller_id", "lead__ringba_call_uuid", "number__number"]
    search_help_text = (
        "Exact call uuid or ringba_call_uuid; caller id or tracking number in any format "
        "((312) 555-0100, 3125550100, +13125550100)."
    )
    readonly_fields = [
        "call_uuid",
        "number",
        "offer",
        "traffic_source",
        "caller_id",
        "lead_link",
        "started_at",
        "buyer_converted_at",
        "offer_converted_at",
        "conversion_causes",
        "paid_to_ringba",
        "money_ledger",
        "ringba_adjustments",
        "timeline",
        "tokens_pretty",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "call_uuid",
                    "number",
                    "offer",
                    "traffic_source",
                    "caller_id",
                    "lead_link",
                    "started_at",
                    "version",
                ]
            },
        ),
        ("End", {"fields": ["ended_at", "duration"]}),
        (
            "Conversions (write-once; undo one with the list's Un-convert… action)",
            {
                "fields": [
                    "offer_converted",
                    "payout",
                    "paid_to_ringba",
                    "offer_converted_at",
                    "buyer_converted",
                    "revenue",
                    "buyer_converted_at",
                    "conversion_causes",
                ]
            },
        ),
        ("What happened, in order", {"fields": ["timeline"]}),
        (
            "Money ledger and Ringba (every movement, what the partner's Ringba was told)",
            {"fields": ["money_ledger", "ringba_adjustments"]},
        ),
        ("Tokens", {"fields": ["tokens_pretty"], "classes": ["collapse"]}),
        ("Audit", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]
    inlines = [DeliveryInline]
    actions = ["mark_converted", "unconvert", "end_now"]

    def has_add_permission(self, request):
        return False  # calls come from the telephony side

    def has_delete_permission(self, request, obj=None):
        return False

    def list_annotations(self):
        # What Ringba was paid and the enrichment, apart (issue 34, item 2): the
        # latest postback of any trigger mixed a call start with a payment.
        return money_annotations()

    def search_conditions(self, term):
        phones = phone_variants(term)
        return (
            Q(call_uuid=term)
            | Q(caller_id__in=phones)
            | Q(lead__in=ids_of(Lead.objects.filter(ringba_call_uuid=term)))
            | Q(number__in=ids_of(Number.objects.filter(number__in=phones)))
        )

    @admin.display(description="why converted")
    def conversion_causes(self, call):
        return call_why(call)

    @admin.display(description="call", ordering="call_uuid")
    def call_short(self, call):
        return cut(call.call_uuid, 8)

    @admin.display(description="duration", ordering="duration")
    def duration_in_words(self, call):
        return in_words(call.duration) if call.duration is not None else "—"

    @admin.display(description="lead")
    def lead_short(self, call):
        if not call.lead_id:
            return "—"
        return change_link(call.lead, call.lead.ringba_call_uuid or call.lead.uuid, limit=10)

    @admin.display(description="lead")
    def lead_link(self, call):
        return (
            change_link(call.lead, call.lead.ringba_call_uuid or call.lead.uuid)
            if call.lead_id
            else "—"
        )

    @admin.display(description="started", ordering="started_at")
    def started_short(self, call):
        """Month, day and minute; the full moment in the tooltip."""
        moment = timezone.localtime(call.started_at)
        return format_html(
            '<span title="{}">{}</span>', moment.isoformat(), moment.strftime("%m-%d %H:%M")
        )

    @admin.display(description="offer", ordering="offer__name")
    def offer_short(self, call):
        return _cut_with_tooltip(call.offer.name)

    @admin.display(description="traffic source", ordering="traffic_source__name")
    def source_short(self, call):
        return _cut_with_tooltip(call.traffic_source.name)

    @admin.display(description="Ringba paid")
    def paid_at_ringba(self, call):
        return ringba_paid(call)

    @admin.display(description="enrichment")
    def enrichment(self, call):
        return enrichment_state(call)

    @admin.display(description="converted", ordering="offer_converted")
    def converted(self, call):
        """Which sides converted, with their amounts: "offer 12.50 · buyer 30.00", or "no"."""
        sides = [
            f"{name} {amount if amount is not None else ''}".strip()
            for name, done, amount in (
                ("offer", call.offer_converted, call.payout),
                ("buyer", call.buyer_converted, call.revenue),
            )
            if done
        ]
        return " · ".join(sides) if sides else "no"

    @admin.display(description="timeline")
    def timeline(self, call):
        return call_timeline(call)

    @admin.display(description="tokens (as triggers see them, before field mappings)")
    def tokens_pretty(self, call):
        return format_html(
            "<pre>{}</pre>", json.dumps(call_context(call), indent=2, sort_keys=True)
        )

    def get_readonly_fields(self, request, obj=None):
        """A conversion is write-once here: once converted it is shown, not offered.

        An unticked box must never un-convert a call (a form opened before the
        conversion would undo it): un-converting is the confirmed list action.
        """
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.offer_converted:
            fields += ["offer_converted", "payout"]
        if obj is not None and obj.buyer_converted:
            fields += ["buyer_converted", "revenue"]
        return fields

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or not (obj.offer_converted or obj.buyer_converted):
            return fieldsets
        note = (
            "A converted call's payout and revenue are fixed: they are what the "
            "conversion (and its postback) carried. To undo a conversion, select the "
            "call in the list and choose Un-convert… (it asks for a reason and skips the "
            "postbacks not sent yet)."
        )
        with_note = []
        for name, options in fieldsets:
            if "payout" in options["fields"]:
                options = {**options, "description": note}
            with_note.append((name, options))
        return with_note

    def save_model(self, request, obj, form, change):
        original = Call.objects.get(pk=obj.pk)
        update = CallUpdate.from_changes(original, form.cleaned_data)
        try:
            update_call(
                call_uuid=original.call_uuid,
                update=update,
                expected_version=form.cleaned_data["version"],
                cause=f"admin: call form ({request.user.get_username()})",
            )
        except Rejected as exc:
            request._call_not_saved = True
            self.message_user(
                request, "Nothing was saved: " + "; ".join(exc.errors), messages.ERROR
            )

    def log_change(self, request, obj, message):
        if getattr(request, "_call_not_saved", False):
            return None  # a refused save changed nothing: no history entry
        return super().log_change(request, obj, message)

    def response_change(self, request, obj):
        if getattr(request, "_call_not_saved", False):
            return HttpResponseRedirect(request.path)  # back to the form, no "saved" message
        return super().response_change(request, obj)
