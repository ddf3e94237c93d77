"""Serializers: the calls API's input and every API response shape."""

from datetime import UTC, datetime, timedelta

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from ..models import Call, Event, Lead, PostbackAttempt, PostbackDelivery, ScheduleLeadState
from ..outbound.tokens import call_context
from ..services.calls import MAX_CALL_SECONDS
from ..services.paid import paid_postback
from .fields import PlainDecimalField, PlainIntegerField


class LeadSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    uuid = serializers.UUIDField()
    offer_id = serializers.IntegerField()
    traffic_source_id = serializers.IntegerField(help_text="The partner's public id.")
    caller_id = serializers.CharField(help_text="E.164")
    ringba_call_uuid = serializers.CharField(allow_null=True)
    call_uuid = serializers.CharField(allow_null=True)


class ScheduleLeadSummarySerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    schedule_id = serializers.IntegerField()
    traffic_source_id = serializers.IntegerField(help_text="The partner's public id.")
    caller_id = serializers.CharField(help_text="E.164")
    ringba_call_uuid = serializers.CharField(allow_null=True)
    state = serializers.ChoiceField(choices=[state.value for state in ScheduleLeadState])
    attempts = serializers.IntegerField(help_text="Calls placed so far.")
    expires_at = serializers.DateTimeField()


class CaptureResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    status = serializers.ChoiceField(choices=["accepted", "duplicate"])
    lead = LeadSummarySerializer(required=False, help_text="For an offer's lead token.")
    schedule_lead = ScheduleLeadSummarySerializer(
        required=False, help_text="For a Lead-to-Call schedule's lead token (SPEC §12)."
    )
    warnings = serializers.ListField(child=serializers.CharField())
    errors = serializers.ListField(child=serializers.CharField())


class RejectionSerializer(serializers.Serializer):
    success = serializers.BooleanField(default=False)
    status = serializers.ChoiceField(choices=["rejected"])
    errors = serializers.ListField(
        child=serializers.CharField(), help_text='Each as "<field>: <message>".'
    )


def rejection_responses(descriptions: dict[int, str]) -> dict:
    """Return OpenAPI responses documenting each status code with the rejection body."""
    return {
        code: OpenApiResponse(RejectionSerializer, description=text)
        for code, text in descriptions.items()
    }


class PixelSerializer(serializers.Serializer):
    """Documents the pixel fields; parsing is done by ``api.parsing`` (see SPEC §4.1)."""

    lead_token = serializers.CharField(help_text="The offer's secret lead token.")
    offer_lead_token = serializers.CharField(required=False, help_text="Alias of lead_token.")
    traffic_source_id = serializers.CharField(help_text="Your traffic source id.")
    caller_id = serializers.CharField(
        help_text="Caller's number; Ringba tag [tag:InboundNumber:Number]."
    )
    ringba_call_uuid = serializers.CharField(
        required=False, help_text="Ringba's call id ([Call:InboundCallID]); the idempotency key."
    )
    data = serializers.DictField(required=False, help_text="Optional nested fields, flattened.")


def lead_summary(lead: Lead, *, traffic_source_id: int, call_uuid: str | None) -> dict:
    return {
        "id": lead.pk,
        "uuid": str(lead.uuid),
        "offer_id": lead.offer_id,
        "traffic_source_id": traffic_source_id,
        "caller_id": lead.caller_id,
        "ringba_call_uuid": lead.ringba_call_uuid,
        "call_uuid": call_uuid,
        "test": lead.is_test,
    }


class ClaimRequestSerializer(serializers.Serializer):
    limit = serializers.IntegerField(
        required=False, default=10, min_value=1, max_value=100, help_text="At most this many."
    )
    lease_seconds = serializers.IntegerField(
        required=False,
        min_value=30,
        max_value=3600,
        help_text="How long the leads are yours; report the call before it lapses "
        "(default SCHEDULE_LEASE_SECONDS).",
    )
    auth_token = serializers.CharField(required=False, write_only=True)


class ClaimedLeadSerializer(ScheduleLeadSummarySerializer):
    lease_expires_at = serializers.DateTimeField()
    claim = serializers.CharField(
        help_text="Send it back as 'claim' when you report the call (POST /api/v1/calls)."
    )
    tokens = serializers.DictField(help_text="The pixel's fields, to show the agent.")


