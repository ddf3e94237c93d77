"""Decide what fires for an event and write the delivery rows (the outbox).

Called by the signal receivers in ``events`` inside the transaction that recorded
the event. Each (trigger, call, event) gets at most one delivery — a database
constraint guarantees it; the HTTP request is queued only after commit.
"""

import logging

from django.db import IntegrityError, transaction
from django.db.models import Prefetch, Q
from django.utils import timezone

from .. import conditions
from ..models import CustomFieldMapping, DeliveryStatus, Event, EventTrigger, PostbackDelivery
from ..tokens import call_context, lead_context, render_url

logger = logging.getLogger(__name__)


def triggers_for(*, event: str, offer_id: int, traffic_source_id: int):
    """Return the active global and offer-scoped triggers for ``event``.

    Each trigger's ``source_mappings`` holds only the mappings for the traffic source.
    """
    return list(
        EventTrigger.objects.filter(active=True, event=event)
        .filter(Q(offer__isnull=True) | Q(offer_id=offer_id))
        .prefetch_related(
            Prefetch(
                "mappings",
                queryset=CustomFieldMapping.objects.filter(traffic_source_id=traffic_source_id),
                to_attr="source_mappings",
            )
        )
        .order_by("pk")
    )


def mapping_tokens(trigger) -> dict[str, str]:
    """Return ``{token_name: value}`` from a trigger's prefetched source mappings."""
    return {mapping.token_name: mapping.value for mapping in trigger.source_mappings}


def plan_delivery(*, trigger, context: dict[str, str], check_conditions: bool = True) -> dict:
    """Return the delivery fields for ``trigger`` in ``context``: status, URL, reason.

    The status is ``skipped`` (with the reason) when a condition fails or the URL
    needs a token that did not resolve; otherwise ``pending``, due now.
    """
    reason = conditions.evaluate(trigger.conditions, context) if check_conditions else None
    rendered = render_url(trigger.url_template, context)
    if reason is None and rendered.missing:
        reason = "missing token: " + ", ".join(dict.fromkeys(rendered.missing))
    if reason is not None:
        return {
            "status": DeliveryStatus.SKIPPED,
            "skip_reason": reason,
            "url": rendered.url,
            "http_method": trigger.http_method,
            "next_attempt_at": None,
            "enqueued_at": None,
        }
    now = timezone.now()
    return {
        "status": DeliveryStatus.PENDING,
        "skip_reason": "",
        "url": rendered.url,
        "http_method": trigger.http_method,
        "next_attempt_at": now,
        "enqueued_at": now,
    }


def fire_call_event(*, call, event: str) -> list[PostbackDelivery]:
    """Write one delivery per matching trigger for ``call`` and ``event``.

    A trigger that already has a delivery for this call and event is left alone,
    except a ``skipped`` one, which is evaluated again (a late pixel may have
    supplied the missing token). Returns the deliveries written or updated.
    Must run inside the transaction that recorded the event.
    """
    written = []
    triggers = triggers_for(
        event=event, offer_id=call.offer_id, traffic_source_id=call.traffic_source_id
    )
    if not triggers:
        return written
    existing = {
        delivery.trigger_id: delivery
        for delivery in PostbackDelivery.objects.select_for_update().filter(
            call=call, event=event, is_test=False, trigger__in=triggers
        )
    }
    for trigger in triggers:
        plan = plan_delivery(
            trigger=trigger, context=call_context(call, mapping_tokens=mapping_tokens(trigger))
        )
        delivery = existing.get(trigger.pk)
        if delivery is not None:
            if delivery.status != DeliveryStatus.SKIPPED:
                continue
            for field, value in plan.items():
                setattr(delivery, field, value)
            delivery.save(update_fields=[*plan, "updated_at"])
        else:
            delivery = _insert_once(
                trigger=trigger, event=event, call=call, lead=call.lead, plan=plan
            )
            if delivery is None:
                continue
        written.append(delivery)
        _queue_after_commit(delivery)
    return written


def fire_lead_event(*, lead) -> list[PostbackDelivery]:
    """Write deliveries for ``lead_captured`` triggers of the lead's offer."""
    written = []
    triggers = triggers_for(
        event=Event.LEAD_CAPTURED, offer_id=lead.offer_id, traffic_source_id=lead.traffic_source_id
    )
    for trigger in triggers:
        context = lead_context(lead, mapping_tokens=mapping_tokens(trigger))
        plan = plan_delivery(trigger=trigger, context=context)
        delivery = _insert_once(
            trigger=trigger, event=Event.LEAD_CAPTURED, call=None, lead=lead, plan=plan
        )
        if delivery is not None:
            written.append(delivery)
            _queue_after_commit(delivery)
    return written


def _insert_once(*, trigger, event, call, lead, plan) -> PostbackDelivery | None:
    """Insert a delivery; return None if the constraint says one already exists."""
    try:
        with transaction.atomic():
            return PostbackDelivery.objects.create(
                trigger=trigger, event=event, call=call, lead=lead, **plan
            )
    except IntegrityError:
        logger.info("delivery for trigger %s, %s already exists", trigger.pk, event)
        return None


def _queue_after_commit(delivery: PostbackDelivery) -> None:
    if delivery.status != DeliveryStatus.PENDING:
        return
    from ..tasks import enqueue_delivery

    delivery_id = delivery.pk
    transaction.on_commit(lambda: enqueue_delivery(delivery_id))
