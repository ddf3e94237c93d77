"""Small helpers that render links between related rows in the admin."""

from django.contrib.humanize.templatetags.humanize import naturaltime
from django.urls import reverse
from django.utils.html import format_html


def change_link(obj, text=None):
    """Return an HTML link to ``obj``'s admin change page, or '—' for None."""
    if obj is None:
        return "—"
    meta = obj._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, text if text is not None else obj)


def changelist_link(model, text, **filters):
    """Return a link to ``model``'s changelist filtered by ``filters``."""
    meta = model._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
    query = "&".join(f"{key}={value}" for key, value in filters.items())
    return format_html('<a href="{}?{}">{}</a>', url, query, text)


def when_link(model, when, **filters):
    """Return "3 minutes ago" (or "never") linking to ``model``'s changelist filtered."""
    return changelist_link(model, naturaltime(when) if when else "never", **filters)
