"""Returns and corrections on their way to the partner's Ringba (SPEC §16).

Every adjustment is listed with what Ringba held and what it should hold, how it
travels (the partner's token, our buyer request, by hand) and where it stands.
Account managers mark the by-hand ones done once entered in Ringba (logged), and
export them per partner in the shape Ringba's bulk payment adjustment asks for:
the calls' inbound call ids grouped by the new amount.
"""

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html

from ..models import (
    DUE_STATUSES,
    AdjustmentStatus,
    Event,
    PostbackDelivery,
    RingbaAdjustment,
    RingbaAdjustmentAttempt,
)
from ..services.adjustments import mark_done_by_hand
from .csv_export import CsvExportMixin
from .history import ActionLogHistoryAdmin
from .links import change_link

RINGBA_CALL_LOG = "https://app.ringba.com/#/dashboard/call-logs/report/new"


def adjustment_note(adjustment: RingbaAdjustment) -> str:
    """What a person needs to know about one adjustment, in words."""
    if adjustment.status == AdjustmentStatus.BY_HAND:
        return format_html(
            'adjust by hand in Ringba: set call {} to {} (<a href="{}" rel="noopener" '
            'target="_blank">Ringba call log</a>), then mark it done here',
            adjustment.ringba_call_id,
            adjustment.to_amount,
            RINGBA_CALL_LOG,
        )
    if adjustment.status == AdjustmentStatus.REQUESTED:
        return "requested from the partner's Ringba admin; it shows once they approve it"
    return adjustment.last_error or ""


def not_paid_yet(call) -> str:
    """What the call page says before Ringba was paid: when the postback goes, or why not."""
    waiting = (
        PostbackDelivery.objects.filter(
            call=call, event=Event.CALL_OFFER_CONVERTED, is_test=False, status__in=DUE_STATUSES
        )
        .order_by("next_attempt_at")
        .first()
    )
    if waiting is None:
        return "— (no conversion postback delivered)"
    if waiting.next_attempt_at and waiting.next_attempt_at > timezone.now():
        return format_html(
            "not paid yet: {} sends at {} UTC{}",
            change_link(waiting, f"postback #{waiting.pk}"),
            f"{waiting.next_attempt_at:%H:%M}",
            " (the offer holds conversions; a return before then costs nothing at Ringba)"
            if waiting.attempt_count == 0
            else f" (retry {waiting.attempt_count + 1})",
        )
    return format_html(
        "not paid yet: {} is due now", change_link(waiting, f"postback #{waiting.pk}")
    )


class AttemptInline(admin.TabularInline):
    model = RingbaAdjustmentAttempt
    extra = 0
    can_delete = False
    fields = ["number", "started_at", "duration_ms", "status_code", "response_body", "error"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(RingbaAdjustment)
class RingbaAdjustmentAdmin(ActionLogHistoryAdmin, CsvExportMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "call_link",
        "traffic_source",
        "ringba_call_id",
        "change",
        "mode",
        "status",
        "attempt_count",
        "note",
        "created_at",
    ]
    list_filter = ["status", "mode", "traffic_source"]
    list_select_related = ["call", "traffic_source"]
    search_fields = ["ringba_call_id", "call__call_uuid"]
    readonly_fields = [
        "call_link",
        "traffic_source",
        "payment",
        "ringba_call_id",
        "from_amount",
        "to_amount",
        "reason",
        "mode",
        "status",
        "attempt_count",
        "next_attempt_at",
        "last_error",
        "finished_at",
        "done_by",
        "created_at",
    ]
    fields = readonly_fields
    inlines = [AttemptInline]
    actions = ["mark_done"]
    csv_columns = (
        ("Inbound Call ID", lambda row: row.ringba_call_id),
        ("Call Date (UTC)", lambda row: f"{row.call.started_at:%Y-%m-%d %H:%M:%S}"),
        ("Caller ID", lambda row: row.call.caller_id),
        ("Publisher", lambda row: row.traffic_source.name),
        ("Revenue Before", lambda row: f"{row.from_amount:.2f}"),
        ("Revenue After", lambda row: f"{row.to_amount:.2f}"),
        ("Reason", lambda row: row.reason),
        ("Status", lambda row: row.status),
    )

    def csv_queryset(self, queryset):
        # Ringba's bulk adjustment sets one final amount for the calls selected: group so.
        return queryset.select_related("call", "traffic_source").order_by("to_amount", "id")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="call")
    def call_link(self, adjustment):
        return change_link(adjustment.call, adjustment.call.call_uuid, limit=8)

    @admin.display(description="Ringba holds → should hold")
    def change(self, adjustment):
        return f"{adjustment.from_amount} → {adjustment.to_amount}"

    @admin.display(description="note")
    def note(self, adjustment):
        return adjustment_note(adjustment)

    @admin.action(description="Mark done by hand in Ringba", permissions=["change"])
    def mark_done(self, request, queryset):
        done = 0
        for adjustment in queryset.filter(status=AdjustmentStatus.BY_HAND):
            if mark_done_by_hand(adjustment=adjustment, who=request.user.get_username()):
                done += 1
                self.log_change(
                    request,
                    adjustment,
                    f"Marked done by hand in Ringba: call {adjustment.ringba_call_id} set to "
                    f"{adjustment.to_amount}",
                )
                self.log_change(
                    request,
                    adjustment.call,
                    f"Ringba adjustment #{adjustment.pk} done by hand ({adjustment.to_amount})",
                )
        self.message_user(
            request,
            f"Marked {done} adjustment(s) done; the others were not waiting for a person.",
            messages.SUCCESS,
        )
