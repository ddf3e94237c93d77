"""Create event triggers from the shipped templates ("New From Template")."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from ..models import CustomFieldMapping, EventTrigger, TriggerTemplate
from ..rules.ringba import ENRICH_TEMPLATE_SLUG, localize_ringba_url


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
    *,
    template: TriggerTemplate,
    offer=None,
    name: str | None = None,
    traffic_source=None,
    mapping_value: str = "",
) -> EventTrigger:
    """Create an active trigger that is a copy of ``template``; return it.

    The Ringba templates' hosts become this deployment's RINGBA_WEBHOOK_BASE_URL and
    RINGBA_ENRICH_BASE_URL, so a trigger works without edits. Given a
    ``traffic_source`` and ``mapping_value``, the template's first mapping token
    (e.g. the partner's ringba_number_id) gets its row for that source. An IDE
    trigger for one offer also sends the offer's contact fields (each optional).
    Raises ValidationError when an active copy already covers the scope (naming
    it), or when the copy would not be valid.
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
            name=name or scoped_name(template, offer),
            template=template,
            offer=offer,
            event=template.event,
            conditions=list(template.conditions),
            http_method=template.http_method,
            url_template=_url_for(template, offer),
            active=True,
        )
        trigger.full_clean()
        trigger.save()
        if traffic_source is not None and mapping_value and template.mapping_token_names:
            mapping = CustomFieldMapping(
                trigger=trigger,
                token_name=template.mapping_token_names[0],
                traffic_source=traffic_source,
                value=mapping_value,
            )
            mapping.full_clean()
            mapping.save()
    return trigger


def add_partner_mapping(*, trigger: EventTrigger, traffic_source, value: str):
    """Give ``traffic_source`` its value for the trigger's template's first mapping
    token (New From Template, when a trigger already covers the offer). Returns the
    mapping; an existing one for the partner is updated to ``value``."""
    names = trigger.template.mapping_token_names if trigger.template_id else []
    token_name = names[0] if names else "ringba_webhook_token"
    mapping = CustomFieldMapping.objects.filter(
        trigger=trigger, token_name=token_name, traffic_source=traffic_source
    ).first() or CustomFieldMapping(
        trigger=trigger, token_name=token_name, traffic_source=traffic_source
    )
    mapping.value = value
    mapping.full_clean()
    mapping.save()
    return mapping


GLOBAL_PREFIX = "GLOBAL TRIGGER: "


def scoped_name(template: TriggerTemplate, offer) -> str:
    """The template's name for a global copy; for one offer's, without "GLOBAL" and
    with the offer's name."""
    if offer is None:
        return template.name
    name = template.name
    if name.upper().startswith(GLOBAL_PREFIX):
        name = name[len(GLOBAL_PREFIX) :]
    return f"{name} — {offer.name}"


def _url_for(template: TriggerTemplate, offer) -> str:
    url = localize_ringba_url(template.url_template)
    if template.slug == ENRICH_TEMPLATE_SLUG and offer is not None:
        # "{}": an empty default, so a lead without the field still enriches the call.
        names = offer.contact_fields.order_by("pk").values_list("name", flat=True)
        url += "".join(f"&{name}=[{name}]{{}}" for name in names)
    return url
