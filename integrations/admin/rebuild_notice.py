"""Tell the account manager which postbacks a configuration change does not reach.

A postback is rendered when its event fires. After a trigger, its mappings or a
number's extra tokens change, the postbacks already built keep the old settings
until they are rebuilt (the deliveries list's "Rebuild from the current
configuration and send"); the pages that make such changes say how many.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.middleware.csrf import get_token
from django.urls import reverse
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
    selection = {"is_test__exact": 0, "status__in": "pending,retrying,failed,skipped", **filters}
    link = changelist_link(PostbackDelivery, f"{count} postback(s) {whose}", **selection)
    # One click to the rebuild's confirmation (old → new request for each), for exactly
    # these postbacks: the deliveries list's action on everything the filter matches.
    action_url = (
        reverse("admin:integrations_postbackdelivery_changelist") + "?" + urlencode(selection)
    )
    model_admin.message_user(
        request,
        format_html(
            "{} not delivered yet were built with the previous settings and keep them. "
            '<form method="post" action="{}" class="inline-action rebuild-offer">'
            '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
            '<input type="hidden" name="action" value="rebuild_and_send">'
            '<input type="hidden" name="select_across" value="1">'
            # Django wants one ticked row even when the action takes every match.
            '<input type="hidden" name="_selected_action" value="0">'
            '<input type="hidden" name="index" value="0">'
            '<button type="submit" class="button">Preview the rebuild…</button></form>',
            link,
            action_url,
            get_token(request),
        ),
        messages.WARNING,
    )
