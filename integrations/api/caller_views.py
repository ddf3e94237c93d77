"""``POST /api/v1/calls/update_by_caller_id/:caller_id`` (TrackDrive's name and fields).

For systems that know who called and for which offer, not the call's id: the
offer is named by its lead token (``offer_token``), the call is the caller's
latest of that offer within ``call_timeframe`` minutes, and the update is the
one ``PUT /calls/:id`` applies. The answer is the call, with ``matched_by``
saying which call was taken and how many were in the timeframe.
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers

from ..services.caller_calls import (
    DEFAULT_CALL_TIMEFRAME_MINUTES,
    MAX_CALL_TIMEFRAME_MINUTES,
    latest_call_of_caller,
    offer_for_token,
)
from .calls_views import CALL_ERRORS, CallsApiView, apply_update, get_call, update_fields
from .fields import PlainIntegerField
from .serializers import CallSerializer, CallUpdateSerializer

LOOKUP_NAMES = ("offer_token", "call_timeframe")


class CallerLookupSerializer(serializers.Serializer):
    offer_token = serializers.CharField(max_length=200)
    call_timeframe = PlainIntegerField(
        required=False,
        min_value=1,
        max_value=MAX_CALL_TIMEFRAME_MINUTES,
        default=DEFAULT_CALL_TIMEFRAME_MINUTES,
    )


class CallUpdateByCallerView(CallsApiView):
    @extend_schema(
        operation_id="calls_update_by_caller_id",
        summary="Update the caller's latest call of an offer (TrackDrive's update_by_caller_id)",
        description=(
            "`offer_token` (required) is the offer's lead token. `call_timeframe`: minutes "
            f"back the call may have started (default {DEFAULT_CALL_TIMEFRAME_MINUTES}, at "
            f"most {MAX_CALL_TIMEFRAME_MINUTES}). Fields may come in the query string, the "
            "body, or both (the body wins). No call in the timeframe: 404, nothing updated."
        ),
        parameters=[
            OpenApiParameter("offer_token", str, required=False, description="Or in the body."),
            OpenApiParameter("call_timeframe", int, required=False, description="Minutes."),
        ],
        request=CallUpdateSerializer,
        responses={200: CallSerializer, **CALL_ERRORS},
    )
    def post(self, request, caller_id: str):
        fields = update_fields(request)
        lookup_fields = {name: fields[name] for name in LOOKUP_NAMES if name in fields}
        for name in lookup_fields:
            del fields[name]  # the lookup's, not the update's
        lookup = CallerLookupSerializer(data=lookup_fields)
        lookup.is_valid(raise_exception=True)
        offer = offer_for_token(lookup.validated_data["offer_token"])
        match = latest_call_of_caller(
            offer, caller_id, timeframe_minutes=lookup.validated_data["call_timeframe"]
        )
        response = apply_update(request, get_call(match.call_uuid), fields)
        response.data["matched_by"] = {
            "call_uuid": match.call_uuid,
            "calls_in_timeframe": match.calls_in_timeframe,
            "call_timeframe": match.timeframe_minutes,
            "note": match.explanation(),
        }
        return response
