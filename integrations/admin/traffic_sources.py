from django import forms
from django.contrib import admin

from ..models import Call, Lead, Offer, PartnerRingbaToken, TrafficSource
from ..services.partner_credentials import clear_ringba_token, set_ringba_token
from .big_tables import PageFiguresAdmin, count_of, newest_of
from .history import ConfigHistoryAdmin
from .links import when_link
from .rejections import rejected_pixels_link


class TrafficSourceForm(forms.ModelForm):
    """The partner's settings, with its Ringba API token write-only (never shown again)."""

    ringba_api_token = forms.CharField(
        label="partner's Ringba API token",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Paste the token the partner created for you in Ringba (Settings → API "
        "Access Tokens). Stored encrypted; never shown again. Leave empty to keep the one on "
        "file.",
    )
    forget_ringba_api_token = forms.BooleanField(label="forget the token on file", required=False)

    class Meta:
        model = TrafficSource
        fields = [
            "name",
            "company",
            "traffic_source_id",
            "platform",
            "active",
            "adjustment_mode",
            "ringba_account_id",
        ]


@admin.register(TrafficSource)
class TrafficSourceAdmin(ConfigHistoryAdmin, PageFiguresAdmin):
    form = TrafficSourceForm
    fieldsets = [
        (None, {"fields": ["name", "company", "traffic_source_id", "platform", "active"]}),
        (
            "Returns and adjustments after payment (Ringba's API)",
            {
                "fields": [
                    "adjustment_mode",
                    "ringba_account_id",
                    "ringba_api_token",
                    "ringba_token_on_file",
                    "forget_ringba_api_token",
                ]
            },
        ),
        ("Activity", {"fields": ["rejected_pixels", "created_at", "updated_at"]}),
    ]
    list_display = [
        "name",
        "traffic_source_id",
        "company",
        "platform",
        "active",
        "offer_count",
        "last_pixel",
        "last_call",
    ]
    list_filter = ["active", "platform"]
    search_fields = ["name", "company", "traffic_source_id"]
    readonly_fields = ["rejected_pixels", "ringba_token_on_file", "created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        who = request.user.get_username()
        if form.cleaned_data.get("ringba_api_token"):
            set_ringba_token(source=obj, token=form.cleaned_data["ringba_api_token"], who=who)
            self.log_change(request, obj, "Set the partner's Ringba API token (not shown)")
        elif form.cleaned_data.get("forget_ringba_api_token") and clear_ringba_token(source=obj):
            self.log_change(request, obj, "Forgot the partner's Ringba API token")

    @admin.display(description="token on file")
    def ringba_token_on_file(self, source):
        token = PartnerRingbaToken.objects.filter(traffic_source_id=source.pk).first()
        if token is None:
            return "none: returns and adjustments after payment are listed to do by hand"
        return (
            f"…{token.last_four} (set by {token.set_by or 'unknown'}, {token.updated_at:%Y-%m-%d})"
        )

    def list_annotations(self):
        # Newest rows, not counts: a partner's total calls would read all of them.
        return {
            "_offers": count_of(Offer.traffic_sources.through, "trafficsource"),
            "_last_pixel": newest_of(Lead, "traffic_source", "received_at"),
            "_last_call": newest_of(Call, "traffic_source", "started_at"),
        }

    @admin.display(description="rejected pixels")
    def rejected_pixels(self, source):
        if not source.pk:
            return "—"
        return rejected_pixels_link(traffic_source__id__exact=source.pk)

    @admin.display(description="offers")
    def offer_count(self, source):
        return source._offers

    @admin.display(description="last pixel")
    def last_pixel(self, source):
        return when_link(Lead, source._last_pixel, traffic_source__id__exact=source.pk)

    @admin.display(description="last call")
    def last_call(self, source):
        return when_link(Call, source._last_call, traffic_source__id__exact=source.pk)
