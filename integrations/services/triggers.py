"""Create event triggers from the shipped templates ("New From Template")."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from ..models import EventTrigger, TriggerTemplate
from ..ringba import localize_webhook_url


def covering_trigger(*, template: TriggerTemplate, offer=None) -> EventTrigger | None:
    """Return an active trigger from ``template`` whose scope overlaps ``offer``'s.

    A global trigger covers every offer; a new global one overlaps every existing
    copy. Two overlapping copies would send every postback twice.
    """
    copies = EventTrigger.objects.filter(template=template, active=True)
    if offer is not None:
        copies = copies.filter(Q(offer__isnull=True) | Q(offer=offer))
    return copies.order_by("pk").first()


def create_trigger_from_template(
    *, template: TriggerTemplate, offer=None, name: str | None = None
) -> EventTrigger:
    """Create an active trigger that is a copy of ``template``; return it.

    The Ringba template's host becomes this deployment's RINGBA_WEBHOOK_BASE_URL,
    so a trigger works without edits. Mapping groups (e.g. ringba_webhook_token)
    are ready for rows in the admin. Raises ValidationError when an active copy
    already covers the scope (naming it), or when the copy would not be valid.
    """
    with transaction.atomic():
        covering = covering_trigger(template=template, offer=offer)
        if covering is not None:
            raise ValidationError(
                f"“{covering.name}” (trigger {covering.pk}, {covering.scope_label}) already "
                f"covers {'this offer' if offer else 'some offers'}; add mappings to it "
                "instead, or deactivate it first.",
                code="already_covered",
            )
        trigger = EventTrigger(
            name=name or (f"{template.name} — {offer.name}" if offer else template.name),
            template=template,
            offer=offer,
            event=template.event,
            conditions=list(template.conditions),
            http_method=template.http_method,
            url_template=localize_webhook_url(template.url_template),
            active=True,
        )
        trigger.full_clean()
        trigger.save()
    return trigger
