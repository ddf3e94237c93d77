"""The page an admin action shows before it acts: what is selected and what will happen.

Each such page posts the selection back to its action (``action_checkbox_name``),
with "apply" when the person confirmed; the action's form is bound only then.
"""

from django.contrib import admin
from django.template.response import TemplateResponse


def action_form(form_class, request):
    """The action's form: bound when its confirmation page was submitted, else empty."""
    return form_class(request.POST if "apply" in request.POST else None)


def confirmation_page(model_admin, request, template: str, title: str, **context):
    """Render an action's confirmation page for ``model_admin``'s selected rows."""
    return TemplateResponse(
        request,
        template,
        {
            **model_admin.admin_site.each_context(request),
            "title": title,
            "opts": model_admin.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            **context,
        },
    )
