"""Small helpers that render links between related rows in the admin."""

from django.contrib.humanize.templatetags.humanize import naturaltime
from django.urls import reverse
from django.utils.html import format_html


def change_url(obj) -> str:
    meta = obj._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])


def change_link(obj, text=None, *, limit: int | None = None):
    """Return an HTML link to ``obj``'s admin change page, or '—' for None.

    With ``limit``, a longer text is cut (a uuid in a list column) and shown whole
    as the link's tooltip.
    """
    if obj is None:
        return "—"
    url = change_url(obj)
    text = str(text if text is not None else obj)
    if limit is not None and len(text) > limit:
        return format_html('<a href="{}" title="{}">{}…</a>', url, text, text[:limit])
    return format_html('<a href="{}">{}</a>', url, text)


def cut(text, limit: int):
    """``text`` cut to ``limit`` characters for a list column, whole in a tooltip."""
    text = str(text or "")
    if len(text) <= limit:
        return text or "—"
    return format_html('<span title="{}">{}…</span>', text, text[:limit])


def changelist_link(model, text, **filters):
    """Return a link to ``model``'s changelist filtered by ``filters``."""
    meta = model._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
    query = "&".join(f"{key}={value}" for key, value in filters.items())
    return format_html('<a href="{}?{}">{}</a>', url, query, text)


def when_link(model, when, **filters):
    """Return "3 minutes ago" (or "never") linking to ``model``'s changelist filtered."""
    return changelist_link(model, naturaltime(when) if when else "never", **filters)


def in_words(seconds: int) -> str:
    """A duration as people say it: "45 s", "3 min 5 s", "2 h 10 min", "1 day 2 h"."""
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "day" if days == 1 else "days"), (hours, "h"), (minutes, "min"), (secs, "s")]
    shown = [f"{value} {unit}" for value, unit in parts if value]
    return " ".join(shown[:2]) or "0 s"


def format_html_join_or_dash(wrapper: str, row: str, rows, *, empty: str = "—"):
    """Render ``rows`` (argument tuples) with ``row`` inside ``wrapper``, or ``empty``."""
    from django.utils.html import format_html_join

    rows = list(rows)
    if not rows:
        return empty
    return format_html(wrapper, format_html_join("", row, rows))
