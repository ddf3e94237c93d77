from django import forms
from django.contrib import admin
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html

from ..models import ContactField, Lead, Offer
from ..partner_page import instructions
from ..partner_page.links import partner_url
from .big_tables import PageFiguresAdmin, count_of, newest_of
from .history import ChangeReasonForm, ChangeReasonMixin, ConfigHistoryAdmin
from .lead_tokens import RotateLeadTokenMixin
from .links import in_words, when_link
from .rejections import rejected_pixels_link


class ContactFieldForm(forms.ModelForm):
    """One-line inputs, so a field's nine settings fit three rows at 1280 px."""

    class Meta:
        model = ContactField
        fields = [
            "name",
            "display_name",
            "field_type",
            "position",
            "required",
            "show_in_instructions",
            "pattern",
            "acceptable_values",
            "description",
        ]
        widgets = {
            "position": forms.NumberInput(attrs={"style": "width: 4em"}),
            "name": forms.TextInput(attrs={"size": 22}),
            "display_name": forms.TextInput(attrs={"size": 28}),
            "pattern": forms.TextInput(attrs={"size": 40, "placeholder": r"e.g. ^\d{5}$"}),
            "acceptable_values": forms.Textarea(
                attrs={"rows": 2, "cols": 40, "placeholder": "one per line"}
            ),
            "description": forms.TextInput(attrs={"size": 60}),
        }


class ContactFieldInline(admin.StackedInline):
    # Stacked, three rows per field (was a 2,600 px wide table, issue 14).
    model = ContactField
    form = ContactFieldForm
    extra = 0
    fields = [
        ("name", "display_name", "field_type", "position"),
        ("required", "show_in_instructions"),
        ("pattern", "acceptable_values"),
        "description",
    ]


class OfferForm(ChangeReasonForm):
    class Meta:
        model = Offer
        fields = "__all__"


@admin.register(Offer)
class OfferAdmin(ChangeReasonMixin, RotateLeadTokenMixin, ConfigHistoryAdmin, PageFiguresAdmin):
    form = OfferForm
    history_related = (("contact fields", ContactField, "offer_id"),)
    list_display = [
        "name",
        "active",
        "token_hint",
        "source_count",
        "last_pixel",
        "duplicate_policy",
        "conversion_rule",
        "updated_at",
    ]
    list_filter = [
        "active",
        "duplicate_policy",
        "enforce_contact_field_validations",
        "traffic_sources",
    ]
    search_fields = ["name"]
    filter_horizontal = ["traffic_sources"]
    readonly_fields = [
        "lead_token_display",
        "lead_token_rotated_at",
        "rejected_pixels",
        "created_at",
        "updated_at",
    ]
    inlines = [ContactFieldInline]
    actions = ["rotate_lead_tokens"]
    change_form_template = "admin/integrations/offer/change_form.html"
    fieldsets = [
        (None, {"fields": ["name", "active", "traffic_sources"]}),
        (
            "Lead capture",
            {
                "fields": [
                    "lead_token_display",
                    "lead_token_rotated_at",
                    "enforce_contact_field_validations",
                    "duplicate_policy",
                    "match_window_seconds",
                    "rejected_pixels",
                ]
            },
        ),
        ("Pay-per-call conversion rule", {"fields": ["payout", "min_duration_seconds"]}),
        ("Audit", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        window = form.base_fields.get("match_window_seconds")
        if window is not None and obj is not None:
            window.help_text = f"{window.help_text} Now: {in_words(obj.match_window_seconds)}."
        return form

    def get_urls(self):
        return [
            path(
                "<int:offer_id>/posting-instructions/",
                self.admin_site.admin_view(self.posting_instructions),
                name="integrations_offer_posting_instructions",
            ),
            *super().get_urls(),
        ]

    def posting_instructions(self, request, offer_id: int):
        """Show the posting instructions for one of the sources enabled on the offer."""
        offer = get_object_or_404(Offer, pk=offer_id)
        if not self.has_view_permission(request, offer):
            raise Http404
        sources = list(offer.traffic_sources.filter(active=True))
        chosen = request.GET.get("traffic_source", "")
        source = next((each for each in sources if str(each.pk) == chosen), None)
        if source is None and len(sources) == 1:
            source = sources[0]
        context = {
            **self.admin_site.each_context(request),
            "title": f"Posting instructions: {offer.name}",
            "opts": self.model._meta,
            "offer": offer,
            "sources": sources,
            "source": source,
        }
        if source is not None:
            context.update(instructions.build(offer, source))
            context["share_url"] = partner_url(offer, source)
        return TemplateResponse(
            request, "admin/integrations/offer/posting_instructions.html", context
        )

    def list_annotations(self):
        return {
            "_sources": count_of(Offer.traffic_sources.through, "offer"),
            "_last_pixel": newest_of(Lead, "offer", "received_at"),
        }

    @admin.display(description="lead token")
    def token_hint(self, offer):
        return offer.lead_token_hint

    @admin.display(description="lead token")
    def lead_token_display(self, offer):
        if not offer.pk:
            return "Generated when the offer is saved."
        return format_html(
            '<code id="lead-token">{}</code> <button type="button" class="button copy-button" '
            'data-copy-target="lead-token">Copy</button>',
            offer.lead_token,
        )

    @admin.display(description="rejected pixels")
    def rejected_pixels(self, offer):
        if not offer.pk:
            return "—"
        return rejected_pixels_link(offer__id__exact=offer.pk)

    @admin.display(description="sources")
    def source_count(self, offer):
        return offer._sources

    @admin.display(description="last pixel")
    def last_pixel(self, offer):
        """When the offer last received a lead, linking to its leads (not a count: that
        would read every lead of a busy offer on every page)."""
        return when_link(Lead, offer._last_pixel, offer__id__exact=offer.pk)

    @admin.display(description="conversion rule")
    def conversion_rule(self, offer):
        if not offer.has_conversion_rule:
            return "—"
        return f"{offer.payout} at ≥ {offer.min_duration_seconds} s"