class ClaimResponseSerializer(serializers.Serializer):
    schedule_id = serializers.IntegerField()
    window_open = serializers.BooleanField(help_text="False: nothing is due outside the window.")
    next_opening = serializers.DateTimeField(allow_null=True)
    leads = ClaimedLeadSerializer(many=True)


def schedule_lead_summary(lead, *, traffic_source_id: int) -> dict:
    """A schedule lead as the capture and schedules APIs answer it."""
    return {
        "uuid": str(lead.uuid),
        "schedule_id": lead.schedule_id,
        "traffic_source_id": traffic_source_id,
        "caller_id": lead.caller_id,
        "ringba_call_uuid": lead.ringba_call_uuid,
        "state": lead.state,
        "attempts": lead.attempts,
        "expires_at": lead.expires_at.isoformat().replace("+00:00", "Z"),
        "test": lead.is_test,
    }


def within_sane_range(value):
    """Refuse a date no call can have (before 2000 or more than a day ahead)."""
    earliest = datetime(2000, 1, 1, tzinfo=UTC)
    latest = timezone.now() + timedelta(days=1)
    if not earliest <= value <= latest:
        raise serializers.ValidationError(
            f"must be between {earliest:%Y-%m-%d} and a day from now (got {value.isoformat()})"
        )
    return value


class CallCreateSerializer(serializers.Serializer):
    number = serializers.CharField(
        max_length=40,
        required=False,
        help_text="The dialed tracking number. Not needed for a schedule's callback.",
    )
    caller_id = serializers.CharField(
        max_length=40, required=False, help_text="Defaults to the schedule lead's caller."
    )
    schedule_lead = serializers.UUIDField(
        required=False,
        help_text="For a call a dialer placed to a Lead-to-Call schedule lead: its uuid. "
        "The call carries the lead's tokens and counts as one contact attempt.",
    )
    claim = serializers.RegexField(
        r"^[0-9a-f]{32}$",
        required=False,
        help_text="With schedule_lead: the claim the claim endpoint gave you for this lead. "
        "Refused (409) when another dialer has claimed the lead since.",
    )

    def validate(self, data):
        """``number`` and ``caller_id`` are required, except for a schedule's callback."""
        if not data.get("schedule_lead"):
            missing = {
                name: "This field is required."
                for name in ("number", "caller_id")
                if not data.get(name)
            }
            if missing:
                raise serializers.ValidationError(missing)
        return data

    started_at = serializers.DateTimeField(required=False, validators=[within_sane_range])
    call_uuid = serializers.RegexField(
        r"^[A-Za-z0-9_\-.:]{1,64}$",
        required=False,
        help_text="Your id for the call; generated when omitted.",
    )
    auth_token = serializers.CharField(required=False, write_only=True)


class CallUpdateSerializer(serializers.Serializer):
    ended_at = serializers.DateTimeField(required=False, validators=[within_sane_range])
    duration = PlainIntegerField(required=False, min_value=0, max_value=MAX_CALL_SECONDS)
    buyer_converted = serializers.BooleanField(required=False, allow_null=True, default=None)
    revenue = PlainDecimalField(max_digits=10, decimal_places=2, required=False, min_value=0)
    offer_converted = serializers.BooleanField(required=False, allow_null=True, default=None)
    payout = PlainDecimalField(max_digits=10, decimal_places=2, required=False, min_value=0)
    post_call_tokens = serializers.DictField(required=False)
    add_revenue = PlainDecimalField(
        max_digits=10,
        decimal_places=2,
        required=False,
        help_text="Added to the stored revenue (negative to take off; never below zero). "
        "The buyer side must be converted already or in this request.",
    )
    add_payout = PlainDecimalField(
        max_digits=10,
        decimal_places=2,
        required=False,
        help_text="Added to the stored payout, as add_revenue. After Ringba was paid, the "
        "partner's Ringba is adjusted to the new total (see ringba_adjustments).",
    )
    return_reason = serializers.CharField(
        required=False,
        max_length=500,
        help_text="With offer_converted=false: return the call (un-convert it). Before Ringba "
        "was paid its postback is not sent; after, the partner's Ringba is set to 0.",
    )
    version = PlainIntegerField(
        required=False,
        min_value=1,
        help_text="The call's version you read. Needed to convert a returned call again; "
        "a stale one is refused (409).",
    )
    auth_token = serializers.CharField(required=False, write_only=True)

    def validate_post_call_tokens(self, value):
        if len(value) > 100:
            raise serializers.ValidationError("at most 100 tokens")
        return value


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = PostbackAttempt
        fields = [
            "started_at",
            "duration_ms",
            "status_code",
            "response_body",
            "error",
            "manual",
            "stray",
            "in_flight",
        ]


