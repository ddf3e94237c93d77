"""``GET /api/v1/calls/:id/events`` in TrackDrive's shape: the call's legs, audit and webhook logs.

TrackDrive answers ``{id, uuid, created_at, events: [...]}`` with events typed
``Leg`` (the phone call), ``AuditLog`` (changes made to the call: here every money
ledger entry with its own amount) and ``WebhookLog`` (each request sent about it,
with the code and response body). The portal's own detail, every delivery with
its attempts, stays under ``deliveries``.
"""

from datetime import timedelta

from rest_framework.fields import DateTimeField

from ..models import Call
from .serializers import DeliverySerializer

_when = DateTimeField().to_representation


def call_events(call: Call) -> dict:
    deliveries = list(
        call.deliveries.select_related("trigger")
        .prefetch_related("attempts")
        .order_by("created_at", "id")
    )
    events = [_leg(call), *_audit_logs(call)]
    for delivery in deliveries:
        events += [_webhook_log(call, delivery, attempt) for attempt in delivery.attempts.all()]
    events.sort(key=lambda event: event["created_at"] or "")
    return {
        "id": call.pk,
        "uuid": call.call_uuid,
        "created_at": _when(call.created_at),
        "events": events,
        "deliveries": DeliverySerializer(deliveries, many=True).data,
    }


def _leg(call: Call) -> dict:
    return {
        "type": "Leg",
        "id": call.pk,
        "call_sid": call.call_uuid,
        "direction": "inbound",
        "created_at": _when(call.started_at),
        "end_time": _when(call.ended_at) if call.ended_at else None,
        "duration": call.duration,
        "status": "completed" if call.has_ended else "in-progress",
        "from": call.caller_id,
        "to": call.number.number if call.number_id else None,
        "ended": call.has_ended,
        "scheduled_callback": bool(call.schedule_lead_id),
    }


def _audit_logs(call: Call) -> list[dict]:
    """One AuditLog per ledger entry, each with its own amount and the total after it."""
    return [
        {
            "type": "AuditLog",
            "id": entry.pk,
            "created_at": _when(entry.created_at),
            "action_name": ACTION_NAMES[(entry.side, entry.kind)],
            "agent": entry.actor,
            "reason": entry.reason,
            "version": entry.call_version,
            "params": {
                AMOUNT_NAMES[entry.side]: _amount(entry.amount),
                f"{AMOUNT_NAMES[entry.side]}_total": _amount(entry.total_after),
            },
        }
        for entry in call.ledger.all()
    ]


# What TrackDrive calls each side's amount, and each movement.
AMOUNT_NAMES = {"offer": "payout", "buyer": "revenue"}
ACTION_NAMES = {
    ("offer", "conversion"): "offer_converted",
    ("buyer", "conversion"): "buyer_converted",
    ("offer", "adjustment"): "payout_adjusted",
    ("buyer", "adjustment"): "revenue_adjusted",
    ("offer", "return"): "offer_returned",
    ("buyer", "return"): "buyer_returned",
}


def _webhook_log(call: Call, delivery, attempt) -> dict:
    return {
        "type": "WebhookLog",
        "id": attempt.pk,
        "created_at": _when(attempt.started_at),
        "owner_id": delivery.trigger_id,
        "owner_type": "Trigger",
        "owner_name": delivery.trigger.name,
        "event": delivery.event,
        "request_url": attempt.url or delivery.url,  # what this attempt sent
        "request_method": delivery.http_method.lower(),
        "started_at": _when(attempt.started_at),
        "finished_at": _when(attempt.started_at + timedelta(milliseconds=attempt.duration_ms)),
        "call_id": call.pk,
        "code": attempt.status_code,
        "response_body": attempt.response_body,
        "error": attempt.error,
        "in_flight": attempt.in_flight,
    }


def _amount(value) -> str | None:
    return None if value is None else f"{value:.2f}"
