"""Lead-to-Call schedules and their lead queue (SPEC §12)."""

import contextlib
import uuid

from django import forms
from django.contrib import admin, messages
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from rangefilter.filters import DateRangeFilter

from ..hours.time_zones import time_zone_choices
from ..hours.windows import day_hours_text, parse_day_hours
from ..models import (
    OPEN_STATES,
    Call,
    PostbackDelivery,
    Schedule,
    ScheduleContactField,
    ScheduleLead,
    ScheduleLeadTransition,
)
from ..partner_page.links import partner_url
from ..services import schedules
from .big_tables import BigTableAdmin, PageFiguresAdmin, newest_of, phone_variants
from .csv_export import CsvExportMixin
from .history import ConfigHistoryAdmin
from .lead_tokens import RotateLeadTokenMixin
from .links import cut, when_link
from .offers import ContactFieldForm, ContactFieldInline


class ScheduleContactFieldForm(ContactFieldForm):
    class Meta(ContactFieldForm.Meta):
        model = ScheduleContactField


class ScheduleContactFieldInline(ContactFieldInline):
    model = ScheduleContactField
    form = ScheduleContactFieldForm


WEEKDAY_CHOICES = [
    ("1", "Mon"),
    ("2", "Tue"),
    ("3", "Wed"),
    ("4", "Thu"),
    ("5", "Fri"),
    ("6", "Sat"),
    ("7", "Sun"),
]


