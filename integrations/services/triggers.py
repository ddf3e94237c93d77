"""Create event triggers from the shipped templates ("New From Template")."""

from django.db import transaction

from ..models import EventTrigger, TriggerTemplate
from ..ringba import localize_webhook_url


def create_trigger_from_template(
    *, template: TriggerTemplate, offer=None, name: str | None = None
) -> EventTrigger:
    """Create an active trigger that is a copy of ``template``; return it.

    The Ringba template's host becomes this deployment's RINGBA_WEBHOOK_BASE_URL,
    so a trigger works without edits. Mapping groups (e.g. ringba_webhook_token)
    are ready for rows in the admin.
    """
    trigger = EventTrigger(
        name=name or template.name,
        template=template,
        offer=offer,
        event=template.event,
        conditions=list(template.conditions),
        http_method=template.http_method,
        url_template=localize_webhook_url(template.url_template),
        active=True,
    )
    trigger.full_clean()
    with transaction.atomic():
        trigger.save()
    return trigger