class DeliverySerializer(serializers.ModelSerializer):
    trigger = serializers.CharField(source="trigger.name")
    trigger_id = serializers.IntegerField()
    attempts = AttemptSerializer(many=True)

    class Meta:
        model = PostbackDelivery
        fields = [
            "id",
            "trigger_id",
            "trigger",
            "event",
            "is_test",
            "status",
            "skip_reason",
            "http_method",
            "url",
            "attempt_count",
            "next_attempt_at",
            "delivered_at",
            "last_error",
            "created_at",
            "attempts",
        ]


class CallEventsSerializer(serializers.Serializer):
    """For the schema: what ``call_events.call_events`` answers."""

    id = serializers.IntegerField()
    uuid = serializers.CharField()
    created_at = serializers.DateTimeField()
    events = serializers.ListField(
        child=serializers.DictField(),
        help_text="Leg, AuditLog and WebhookLog entries (TrackDrive's types), oldest first.",
    )
    deliveries = DeliverySerializer(many=True)


class CallSerializer(serializers.ModelSerializer):
    number = serializers.CharField(source="number.number", allow_null=True)
    traffic_source_id = serializers.IntegerField(source="traffic_source.traffic_source_id")
    lead = serializers.SerializerMethodField()
    tokens = serializers.SerializerMethodField()

    class Meta:
        model = Call
        fields = [
            "id",
            "call_uuid",
            "created_at",
            "number",
            "caller_id",
            "offer_id",
            "traffic_source_id",
            "started_at",
            "ended_at",
            "duration",
            "buyer_converted",
            "revenue",
            "offer_converted",
            "payout",
            "post_call_tokens",
            "lead",
            "schedule_lead",
            "tokens",
            "version",
            "paid_postback",
            "enrichment",
        ]

    schedule_lead = serializers.SerializerMethodField()
    enrichment = serializers.SerializerMethodField(
        help_text="The call-start deliveries (Ringba's Enrich Call Data) and where each "
        "stands: pending (with the moment it stops being worth sending), delivered, "
        "failed or skipped (expired — not sent). A dialer may wait for 'delivered' "
        "before routing the call to Ringba."
    )

    def get_enrichment(self, call) -> list[dict]:
        deliveries = PostbackDelivery.objects.filter(
            call=call, event=Event.CALL_STARTED, is_test=False
        ).order_by("pk")
        return [
            {
                "delivery_id": delivery.pk,
                "status": delivery.status,
                "send_by": delivery.expires_at,
                "delivered_at": delivery.delivered_at,
                "reason": delivery.skip_reason or delivery.last_error,
            }
            for delivery in deliveries.only(
                "status", "expires_at", "delivered_at", "skip_reason", "last_error"
            )
        ]

    paid_postback = serializers.SerializerMethodField(
        help_text="The conversion postback Ringba accepted for this call (one per call id), "
        "or null; 'note' says when the stored payout is not what was paid."
    )

    def get_paid_postback(self, call) -> dict | None:
        paid = paid_postback(call)
        if paid is None:
            return None
        return {
            "delivery_id": paid.delivery_id,
            "delivered_at": paid.delivered_at,
            "payout_sent": None if paid.payout_sent is None else f"{paid.payout_sent:.2f}",
            "matches_call": not paid.differs_from(call),
            "note": paid.note(call),
        }

    def get_schedule_lead(self, call) -> dict | None:
        if not call.schedule_lead_id:
            return None
        lead = call.schedule_lead
        return {
            "uuid": str(lead.uuid),
            "schedule_id": lead.schedule_id,
            "state": lead.state,
            "attempts": lead.attempts,
        }

    def get_lead(self, call) -> dict | None:
        if not call.lead_id:
            return None
        return {
            "id": call.lead.pk,
            "uuid": str(call.lead.uuid),
            "ringba_call_uuid": call.lead.ringba_call_uuid,
        }

    def get_tokens(self, call) -> dict:
        return call_context(call)
