"""The trigger form an account manager can read: conditions as rows, tokens listed.

Conditions stay stored as the JSON list they always were; the form shows each rule
as a row (token, operator, value) with two blank rows for new ones, and the URL
field lists the tokens a URL can use.
"""

import json

from django import forms
from django.template.loader import render_to_string
from django.utils.html import format_html, format_html_join

from ..models import EventTrigger
from ..outbound.tokens import SYSTEM_TOKENS
from ..rules import conditions
from ..rules.ringba import CALL_UUID_TOKEN_NAME, WEBHOOK_TOKEN_NAME
from .history import ChangeReasonForm

BLANK_ROWS = 2


class ConditionsWidget(forms.Widget):
    """Rows of token / operator / value, read back as the JSON list the field stores."""

    template_name = "admin/integrations/eventtrigger/conditions_widget.html"

    def format_value(self, value):
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.strip() else []
            except ValueError:
                value = []
        return value if isinstance(value, list) else []

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        rules = [rule for rule in self.format_value(value) if isinstance(rule, dict)]
        context["rows"] = [
            {
                "token": rule.get("token", ""),
                "operator": rule.get("operator", ""),
                "value": "" if rule.get("value") is None else rule.get("value"),
            }
            for rule in rules
        ] + [{"token": "", "operator": "", "value": ""}] * BLANK_ROWS
        context["operators"] = conditions.OPERATORS
        context["unary"] = sorted(conditions.UNARY_OPERATORS)
        return context

    def render(self, name, value, attrs=None, renderer=None):
        return render_to_string(self.template_name, self.get_context(name, value, attrs))

    def value_from_datadict(self, data, files, name):
        if name in data:  # a client posting the JSON itself (API-style, or old forms)
            return data[name]
        tokens = data.getlist(f"{name}-token")
        operators = data.getlist(f"{name}-operator")
        values = data.getlist(f"{name}-value")
        rules = []
        for token, operator, value in zip(tokens, operators, values, strict=False):
            token, operator = token.strip(), operator.strip()
            if not token and not operator:
                continue  # a blank row
            rule = {"token": token, "operator": operator}
            if operator not in conditions.UNARY_OPERATORS:
                rule["value"] = value
            rules.append(rule)
        return json.dumps(rules)

    def value_omitted_from_data(self, data, files, name):
        return name not in data and f"{name}-token" not in data


def available_tokens_help() -> str:
    """The tokens a trigger URL can use, as the help text under the URL field."""
    groups = [
        ("Computed per call", sorted(SYSTEM_TOKENS)),
        ("From Ringba", [CALL_UUID_TOKEN_NAME, WEBHOOK_TOKEN_NAME]),
    ]
    rendered = format_html_join(
        "",
        "<br><strong>{}:</strong> {}",
        (
            (title, format_html_join(" ", "<code>[{}]</code>", ((name,) for name in names)))
            for title, names in groups
        ),
    )
    return format_html(
        "Tokens as [token_name] or [token_name]{{default}}; values are URL-encoded. "
        "Any pixel field (e.g. <code>[first_name]</code>), post-call token, number extra "
        "token or field mapping below can be used too.{}",
        rendered,
    )


class EventTriggerForm(ChangeReasonForm):
    class Meta:
        model = EventTrigger
        fields = "__all__"
        widgets = {
            "name": forms.TextInput(attrs={"size": 100}),
            "url_template": forms.Textarea(attrs={"rows": 2, "cols": 100}),
            "conditions": ConditionsWidget(),
            "body_template": forms.Textarea(attrs={"rows": 4, "cols": 100}),
            "header_templates": forms.Textarea(attrs={"rows": 2, "cols": 100}),
        }
        help_texts = {"conditions": "Every rule must hold for the trigger to fire."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "url_template" in self.fields:
            self.fields["url_template"].help_text = available_tokens_help()
        if "header_templates" in self.fields and self.initial.get("header_templates") is None:
            self.initial["header_templates"] = {}  # "{}" in the box, not "null"

    def clean_header_templates(self):
        return self.cleaned_data.get("header_templates") or None
