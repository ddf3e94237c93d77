from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from rangefilter.filters import DateRangeFilter

from ..models import Call, DeliveryStatus, Lead, PostbackAttempt, PostbackDelivery, TrafficSource
from ..outbound.error_summaries import summary_of
from ..services.deliveries import resend_delivery, retry_now
from ..services.rebuild import REBUILDABLE, preview_rebuild, rebuild_delivery
from ..services.trigger_health import acknowledge_host
from .big_tables import BigTableAdmin, count_of, ids_of, phone_variants
from .confirm import confirmation_page
from .csv_export import CsvExportMixin, last_attempt
from .links import change_link
from .outcomes import flag, status_pill
from .why import delivery_why


class AttemptInline(admin.TabularInline):
    """Each attempt as Stripe shows one: the request it sent, the answer it got."""

    model = PostbackAttempt
    extra = 0
    can_delete = False
    fields = [
        "number",
        "started_at",
        "duration_ms",
        "request",
        "status_code",
        "response",
        "error",
        "manual",
        "stray",
        "in_flight",
    ]
    readonly_fields = fields

    @admin.display(description="request")
    def request(self, attempt):
        if not attempt.url:
            return "—"
        method = attempt.delivery.http_method
        return format_html('<code class="attempt-request">{} {}</code>', method, attempt.url)

    @admin.display(description="response (first 2 KB)")
    def response(self, attempt):
        if not attempt.response_body:
            return "—"
        return format_html('<pre class="attempt-response">{}</pre>', attempt.response_body)

    def has_add_permission(self, request, obj=None):
        return False


class TrafficSourceFilter(admin.SimpleListFilter):
    title = "traffic source"
    parameter_name = "traffic_source"

    def lookups(self, request, model_admin):
        return [(source.pk, source.name) for source in TrafficSource.objects.only("pk", "name")]

    def queryset(self, request, queryset):
        value = self.value() or ""
        if value.isascii() and value.isdigit():
            return queryset.filter(call__traffic_source_id=int(value))
        return queryset  # a hand-edited URL: show everything rather than fail


# Rebuilt per run of the action; a rebuild is a row lock and a plan each.
REBUILD_LIMIT = 1000


# Column widths on the list at 1280 px: longer texts are cut, whole in the tooltip.
TRIGGER_CHARS = 24
ERROR_CHARS = 40


