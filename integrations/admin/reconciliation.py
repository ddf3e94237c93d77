"""Reconciliation with partners' Ringba: runs, their differences, and the fix for each.

A run's page answers "do my numbers match Ringba's?" for one partner and period:
both sides' totals, how many calls got each label (each count opens those rows),
and where it came from. The rows list every call with its label, both amounts
and the fix one click away: send the missing postback, send the adjustment, or
mark reviewed with a note. "Reconcile now" runs one from Ringba's API or an
uploaded call details CSV.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from ..models import Difference, ReconciliationRow, ReconciliationRun, TrafficSource
from ..services.reconciliation import default_period, latest_runs, reconcile_partner
from ..services.reconciliation_fixes import (
    fix_for,
    mark_reviewed,
    send_adjustment,
    send_missing_postback,
)
from .csv_export import CsvExportMixin
from .links import change_link

MAX_UPLOAD_BYTES = 200 * 1024 * 1024  # a month of a busy partner is ~20 MB


def rows_url(run: ReconciliationRun, label: str | None = None, state: str = "") -> str:
    url = reverse("admin:integrations_reconciliationrow_changelist") + f"?run__id__exact={run.pk}"
    return url + (f"&label__exact={label}" if label else "") + (f"&state={state}" if state else "")


class ReconcileForm(forms.Form):
    traffic_source = forms.ModelChoiceField(queryset=TrafficSource.objects.order_by("name"))
    period_from = forms.DateField(
        label="From (UTC day)",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Empty: the file's first day, or the last RECONCILE_DAYS days from the API.",
    )
    period_to = forms.DateField(
        label="To (UTC day, included)",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    csv_file = forms.FileField(
        label="Ringba call details report (CSV)",
        required=False,
        help_text="Export it from Ringba's call log in UTC. Empty: read the partner's Ringba "
        "call log through its API token.",
    )

    def clean_csv_file(self):
        upload = self.cleaned_data.get("csv_file")
        if upload and upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                f"The file is larger than {MAX_UPLOAD_BYTES // 2**20} MB: export a shorter period."
            )
        return upload

    def clean(self):
        data = super().clean()
        start, end = data.get("period_from"), data.get("period_to")
        if start and end and end < start:
            self.add_error("period_to", "The period ends before it starts.")
        source = data.get("traffic_source")
        has_api = source and source.ringba_account_id and source.has_ringba_token
        if source and not data.get("csv_file") and not has_api:
            self.add_error(
                "csv_file",
                f"{source.name} has no Ringba account id and API token: upload its call "
                "details report, or set them on the traffic source.",
            )
        return data


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "traffic_source",
        "period",
        "source",
        "totals",
        "open_differences",
        "outcome",
        "started_at",
    ]
    list_filter = ["traffic_source", "source", "scheduled"]
    list_select_related = ["traffic_source"]
    change_form_template = "admin/integrations/reconciliationrun/detail.html"
    readonly_fields = [
        "traffic_source",
        "period_from",
        "period_to",
        "source",
        "file_name",
        "scheduled",
        "run_by",
        "started_at",
        "finished_at",
        "error",
    ]
    fields = readonly_fields

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="period (UTC)")
    def period(self, run):
        return f"{run.period_from} … {run.period_to}"

    @admin.display(description="ours / Ringba's")
    def totals(self, run):
        return (
            f"{run.our_conversions} · ${run.our_total} / {run.their_conversions} · "
            f"${run.their_total}"
        )

    @admin.display(description="open differences")
    def open_differences(self, run):
        if run.error:
            return "—"
        count = run.rows.exclude(label=Difference.MATCHED).filter(reviewed_at__isnull=True).count()
        return format_html('<a href="{}">{}</a>', rows_url(run, state="open"), count)

    @admin.display(description="outcome")
    def outcome(self, run):
        if run.error:
            return format_html('<span class="errornote-inline">failed: {}</span>', run.error[:200])
        return ", ".join(f"{label} {count}" for label, count in run.counts.items()) or "no rows"

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        initial = {}
        if request.GET.get("traffic_source"):
            initial["traffic_source"] = request.GET["traffic_source"]
        initial["period_from"], initial["period_to"] = default_period()
        form = (
            ReconcileForm(request.POST, request.FILES)
            if request.method == "POST"
            else ReconcileForm(initial=initial)
        )
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            upload = data.get("csv_file")
            run = reconcile_partner(
                data["traffic_source"],
                csv_file=upload.file if upload else None,
                file_name=upload.name if upload else "",
                period_from=data.get("period_from"),
                period_to=data.get("period_to"),
                run_by=request.user.get_username(),
            )
            self.log_addition(request, run, [{"added": {}}])
            if run.error:
                self.message_user(request, f"Not reconciled: {run.error}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"Reconciled: {run.differences} difference(s) of "
                    f"{sum(run.counts.values())} rows.",
                    messages.SUCCESS,
                )
            return HttpResponseRedirect(
                reverse("admin:integrations_reconciliationrun_change", args=[run.pk])
            )
        return TemplateResponse(
            request,
            "admin/integrations/reconciliationrun/reconcile.html",
            {
                **self.admin_site.each_context(request),
                "title": "Reconcile with a partner's Ringba",
                "form": form,
                "opts": self.model._meta,
            },
        )

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        if obj is not None:
            context["run"] = obj
            context["labels"] = [
                {
                    "value": value,
                    "name": name,
                    "count": obj.counts.get(value, 0),
                    "url": rows_url(obj, value),
                }
                for value, name in Difference.choices
            ]
            context["rows_url"] = rows_url(obj)
            context["open_url"] = rows_url(obj, state="open")
            context["open"] = (
                obj.rows.exclude(label=Difference.MATCHED).filter(reviewed_at__isnull=True).count()
            )
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)


class RowStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", "open differences"), ("reviewed", "reviewed"), ("matched", "matched")]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.exclude(label=Difference.MATCHED).filter(reviewed_at__isnull=True)
        if self.value() == "reviewed":
            return queryset.filter(reviewed_at__isnull=False)
        if self.value() == "matched":
            return queryset.filter(label=Difference.MATCHED)
        return queryset


class ReviewActionForm(ActionForm):
    note = forms.CharField(
        required=False, max_length=500, label="Note", help_text="Kept with a review."
    )


@admin.register(ReconciliationRow)
class ReconciliationRowAdmin(CsvExportMixin, admin.ModelAdmin):
    list_display = [
        "label",
        "ringba_call_id",
        "call_link",
        "caller_id",
        "our_at",
        "their_at",
        "our_amount",
        "their_amount",
        "matched_by",
        "fix",
        "reviewed",
    ]
    list_filter = [RowStateFilter, "label", "run__traffic_source"]
    list_select_related = ["call", "run"]
    search_fields = ["ringba_call_id", "caller_id"]
    actions = ["send_postbacks", "send_adjustments", "review"]
    action_form = ReviewActionForm
    list_per_page = 100
    csv_columns = (
        ("Inbound Call ID", lambda row: row.ringba_call_id),
        ("Label", lambda row: row.label),
        ("Caller ID", lambda row: row.caller_id),
        ("Our Call Date (UTC)", lambda row: row.our_at),
        ("Ringba Call Date (UTC)", lambda row: row.their_at),
        ("Our Amount", lambda row: row.our_amount),
        ("Ringba Amount", lambda row: row.their_amount),
        ("Matched By", lambda row: row.matched_by),
        ("Portal Call", lambda row: row.call.call_uuid if row.call else ""),
        ("Reviewed By", lambda row: row.reviewed_by),
        ("Note", lambda row: row.note),
    )

    def get_queryset(self, request):
        rows = super().get_queryset(request)
        if "run__id__exact" not in request.GET and request.resolver_match.url_name.endswith(
            "changelist"
        ):
            # Without a run: each partner's latest run only (older runs are history).
            rows = rows.filter(run__in=latest_runs().values("pk"))
        return rows

    def csv_queryset(self, queryset):
        return queryset.select_related("call")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="call")
    def call_link(self, row):
        return change_link(row.call, row.call.call_uuid, limit=8) if row.call else "—"

    @admin.display(description="fix")
    def fix(self, row):
        return {"postback": "send the postback", "adjustment": "send the adjustment"}.get(
            fix_for(row), "review"
        )

    @admin.display(description="reviewed")
    def reviewed(self, row):
        if row.reviewed_at is None:
            return "—" if row.label == Difference.MATCHED else "open"
        return f"{row.reviewed_by} {row.reviewed_at:%Y-%m-%d}: {row.note}"

    def _who(self, request) -> str:
        return f"admin ({request.user.get_username()})"

    @admin.action(description="Send the missing postback", permissions=["change"])
    def send_postbacks(self, request, queryset):
        self._each(request, queryset, send_missing_postback)

    @admin.action(description="Send the adjustment to Ringba", permissions=["change"])
    def send_adjustments(self, request, queryset):
        self._each(request, queryset, send_adjustment)

    @admin.action(description="Mark reviewed (with the note)", permissions=["change"])
    def review(self, request, queryset):
        note = request.POST.get("note", "").strip()
        done = mark_reviewed(queryset, who=self._who(request), note=note)
        self.message_user(request, f"{done} row(s) marked reviewed.", messages.SUCCESS)

    def _each(self, request, queryset, fix) -> None:
        for row in queryset[:200]:
            done, message = fix(row, who=self._who(request))
            self.message_user(request, message, messages.SUCCESS if done else messages.WARNING)
