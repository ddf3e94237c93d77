"""Decide what fires for an event and write the delivery rows (the outbox).

Called by the signal receivers in ``events`` inside the transaction that recorded
the event. Rules, each enforced here and backed by a database constraint:
- at most one delivery per (trigger, call, event);
- two triggers that render the same request for one call and event send it once
  (the later one is recorded ``skipped: same postback as trigger N``);
- one broken trigger never blocks the event: each trigger is planned in its own
  savepoint, and an error becomes a ``skipped`` delivery that names it.
The HTTP request is announced (``deliveries.announce_due``) only after commit.
"""

import hashlib
import json
import logging
import secrets
from dataclasses import dataclass, field, replace
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, Q
from django.dispatch import receiver
from django.utils import timezone

from ..infra import events
from ..models import CustomFieldMapping, DeliveryStatus, Event, EventTrigger, PostbackDelivery
from ..outbound.request_templates import render_request
from ..outbound.tokens import (
    TEST_FIRE,
    Layers,
    call_layers,
    layered,
    lead_layers,
    names_in,
    render_url,
    schedule_lead_layers,
    sources_of,
)
from ..rules import conditions
from ..rules.ringba import CALL_UUID_TOKEN_NAME
from . import payments
from .deliveries import announce_due

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryPlan:
    """What one trigger would send for one event, and whether it will."""

    status: str
    http_method: str
    url: str
    skip_reason: str = ""
    body: str = ""
    headers: dict = field(default_factory=dict)
    signed: bool = False
    # Why it was planned so: cause, each condition's value and verdict, each token's
    # value and the layer it came from (the admin's "why" panel).
    explanation: dict = field(default_factory=dict, compare=False)

    @property
    def request_key(self) -> str:
        """Identify the request for de-duplication; '' for a plan that sends nothing."""
        if self.status == DeliveryStatus.SKIPPED:
            return ""
        request = f"{self.http_method} {self.url}"
        if self.body or self.headers:  # only then: keys of existing rows stay as they were
            request += "\n" + json.dumps([self.body, self.headers], sort_keys=True)
        return hashlib.sha256(request.encode()).hexdigest()

    def skipped(self, reason: str) -> "DeliveryPlan":
        return replace(self, status=DeliveryStatus.SKIPPED, skip_reason=reason[:500])

    def fields(self) -> dict:
        """Return the delivery columns this plan sets."""
        due = self.status == DeliveryStatus.PENDING
        return {
            "status": self.status,
            "skip_reason": self.skip_reason,
            "http_method": self.http_method,
            "url": self.url,
            "body": self.body,
            "request_headers": self.headers,
            "signed": self.signed,
            "request_key": self.request_key,
            "next_attempt_at": timezone.now() if due else None,
            "enqueued_at": None,
            "explanation": self.explanation,
        }


def triggers_for(*, event: str, offer_id: int, traffic_source_id: int):
    """Return the active global and offer-scoped triggers for ``event``, oldest first.

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


def mappings_for(trigger, *, traffic_source_id: int) -> dict[str, str]:
    """Return ``{token_name: value}`` of ``trigger``'s mappings for one traffic source."""
    return {
        mapping.token_name: mapping.value
        for mapping in trigger.mappings.filter(traffic_source_id=traffic_source_id)
    }


def mapping_tokens(trigger) -> dict[str, str]:
    """Return ``{token_name: value}`` from a trigger's prefetched source mappings."""
    return {mapping.token_name: mapping.value for mapping in trigger.source_mappings}


def plan_delivery(*, trigger, layers: Layers, cause: str = "", check_conditions: bool = True):
    """Return the DeliveryPlan for ``trigger`` with the token ``layers`` of its call or lead.

    ``skipped`` (with the reason) when a condition fails or the URL needs a token
    that did not resolve; otherwise ``pending``, due now.
    """
    context = layered(layers)
    reason = conditions.evaluate(trigger.conditions, context) if check_conditions else None
    rendered = render_url(trigger.url_template, context)
    request = render_request(
        body_format=trigger.body_format,
        body_template=trigger.body_template or "",
        header_templates=trigger.header_templates,
        context=context,
    )
    missing = dict.fromkeys([*rendered.missing, *request.missing])
    if reason is None and missing:
        reason = "missing token: " + ", ".join(missing)
    if reason is None and request.refused:
        reason = request.refused
    plan = DeliveryPlan(
        DeliveryStatus.PENDING,
        trigger.http_method,
        rendered.url,
        body=request.body,
        headers=request.headers,
        signed=bool(trigger.signing_secret),  # stored encrypted: no need to open it here
        explanation=explain(trigger, layers, context, cause=cause),
    )
    return plan.skipped(reason) if reason is not None else plan