@admin.register(PostbackDelivery)
class PostbackDeliveryAdmin(CsvExportMixin, BigTableAdmin):
    csv_columns = (
        ("delivery_id", lambda d: d.pk),
        ("created_at", lambda d: d.created_at),
        ("call_uuid", lambda d: d.call.call_uuid if d.call_id else ""),
        (
            "ringba_call_uuid",
            lambda d: d.call.lead.ringba_call_uuid if d.call_id and d.call.lead_id else "",
        ),
        ("caller_id", lambda d: d.call.caller_id if d.call_id else ""),
        ("offer", lambda d: d.call.offer.name if d.call_id else ""),
        ("traffic_source", lambda d: d.call.traffic_source.name if d.call_id else ""),
        ("trigger", lambda d: d.trigger.name),
        ("event", lambda d: d.event),
        ("test_fire", lambda d: d.is_test),
        ("status", lambda d: d.status),
        ("attempts", lambda d: d.attempt_count),
        ("last_response", lambda d: d._last_response_code or d._last_error or d.last_error),
        ("delivered_at", lambda d: d.delivered_at),
        ("payout", lambda d: d.call.payout if d.call_id else ""),
        ("url", lambda d: d.url),
    )

    def csv_queryset(self, queryset):
        return queryset.select_related(
            "call__lead", "call__offer", "call__traffic_source"
        ).annotate(**last_attempt("pk"))

    list_display = [
        "id",
        "created_at",
        "status_shown",
        "trigger_short",
        "call_short",
        "event",
        "attempts",
        "last_error_short",
        "next_attempt_at",
    ]
    list_filter = [
        ("created_at", DateRangeFilter),
        "created_at",
        "status",
        "is_test",
        "event",
        "trigger",
        TrafficSourceFilter,
    ]
    list_select_related = ["trigger", "call"]
    search_fields = ["id", "call__call_uuid", "call__lead__ringba_call_uuid"]
    search_help_text = (
        "Exact delivery id, call uuid, the call's ringba_call_uuid, or the caller's number "
        "in any format ((312) 555-0100, +13125550100)."
    )
    fields = [
        "trigger",
        "event",
        "call_link",
        "lead_link",
        "test_fire",
        "status",
        "why",
        "skip_reason",
        "http_method",
        "url",
        "request_headers_shown",
        "attempt_count",
        "next_attempt_at",
        "delivered_at",
        "last_error_in_words",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields
    change_form_template = "admin/integrations/postbackdelivery/change_form.html"
    inlines = [AttemptInline]
    actions = ["resend_now", "rebuild_and_send"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # The list's actions (re-send) need "change"; a delivery's own page has nothing
        # to save, so it opens as a view with no Save buttons.
        return obj is None and super().has_change_permission(request)

    def list_annotations(self):
        return {"_attempts": count_of(PostbackAttempt, "delivery")}

    def lookup_allowed(self, lookup, value, request=None):
        # A number's page links to its calls' postbacks (admin.rebuild_notice).
        return lookup == "call__number__id__exact" or super().lookup_allowed(lookup, value, request)

    def search_conditions(self, term):
        leads = ids_of(Lead.objects.filter(ringba_call_uuid=term))
        calls = Q(call_uuid=term) | Q(lead__in=leads)
        calls |= Q(caller_id__in=phone_variants(term))  # the caller, in any format
        conditions = Q(call__in=ids_of(Call.objects.filter(calls)))
        if term.isascii() and term.isdigit():
            conditions |= Q(pk=int(term))
        return conditions

    @admin.display(description="attempts")
    def attempts(self, delivery):
        return delivery._attempts

    @admin.display(description="why")
    def why(self, delivery):
        return delivery_why(delivery)

    @admin.display(description="test fire")
    def test_fire(self, delivery):
        return flag(delivery.is_test, "yes: sent by the admin's Test fire, never the real one")

    @admin.display(description="request headers")
    def request_headers_shown(self, delivery):
        if not delivery.request_headers:
            return "—"
        return format_html_join(
            "", "<div><code>{}: {}</code></div>", sorted(delivery.request_headers.items())
        )

    @admin.display(description="last error")
    def last_error_in_words(self, delivery):
        """The summary; each attempt below keeps its whole text (said once, not twice)."""
        return summary_of(delivery.last_error) if delivery.last_error else "—"

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        if obj is not None:
            context["can_resend"] = obj.status == DeliveryStatus.FAILED
            context["can_retry_now"] = (
                obj.status == DeliveryStatus.RETRYING
                and obj.next_attempt_at is not None
                and obj.next_attempt_at > timezone.now()
            )
            context["can_rebuild"] = not obj.is_test and obj.status in REBUILDABLE
            context["may_act"] = super().has_change_permission(request)
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    def get_urls(self):
        return [
            path(
                "hosts/<int:pk>/acknowledge/",
                self.admin_site.admin_view(self.acknowledge_host_view),
                name="integrations_postbackdelivery_acknowledge_host",
            ),
            path(
                "<int:pk>/retry-now/",
                self.admin_site.admin_view(self.retry_now_view),
                name="integrations_postbackdelivery_retry_now",
            ),
            *super().get_urls(),
        ]

    def acknowledge_host_view(self, request, pk: int):
        """The banner's Acknowledge: hide a failing host's line until its next streak."""
        if request.method != "POST" or not self.has_view_permission(request):
            raise PermissionDenied
        who = request.user.get_username()
        if acknowledge_host(pk, who=who):
            self.message_user(
                request,
                "Acknowledged: the banner comes back if the host fails again after a success.",
                messages.SUCCESS,
            )
        back = request.POST.get("next") or ""
        if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
            back = reverse("admin:index")
        return redirect(back)

    def retry_now_view(self, request, pk: int):
        if request.method != "POST" or not super().has_change_permission(request):
            raise PermissionDenied
        delivery = get_object_or_404(PostbackDelivery, pk=pk)
        if retry_now(delivery=delivery):
            self.log_change(request, delivery, "Retried now by hand")
            self.message_user(request, f"Postback #{pk} is due now.", messages.SUCCESS)
        else:
            self.message_user(
                request,
                f"Postback #{pk} was not waiting for a retry any more; nothing changed.",
                messages.WARNING,
            )
        return redirect("admin:integrations_postbackdelivery_change", pk)

    @admin.display(description="status", ordering="status")
    def status_shown(self, delivery):
        """The status as a pill coloured like the calls list's outcomes (outcomes.py)."""
        status = delivery.get_status_display()
        return status_pill(delivery.status, f"{status} (test fire)" if delivery.is_test else status)

    @admin.display(description="trigger", ordering="trigger__name")
    def trigger_short(self, delivery):
        return change_link(delivery.trigger, delivery.trigger.name, limit=TRIGGER_CHARS)

    @admin.display(description="call")
    def call_short(self, delivery):
        call = delivery.call
        return change_link(call, call.call_uuid, limit=8) if call else "—"

    @admin.display(description="last error")
    def last_error_short(self, delivery):
        """The error's human summary, cut to the column; the whole text as its tooltip."""
        if not delivery.last_error:
            return ""
        summary = summary_of(delivery.last_error)
        shown = summary if len(summary) <= ERROR_CHARS else summary[:ERROR_CHARS] + "…"
        return format_html('<span title="{}">{}</span>', delivery.last_error, shown)

    @admin.display(description="call")
    def call_link(self, delivery):
        return change_link(delivery.call, delivery.call.call_uuid if delivery.call_id else None)

    @admin.display(description="lead")
    def lead_link(self, delivery):
        return change_link(delivery.lead)

    @admin.action(
        description="Rebuild from the current configuration and send…", permissions=["change"]
    )
    def rebuild_and_send(self, request, queryset):
        """Plan the selected postbacks again from the triggers as they are now; send them.

        Works on one delivery, a selection, or everything the filter matches
        ("select all"): at most REBUILD_LIMIT per run. Asks first, logs each one.
        """
        selected = queryset.filter(is_test=False, status__in=REBUILDABLE)
        total = selected.count()
        if "apply" not in request.POST:
            return confirmation_page(
                self,
                request,
                "admin/integrations/postbackdelivery/rebuild.html",
                "Rebuild postbacks from the current configuration",
                total=total,
                limit=REBUILD_LIMIT,
                left_alone=queryset.count() - total,
                previews=[
                    (delivery, preview_rebuild(delivery))
                    for delivery in selected.select_related(
                        "trigger", "call", "lead", "schedule_lead__schedule"
                    )[:20]
                ],
                queryset_ids=list(queryset.values_list("pk", flat=True)[:REBUILD_LIMIT]),
                select_across=request.POST.get("select_across", "0"),
            )
        who = f"admin: Rebuild ({request.user.get_username()})"
        sending = changed = 0
        refusals = []
        for delivery_id in selected.values_list("pk", flat=True)[:REBUILD_LIMIT]:
            result = rebuild_delivery(delivery_id=delivery_id, cause=who)
            if result.refused:
                refusals.append(f"#{delivery_id}: {result.refused}")
                continue
            delivery = result.delivery
            sending += delivery.status == DeliveryStatus.PENDING
            changed += result.changed
            self.log_change(
                request,
                delivery,
                f"Rebuilt from the current configuration: {delivery.status}"
                + (f"; URL was {result.old_url}" if result.changed else "; URL unchanged")
                + (f" ({delivery.skip_reason})" if delivery.skip_reason else ""),
            )
        self.message_user(
            request,
            f"Rebuilt {min(total, REBUILD_LIMIT) - len(refusals)} postback(s): {changed} with a "
            f"new URL, {sending} queued to send now.",
            messages.SUCCESS,
        )
        for refusal in refusals[:10]:
            self.message_user(request, f"Left as it was: {refusal}", messages.WARNING)
        if total > REBUILD_LIMIT:
            self.message_user(
                request,
                f"{total - REBUILD_LIMIT} more match; run the action again for the next batch.",
                messages.WARNING,
            )
        return None

    @admin.action(description="Re-send now (failed only)", permissions=["change"])
    def resend_now(self, request, queryset):
        queued = 0
        for delivery in queryset.filter(status=DeliveryStatus.FAILED).select_related("trigger"):
            if resend_delivery(delivery=delivery):
                queued += 1
                self.log_change(request, delivery, "Re-sent by hand")
        skipped = queryset.count() - queued
        self.message_user(
            request, f"Queued {queued} delivery(ies) for a new attempt.", messages.SUCCESS
        )
        if skipped:
            self.message_user(
                request,
                f"{skipped} selected delivery(ies) were not failed and were not re-sent "
                "(retrying ones are retried automatically and may have an attempt in flight).",
                messages.WARNING,
            )
