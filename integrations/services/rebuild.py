"""Rebuild postbacks that were built with a wrong setting, and send them (SPEC §14).

A delivery's request is rendered when its event fires. An account manager who
then fixes the cause (a trigger's URL, a missing webhook-token mapping, a
number's extra token) needs the deliveries already queued, retrying, failed or
skipped for that cause planned again from the configuration as it is now. A
rebuild is the same planning as firing (``firing.plan_delivery``) for the same
trigger, call or lead and event, written onto the same delivery row (its audit
trail stays one row), and sent now when the new plan sends anything.

Never rebuilt: delivered postbacks (Ringba has them and accepts one conversion
per call id), test fires (fire a new test instead), a delivery with an attempt in
flight (its outcome is not known yet) or one that may have reached its receiver,
and a conversion's postback whose call is no longer converted (un-converted
since: nothing is owed). Whatever is rebuilt is sent through the send gate
(``payments.send_gate``), which checks the call again under its lock.
"""

from dataclasses import dataclass

from django.db import transaction

from ..models import DeliveryStatus, Event, PostbackDelivery
from ..outbound.tokens import call_layers, lead_layers, schedule_lead_layers
from . import payments
from .deliveries import announce_due
from .firing import mappings_for, plan_delivery

REBUILDABLE = (
    DeliveryStatus.PENDING,
    DeliveryStatus.RETRYING,
    DeliveryStatus.FAILED,
    DeliveryStatus.SKIPPED,
)


@dataclass(frozen=True)
class Rebuilt:
    """What one rebuild did: the delivery as it is now, and its URL before."""

    delivery: PostbackDelivery
    old_url: str
    refused: str = ""  # why nothing was done ('' when rebuilt)

    @property
    def changed(self) -> bool:
        return not self.refused and self.old_url != self.delivery.url


def rebuild_delivery(*, delivery_id: int, cause: str) -> Rebuilt:
    """Plan one delivery again from the current configuration; send it if it sends.

    Runs under the delivery's row lock. The attempts made so far stay on the row;
    a rebuilt postback that sends is due now (one attempt, then what is left of
    the retry schedule). Returns what happened; ``refused`` says why a delivery
    was left as it was.
    """
    with transaction.atomic():
        delivery = (
            PostbackDelivery.objects.select_for_update(of=("self",))
            .select_related("trigger", "call", "lead", "schedule_lead__schedule")
            .get(pk=delivery_id)
        )
        refused = _refusal(delivery)
        if refused:
            return Rebuilt(delivery, delivery.url, refused)
        old_url = delivery.url
        plan = plan_delivery(
            trigger=delivery.trigger, layers=_layers(delivery), cause=f"rebuilt by {cause}"
        )
        twin = _same_request_elsewhere(delivery, plan.request_key)
        if twin is not None:
            plan = plan.skipped(f"same postback as trigger {twin.trigger_id}")
        for name, value in plan.fields().items():
            setattr(delivery, name, value)
        delivery.claim_token = ""
        delivery.last_error = ""
        delivery.save(update_fields=[*plan.fields(), "claim_token", "last_error", "updated_at"])
        if delivery.status == DeliveryStatus.PENDING:
            announce_due(delivery.pk, manual=True)
    return Rebuilt(delivery, old_url)


@dataclass(frozen=True)
class Preview:
    """What a rebuild would do to one delivery, without doing it (the confirmation)."""

    old_url: str
    new_url: str = ""
    skip_reason: str = ""  # the new plan sends nothing, and why
    refused: str = ""  # the delivery would be left as it is, and why

    @property
    def changes(self) -> bool:
        return not self.refused and (self.new_url != self.old_url or bool(self.skip_reason))


def preview_rebuild(delivery: PostbackDelivery) -> Preview:
    """Plan the delivery again from the configuration as it is now, and save nothing."""
    refused = _refusal(delivery)
    if refused:
        return Preview(delivery.url, refused=refused)
    plan = plan_delivery(trigger=delivery.trigger, layers=_layers(delivery), cause="preview")
    return Preview(delivery.url, new_url=plan.url, skip_reason=plan.skip_reason)


# A conversion's postback stands only while the call is still converted: one skipped
# by an un-conversion must never be rebuilt into a payment.
_STILL_HOLDS = {
    Event.CALL_OFFER_CONVERTED: ("offer_converted", "offer"),
    Event.CALL_BUYER_CONVERTED: ("buyer_converted", "buyer"),
}


def _refusal(delivery: PostbackDelivery) -> str:
    if delivery.is_test:
        return "a test fire is not rebuilt; fire a new test from the trigger"
    if delivery.status not in REBUILDABLE:
        return f"{delivery.status}: Ringba has it, and a postback is never sent twice"
    if delivery.claim_token or delivery.attempts.filter(in_flight=True).exists():
        return "an attempt is in flight; rebuild it once its outcome is recorded"
    if payments.may_have_reached(delivery):
        return (
            "an earlier attempt reached the receiver (or may have: its outcome was lost); "
            "the delivery keeps the record of what was sent"
        )
    if delivery.event in _STILL_HOLDS and delivery.call_id:
        flag, kind = _STILL_HOLDS[delivery.event]
        if not getattr(delivery.call, flag):
            return f"the call is no longer {kind}-converted; nothing is owed for it"
    return ""


def _layers(delivery: PostbackDelivery):
    trigger = delivery.trigger
    if delivery.call_id:
        source_id = delivery.call.traffic_source_id
        owner = delivery.call
        build = call_layers
    elif delivery.schedule_lead_id:
        source_id = delivery.schedule_lead.traffic_source_id
        owner = delivery.schedule_lead
        build = schedule_lead_layers
    else:
        source_id = delivery.lead.traffic_source_id
        owner = delivery.lead
        build = lead_layers
    return build(owner, mapping_tokens=mappings_for(trigger, traffic_source_id=source_id))


def _owner(delivery: PostbackDelivery) -> dict:
    if delivery.call_id:
        return {"call_id": delivery.call_id}
    if delivery.schedule_lead_id:
        return {"schedule_lead_id": delivery.schedule_lead_id}
    return {"lead_id": delivery.lead_id}


def _same_request_elsewhere(delivery: PostbackDelivery, request_key: str):
    """Another real delivery of the same event and call (or lead) sending this request."""
    if not request_key:
        return None
    return (
        PostbackDelivery.objects.filter(
            **_owner(delivery), event=delivery.event, is_test=False, request_key=request_key
        )
        .exclude(pk=delivery.pk)
        .first()
    )


def built_before(*, since, **scope) -> int:
    """How many real postbacks not delivered, within ``scope``, were built before ``since``.

    ``scope``: a trigger's (``trigger=…``) or a tracking number's (``call__number=…``).
    """
    return PostbackDelivery.objects.filter(
        **scope, is_test=False, status__in=REBUILDABLE, updated_at__lt=since
    ).count()