def explain(trigger, layers: Layers, context: dict[str, str], *, cause: str) -> dict:
    """What the "why" panel shows for one plan (stored with the delivery)."""
    templates = [trigger.url_template, trigger.body_template or ""]
    templates += [str(value) for value in (trigger.header_templates or {}).values()]
    used = list(dict.fromkeys(name for text in templates for name in names_in(text)))
    used += [rule["token"] for rule in trigger.conditions or [] if rule["token"] not in used]
    tokens = []
    for name in used:
        sources = sources_of(name, layers)
        tokens.append(
            {
                "name": name,
                "value": context.get(name, ""),
                "source": sources[0][0] if sources else "",
                "overridden": [{"source": layer, "value": value} for layer, value in sources[1:]],
            }
        )
    return {
        "cause": cause,
        "conditions": conditions.explain(trigger.conditions, context),
        "tokens": tokens,
    }


def fire_call_event(*, call, event: str, cause: str = "") -> list[PostbackDelivery]:
    """Write one delivery per matching trigger for ``call`` and ``event``.

    A trigger that already has a delivery for this call and event is left alone,
    except a ``skipped`` one that never reached its receiver, which is planned again
    (a late pixel may have supplied the missing token; a re-conversion after an
    un-convert that stopped the postback in time). Returns the deliveries written or
    updated. Must run inside the transaction that recorded the event, which holds
    the call's row lock.
    """
    triggers = triggers_for(
        event=event, offer_id=call.offer_id, traffic_source_id=call.traffic_source_id
    )
    if not triggers:
        return []
    existing = {
        delivery.trigger_id: delivery
        for delivery in PostbackDelivery.objects.select_for_update().filter(
            call=call, event=event, is_test=False
        )
    }
    written = _write_plans(
        triggers,
        existing,
        plan_for=lambda trigger: plan_delivery(
            trigger=trigger,
            layers=call_layers(call, mapping_tokens=mapping_tokens(trigger)),
            cause=cause,
        ),
        row={"event": event, "call": call, "lead": call.lead},
    )
    if event == Event.CALL_OFFER_CONVERTED:
        _hold(call, written)
    _set_deadlines(written, event=event, triggers=triggers)
    return written


def _set_deadlines(written: list[PostbackDelivery], *, event: str, triggers) -> None:
    """Give each delivery its trigger's deadline (call-start ones a default one)."""
    deadlines = {trigger.pk: deadline_of(trigger, event) for trigger in triggers}
    now = timezone.now()
    by_moment: dict = {}
    for delivery in written:
        seconds = deadlines.get(delivery.trigger_id)
        if seconds is None or delivery.status != DeliveryStatus.PENDING:
            continue
        delivery.expires_at = now + timedelta(seconds=seconds)
        by_moment.setdefault(delivery.expires_at, []).append(delivery.pk)
    for moment, ids in by_moment.items():  # one UPDATE for the usual single deadline
        PostbackDelivery.objects.filter(pk__in=ids).update(expires_at=moment)


def deadline_of(trigger, event: str) -> int | None:
    """Seconds a delivery of ``trigger`` stays worth sending; None for no deadline."""
    if trigger.deadline_seconds is not None:
        return trigger.deadline_seconds
    if event == Event.CALL_STARTED:
        return settings.CALL_START_DEADLINE_SECONDS
    return None


def _hold(call, written: list[PostbackDelivery]) -> None:
    """Delay a conversion's postbacks by the offer's hold window (Ringba's "Delay Conversions").

    A return or correction inside the window costs nothing at Ringba: the postback
    is skipped or re-planned before it leaves. The queued task finds it not due yet;
    the sweeper queues it when the window ends.
    """
    minutes = call.offer.conversion_hold_minutes
    pending = [d for d in written if d.status == DeliveryStatus.PENDING]
    if not minutes or not pending:
        return
    sends_at = timezone.now() + timedelta(minutes=minutes)
    PostbackDelivery.objects.filter(pk__in=[d.pk for d in pending]).update(next_attempt_at=sends_at)
    for delivery in pending:
        delivery.next_attempt_at = sends_at


def fire_lead_event(*, lead, cause: str = "") -> list[PostbackDelivery]:
    """Write deliveries for ``lead_captured`` triggers of the lead's offer."""
    return _fire_without_call(
        event=Event.LEAD_CAPTURED,
        offer_id=lead.offer_id,
        traffic_source_id=lead.traffic_source_id,
        layers_for=lambda mapping: lead_layers(lead, mapping_tokens=mapping),
        row={"lead": lead},
        cause=cause,
    )


def fire_schedule_lead_event(*, lead, event: str, cause: str = "") -> list[PostbackDelivery]:
    """Write deliveries for a schedule lead's own event (added, due, expired, converted).

    Triggers of the schedule's offer (and global ones) listen. Each event is sent
    once per real transition by ``services.schedules``, in this transaction.
    """
    return _fire_without_call(
        event=event,
        offer_id=lead.schedule.offer_id,
        traffic_source_id=lead.traffic_source_id,
        layers_for=lambda mapping: schedule_lead_layers(lead, mapping_tokens=mapping),
        row={"schedule_lead": lead},
        cause=cause,
    )


