"""New From Template: make a trigger from a Ringba template, with the partner mapping it needs."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from ..models import Offer, TrafficSource, TriggerTemplate
from ..rules.ringba import ENRICH_TEMPLATE_SLUG
from ..services.triggers import add_partner_mapping, covering_trigger, create_trigger_from_template


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


class NewFromTemplateView:
    """The trigger admin's New From Template page (its URL and view)."""

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
