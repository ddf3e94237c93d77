"""Tell the account manager which postbacks a configuration change does not reach.

A postback is rendered when its event fires. After a trigger, its mappings or a
number's extra tokens change, the postbacks already built keep the old settings
until they are rebuilt (the deliveries list's "Rebuild from the current
configuration and send"); the pages that make such changes say how many.
"""

from django.contrib import messages
from django.utils.html import format_html

from ..models import PostbackDelivery
from .links import changelist_link


def edited(form, formsets) -> bool:
    """True when the form or any of its inlines changed something."""
    return form.has_changed() or any(formset.has_changed() for formset in formsets)


def tell_stale_postbacks(model_admin, request, count: int, whose: str, **filters) -> None:
    """Warn that ``count`` postbacks (``whose``: "of this trigger") keep the old settings."""
    if not count:
        return
    link = changelist_link(
        PostbackDelivery,
        f"{count} postback(s) {whose}",
        is_test__exact=0,
        status__in="pending,retrying,failed,skipped",
        **filters,
    )
    model_admin.message_user(
        request,
        format_html(
            "{} not delivered yet were built with the previous settings and keep them. To "
            "apply this change to them, select them and choose “Rebuild from the current "
            "configuration and send”.",
            link,
        ),
        messages.WARNING,
    )