class ScheduleForm(forms.ModelForm):
    """Contact days as seven checkboxes; stored as ISO weekday digits ("12345")."""

    contact_days = forms.MultipleChoiceField(
        choices=WEEKDAY_CHOICES,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "weekday-boxes"}),
        help_text="Days leads may be called, in the schedule's time zone.",
    )

    class Meta:
        model = Schedule
        fields = [
            "name",
            "active",
            "offer",
            "traffic_sources",
            "hours_to_expire",
            "max_contact_attempts",
            "retry_minutes",
            "contact_days",
            "contact_start",
            "contact_end",
            "time_zone",
        ]
        # The account's country first, regional zones only (time_zones).
        # A calling window is a time of day: no "Now" shortcut, no clock widget.
        widgets = {
            "time_zone": forms.Select(choices=time_zone_choices),
            "contact_start": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "contact_end": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }

    hours_by_day = forms.CharField(
        label="Hours of their own",
        required=False,
        max_length=300,
        help_text="Weekdays whose hours differ from the window above, e.g. "
        "'Sat 10:00-14:00; Sun 12:00-16:00' (TrackDrive's hours per weekday).",
        widget=forms.TextInput(attrs={"size": 60}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial["contact_days"] = list(self.instance.contact_days or "")
        self.initial["hours_by_day"] = day_hours_text(self.instance.window.day_hours)

    def clean_contact_days(self):
        return "".join(sorted(self.cleaned_data["contact_days"]))

    def clean_hours_by_day(self):
        try:
            return parse_day_hours(self.cleaned_data.get("hours_by_day") or "")
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def save(self, commit=True):
        self.instance.day_hours = {
            str(day): [f"{start:%H:%M}", f"{end:%H:%M}"]
            for day, (start, end) in self.cleaned_data.get("hours_by_day", {}).items()
        }
        return super().save(commit=commit)


@admin.register(Schedule)
class ScheduleAdmin(RotateLeadTokenMixin, ConfigHistoryAdmin, PageFiguresAdmin):
    form = ScheduleForm
    history_related = (("contact fields", ScheduleContactField, "schedule_id"),)
    list_display = [
        "name",
        "active",
        "offer",
        "token_hint",
        "contact_window",
        "hours_to_expire",
        "max_contact_attempts",
        "last_pixel",
    ]
    list_filter = ["active", "offer"]
    search_fields = ["name"]
    list_select_related = ["offer"]
    filter_horizontal = ["traffic_sources"]
    readonly_fields = [
        "lead_token_display",
        "lead_token_rotated_at",
        "lead_queue",
        "posting_instructions",
        "created_at",
        "updated_at",
    ]
    inlines = [ScheduleContactFieldInline]
    actions = ["rotate_lead_tokens"]
    fieldsets = [
        (None, {"fields": ["name", "active", "offer", "traffic_sources"]}),
        (
            "Lead capture (Ringba: Fire Pixel On Finalized)",
            {
                "fields": [
                    "lead_token_display",
                    "lead_token_rotated_at",
                    "posting_instructions",
                    "lead_queue",
                ]
            },
        ),
        (
            "Working the leads",
            {
                "fields": [
                    "hours_to_expire",
                    "max_contact_attempts",
                    "retry_minutes",
                    # Days, then the window's start and end side by side, then its zone:
                    # one value per column, nothing wrapping under another.
                    "contact_days",
                    ("contact_start", "contact_end"),
                    "hours_by_day",
                    "time_zone",
                ]
            },
        ),
        ("Audit", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    def list_annotations(self):
        return {"_last_pixel": newest_of(ScheduleLead, "schedule", "received_at")}

    @admin.display(description="lead token")
    def token_hint(self, schedule):
        return schedule.lead_token_hint

    @admin.display(description="lead token")
    def lead_token_display(self, schedule):
        if not schedule.pk:
            return "Generated when the schedule is saved."
        return format_html(
            '<code id="lead-token">{}</code> <button type="button" class="button copy-button" '
            'data-copy-target="lead-token">Copy</button>',
            schedule.lead_token,
        )

    @admin.display(description="contact window")
    def contact_window(self, schedule):
        days = "".join("MTWTFSS"[int(day) - 1] for day in sorted(schedule.contact_days))
        own = day_hours_text(schedule.window.day_hours)
        return (
            f"{days} {schedule.contact_start:%H:%M}-{schedule.contact_end:%H:%M}"
            + (f" ({own})" if own else "")
            + f" {schedule.time_zone}"
        )

    @admin.display(description="last pixel")
    def last_pixel(self, schedule):
        return when_link(ScheduleLead, schedule._last_pixel, schedule__id__exact=schedule.pk)

    @admin.display(description="lead queue")
    def lead_queue(self, schedule):
        if not schedule.pk:
            return "—"
        url = reverse("admin:integrations_schedulelead_changelist")
        return format_html(
            '<a href="{}?schedule__id__exact={}&amp;open=yes">Open leads</a> · '
            '<a href="{}?schedule__id__exact={}">all leads</a>',
            url,
            schedule.pk,
            url,
            schedule.pk,
        )

    @admin.display(description="posting instructions (share links)")
    def posting_instructions(self, schedule):
        if not schedule.pk:
            return "—"
        sources = schedule.traffic_sources.filter(active=True)
        if not sources:
            return "Enable a traffic source to get its posting instructions."
        return format_html_join(
            " · ",
            '<a href="{}" target="_blank" rel="noopener">{}</a>',
            ((partner_url(schedule, source), source.name) for source in sources),
        )


class OpenFilter(admin.SimpleListFilter):
    title = "open"
    parameter_name = "open"

    def lookups(self, request, model_admin):
        return [("yes", "Open (queued or contacting)"), ("no", "Closed")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(state__in=OPEN_STATES)
        if self.value() == "no":
            return queryset.exclude(state__in=OPEN_STATES)
        return queryset


class TransitionInline(admin.TabularInline):
    model = ScheduleLeadTransition
    extra = 0
    can_delete = False
    fields = ["at", "from_state", "to_state", "cause"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ScheduleLead)
class ScheduleLeadAdmin(CsvExportMixin, BigTableAdmin):
    csv_columns = (
        ("received_at", lambda lead: lead.received_at),
        ("schedule_lead_uuid", lambda lead: lead.uuid),
        ("ringba_call_uuid", lambda lead: lead.ringba_call_uuid),
        ("caller_id", lambda lead: lead.caller_id),
        ("schedule", lambda lead: lead.schedule.name),
        ("offer", lambda lead: lead.schedule.offer.name),
        ("traffic_source", lambda lead: lead.traffic_source.name),
        ("traffic_source_id", lambda lead: lead.traffic_source.traffic_source_id),
        ("state", lambda lead: lead.state),
        ("calls_placed", lambda lead: lead.attempts),
        ("expires_at", lambda lead: lead.expires_at),
        ("updated_at", lambda lead: lead.updated_at),
    )
    list_display = [
        "short_uuid",
        "schedule",
        "caller_id",
        "state",
        "attempts",
        "next_action",
        "expires_at",
        "received_at",
    ]
    list_filter = [
        OpenFilter,
        "state",
        "schedule",
        ("received_at", DateRangeFilter),
        "is_test",
    ]
    list_select_related = ["schedule"]
    search_help_text = "Caller number, Ringba call id or lead uuid."
    search_fields = ["caller_id"]  # the search box; conditions in search_conditions
    inlines = [TransitionInline]
    actions = ["requeue", "opt_out"]
    fieldsets = [
        (
            None,
            {"fields": ["uuid", "schedule", "traffic_source", "caller_id", "state", "is_test"]},
        ),
        (
            "Working",
            {
                "fields": [
                    "attempts",
                    "next_action",
                    "next_attempt_at",
                    "expires_at",
                    "lease_expires_at",
                    "lease_holder",
                    "calls_placed",
                    "deliveries",
                ]
            },
        ),
        (
            "Pixel",
            {
                "fields": [
                    "ringba_call_uuid",
                    "tokens",
                    "warnings",
                    "received_at",
                    "raw_body",
                    "raw_query",
                    "content_type",
                    "source_ip",
                    "user_agent",
                ]
            },
        ),
    ]

    def csv_queryset(self, queryset):
        return queryset.select_related("schedule__offer", "traffic_source")

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in ScheduleLead._meta.fields if field.name != "id"] + [
            "next_action",
            "calls_placed",
            "deliveries",
        ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Every field is read-only: change permission is for the list's actions.
        extra_context = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def search_conditions(self, term: str) -> Q:
        conditions = Q(ringba_call_uuid=term) | Q(caller_id__in=phone_variants(term))
        with contextlib.suppress(ValueError):  # not a uuid: the other conditions stand
            conditions |= Q(uuid=uuid.UUID(term))
        return conditions

    @admin.display(description="lead")
    def short_uuid(self, lead):
        return cut(str(lead.uuid), 13)

    @admin.display(description="next")
    def next_action(self, lead):
        if not lead.is_open:
            return "— (closed)"
        now = timezone.now()
        if lead.lease_expires_at and lead.lease_expires_at > now:
            return f"leased to {lead.lease_holder} until {lead.lease_expires_at:%H:%M:%S}"
        if lead.attempts >= lead.schedule.max_contact_attempts:
            return "no attempts left; exhausted after its retry spacing"
        if lead.next_attempt_at > now:
            return f"due at {timezone.localtime(lead.next_attempt_at):%Y-%m-%d %H:%M}"
        if not lead.schedule.window.is_open(now):
            opening = lead.schedule.window.next_opening(now)
            return f"due when the window opens ({timezone.localtime(opening):%a %H:%M})"
        return "due now"

    @admin.display(description="calls")
    def calls_placed(self, lead):
        calls = Call.objects.filter(schedule_lead=lead).order_by("started_at")
        if not calls:
            return "—"
        return format_html_join(
            ", ",
            '<a href="{}">{}</a>{}',
            (
                (
                    reverse("admin:integrations_call_change", args=[call.pk]),
                    call.call_uuid,
                    " (converted)" if call.offer_converted or call.buyer_converted else "",
                )
                for call in calls
            ),
        )

    @admin.display(description="postbacks for the lead's events")
    def deliveries(self, lead):
        """The lead's own events (added, due, expired, converted); each call's postbacks
        are on the call's page."""
        own = PostbackDelivery.objects.filter(schedule_lead=lead).count()
        url = reverse("admin:integrations_postbackdelivery_changelist")
        return format_html('<a href="{}?schedule_lead__id__exact={}">{}</a>', url, lead.pk, own)

    @admin.action(
        description="Requeue (a fresh round of attempts and expiry)", permissions=["change"]
    )
    def requeue(self, request, queryset):
        done = sum(
            schedules.requeue(lead, cause=f"admin: requeued by {request.user}") for lead in queryset
        )
        self.message_user(
            request,
            f"Requeued {done} lead(s); converted and opted-out leads are never requeued.",
            messages.SUCCESS,
        )

    @admin.action(description="Opt out (never call again)", permissions=["change"])
    def opt_out(self, request, queryset):
        for lead in queryset:
            schedules.opt_out(lead.uuid, cause=f"admin: opted out by {request.user}")
        self.message_user(request, f"Opted out {queryset.count()} lead(s).", messages.SUCCESS)