def _fire_without_call(
    *, event: str, offer_id: int, traffic_source_id: int, layers_for, row: dict, cause: str
) -> list[PostbackDelivery]:
    """Write a delivery per listening trigger for an event that has no call (yet).

    ``layers_for(mapping_tokens)`` builds the token layers; ``row`` names the one
    record the deliveries belong to (a lead or a schedule lead).
    """
    triggers = triggers_for(event=event, offer_id=offer_id, traffic_source_id=traffic_source_id)
    return _write_plans(
        triggers,
        {},
        plan_for=lambda trigger: plan_delivery(
            trigger=trigger, layers=layers_for(mapping_tokens(trigger)), cause=cause
        ),
        row={"event": event, "call": None, "lead": None, **row},
    )


def _write_plans(triggers, existing: dict, *, plan_for, row: dict) -> list[PostbackDelivery]:
    """Plan and write each trigger's delivery in its own savepoint; return them."""
    sending = {d.request_key: d.trigger_id for d in existing.values() if d.request_key}
    written = []
    for trigger in triggers:
        delivery = existing.get(trigger.pk)
        if delivery is not None and (
            delivery.status != DeliveryStatus.SKIPPED or payments.may_have_reached(delivery)
        ):
            # Sent, or sent before it was skipped: the row records what left, and a
            # conversion Ringba may hold is changed by an adjustment, not a re-send.
            continue
        try:
            with transaction.atomic():
                plan = plan_for(trigger)
                if plan.request_key in sending:
                    plan = plan.skipped(f"same postback as trigger {sending[plan.request_key]}")
                delivery = _save(delivery, plan, trigger=trigger, row=row)
        except IntegrityError:
            logger.info("delivery for trigger %s, %s already exists", trigger.pk, row["event"])
            continue
        except Exception as exc:  # one bad trigger must not block the event
            logger.exception("trigger %s could not be evaluated", trigger.pk)
            broken = DeliveryPlan(DeliveryStatus.SKIPPED, trigger.http_method, "")
            reason = f"error: {type(exc).__name__}: {exc}"
            with transaction.atomic():
                delivery = _save(delivery, broken.skipped(reason), trigger=trigger, row=row)
        if delivery.request_key:
            sending[delivery.request_key] = trigger.pk
        written.append(delivery)
        if delivery.status == DeliveryStatus.PENDING:
            announce_due(delivery.pk)
    return written


def _save(delivery, plan: DeliveryPlan, *, trigger, row: dict) -> PostbackDelivery:
    if delivery is None:
        return PostbackDelivery.objects.create(trigger=trigger, **row, **plan.fields())
    for name, value in plan.fields().items():
        setattr(delivery, name, value)
    delivery.save(update_fields=[*plan.fields(), "updated_at"])
    return delivery


def plan_test_fire(
    *, trigger, call, use_real_call_id: bool, cause: str = "admin: Test fire"
) -> PostbackDelivery:
    """Write a test delivery of ``trigger`` for ``call`` and announce it; return it.

    Unless ``use_real_call_id``, ``ringba_call_uuid`` renders as a clearly fake
    ``TEST-…`` id, so a test never credits a real Ringba call. Conditions are
    reported but do not stop a test; a missing token does (the URL would be
    half-built). A test is never counted as the real delivery and never retried.
    """
    layers = call_layers(
        call, mapping_tokens=mappings_for(trigger, traffic_source_id=call.traffic_source_id)
    )
    if not use_real_call_id:
        layers.append((TEST_FIRE, {CALL_UUID_TOKEN_NAME: f"TEST-{secrets.token_hex(4).upper()}"}))
    plan = plan_delivery(trigger=trigger, layers=layers, cause=cause, check_conditions=False)
    condition_note = conditions.evaluate(trigger.conditions, layered(layers))
    if condition_note and plan.status == DeliveryStatus.PENDING:
        plan = replace(plan, skip_reason=f"test ignored the {condition_note}")
    fields = {**plan.fields(), "request_key": ""}  # tests never take part in collapsing
    delivery = PostbackDelivery.objects.create(
        trigger=trigger, event=trigger.event, call=call, is_test=True, **fields
    )
    if delivery.status == DeliveryStatus.PENDING:
        announce_due(delivery.pk, manual=True)
    return delivery


@receiver(events.call_event, dispatch_uid="integrations.fire_call_triggers")
def _fire_call_triggers(sender, *, call, event, cause="", **kwargs):
    fire_call_event(call=call, event=event, cause=cause)


@receiver(events.schedule_lead_event, dispatch_uid="integrations.fire_schedule_lead_triggers")
def _fire_schedule_lead_triggers(sender, *, lead, event, cause="", **kwargs):
    fire_schedule_lead_event(lead=lead, event=event, cause=cause)


@receiver(events.lead_captured, dispatch_uid="integrations.fire_lead_triggers")
def _fire_lead_triggers(sender, *, lead, cause="", **kwargs):
    fire_lead_event(lead=lead, cause=cause)
