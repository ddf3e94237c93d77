"""The calls API: the operator's telephony side reports calls and conversions (SPEC §5)."""

import re

from django.conf import settings
from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from ..models import Call
from ..services.calls import API, CallUpdate, record_call, update_call
from ..services.returns import Conversion, unconvert_call
from .authentication import (
    BodyTokenAuthentication,
    CanUseCallsApi,
    GuardedBasicAuthentication,
    HashedTokenAuthentication,
    KeyHasScope,
)
from .call_events import call_events
from .errors import Rejected
from .parsing import check_depth, read_body, refuse_unstorable_text
from .serializers import (
    CallCreateSerializer,
    CallEventsSerializer,
    CallSerializer,
    CallUpdateSerializer,
    rejection_responses,
)

CALL_ERRORS = rejection_responses(
    {
        400: "Malformed body (e.g. invalid JSON).",
        401: "No or bad credentials.",
        429: "Too many failed logins from this address (API_AUTH_FAILURE_RATE).",
        403: "User lacks integrations.use_calls_api.",
        404: "Unknown call.",
        409: "call_uuid already belongs to a call on another number; the call changed since "
        "it was read; the sale was already paid through another call; the schedule lead is "
        "closed, expired, out of attempts or claimed by another dialer.",
        413: "Body larger than CALLS_MAX_BODY_BYTES.",
        415: "Body in an unsupported format or compressed.",
        422: "Invalid field; the message names it.",
    }
)


def _call_queryset():
    return Call.objects.select_related(
        "number", "offer", "traffic_source", "lead", "schedule_lead"
    ).prefetch_related("number__extra_tokens")


CALL_UUID = re.compile(r"[A-Za-z0-9_\-.:]{1,64}")
CALL_ID = re.compile(r"[1-9][0-9]{0,17}")


def get_call(identifier: str) -> Call:
    """The call with this call_uuid or, failing that, this numeric id (TrackDrive's ``:id``).

    The uuid is tried first: it is what clients of ``update_call`` have always sent,
    and a dialer may have chosen digits for it.
    """
    # A value no call can have (e.g. with a NUL byte, which PostgreSQL cannot even
    # compare) is simply not found.
    call = None
    if CALL_UUID.fullmatch(identifier):
        call = _call_queryset().filter(call_uuid=identifier).first()
        if call is None and CALL_ID.fullmatch(identifier):
            call = _call_queryset().filter(pk=int(identifier)).first()
    if call is None:
        raise Rejected(404, [f"call_uuid: no call {identifier!r}"])
    return call


def update_fields(request) -> dict:
    """The update's fields: the query string's, then the body's over them.

    TrackDrive documents both ``POST …?offer_token=…&add_revenue=5`` with no body and
    a JSON body; ``auth_token`` is a credential, not a field.
    """
    data = request.data
    if hasattr(data, "getlist"):
        # A form (or no body): stay a QueryDict, whose nested names DRF reads
        # (post_call_tokens.disposition=sale).
        fields = request.query_params.copy()
        for key in data:
            fields.setlist(key, data.getlist(key))
    elif hasattr(data, "items"):
        fields = {**request.query_params.dict(), **data}
    elif data:
        raise Rejected(400, ["body: must be a JSON object or a form"])
    else:
        fields = request.query_params.copy()
    fields.pop("auth_token", None)
    return fields


def apply_update(request, call: Call, fields: dict) -> Response:
    """Validate ``fields`` and apply them to ``call`` through the one door (update_call)."""
    serializer = CallUpdateSerializer(data=fields)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    update = CallUpdate(
        ended_at=data.get("ended_at"),
        duration=data.get("duration"),
        buyer_converted=data.get("buyer_converted"),
        revenue=data.get("revenue"),
        offer_converted=data.get("offer_converted"),
        payout=data.get("payout"),
        post_call_tokens=data.get("post_call_tokens") or {},
        add_revenue=data.get("add_revenue"),
        add_payout=data.get("add_payout"),
    )
    cause = f"{API} ({request.user.get_username()})"
    with transaction.atomic():  # a return and the rest of the request, or neither
        _apply(call, update, data, cause=cause)
    return Response(CallSerializer(get_call(call.call_uuid)).data)


def _apply(call: Call, update: CallUpdate, data: dict, *, cause: str) -> None:
    if data.get("offer_converted") is False and data.get("return_reason"):
        # TrackDrive clients un-convert so: a return, with the reason it gives.
        update.offer_converted = None
        unconvert_call(
            call_uuid=call.call_uuid,
            conversion=Conversion.OFFER,
            expected_version=data.get("version"),
            cause=cause,
            reason=data["return_reason"],
        )
    update_call(
        call_uuid=call.call_uuid,
        update=update,
        cause=cause,
        expected_version=None if data.get("offer_converted") is False else data.get("version"),
    )


class CallsApiView(APIView):
    authentication_classes = [
        HashedTokenAuthentication,
        GuardedBasicAuthentication,
        BodyTokenAuthentication,
    ]
    permission_classes = [CanUseCallsApi, KeyHasScope]
    required_scope = "calls"  # an API client's key needs it (KeyHasScope)

    def initial(self, request, *args, **kwargs):
        # The body is checked before authentication reads it (auth_token may be in it).
        if request.method in ("POST", "PUT"):
            read_body(request._request, limit=settings.CALLS_MAX_BODY_BYTES)
            try:
                data = request.data
            except RecursionError:
                raise Rejected(400, ["body: nested too deep"]) from None
            check_depth(data)
            refuse_unstorable_text(data)
        super().initial(request, *args, **kwargs)


class CallCreateView(CallsApiView):
    @extend_schema(
        operation_id="calls_create",
        summary="Record an inbound call, or a schedule's callback (schedule_lead)",
        request=CallCreateSerializer,
        responses={201: CallSerializer, 200: CallSerializer, **CALL_ERRORS},
    )
    def post(self, request):
        serializer = CallCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        call, created = record_call(
            number=data.get("number"),
            caller_id=data.get("caller_id"),
            started_at=data.get("started_at"),
            call_uuid=data.get("call_uuid"),
            schedule_lead=data.get("schedule_lead"),
            claim=data.get("claim"),
        )
        return Response(
            CallSerializer(get_call(call.call_uuid)).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class CallUpdateView(CallsApiView):
    @extend_schema(
        operation_id="calls_update",
        summary="Update a call (TrackDrive's "
        "update_call): end it, convert it, add post-call tokens",
        request=CallUpdateSerializer,
        responses={200: CallSerializer, **CALL_ERRORS},
    )
    def post(self, request, call_uuid: str):
        fields = update_fields(request)
        return apply_update(request, get_call(call_uuid), fields)


class CallDetailView(CallsApiView):
    @extend_schema(
        operation_id="calls_retrieve",
        summary="A call with its tokens and lead (by call_uuid or numeric id)",
        responses={200: CallSerializer, **CALL_ERRORS},
    )
    def get(self, request, call_id: str):
        return Response(CallSerializer(get_call(call_id)).data)

    @extend_schema(
        operation_id="calls_put",
        summary="Update a call by call_uuid or numeric id (TrackDrive's PUT /calls/:id)",
        request=CallUpdateSerializer,
        responses={200: CallSerializer, **CALL_ERRORS},
    )
    def put(self, request, call_id: str):
        fields = update_fields(request)
        return apply_update(request, get_call(call_id), fields)

    @extend_schema(
        operation_id="calls_update_by_id",
        summary="Update a call by call_uuid or numeric id (POST, as TrackDrive's curl does)",
        request=CallUpdateSerializer,
        responses={200: CallSerializer, **CALL_ERRORS},
    )
    def post(self, request, call_id: str):
        return self.put(request, call_id)


class CallEventsView(CallsApiView):
    @extend_schema(
        operation_id="calls_events",
        summary="The call's legs, audit log and webhook log (TrackDrive's shape), "
        "and its postback deliveries with every attempt",
        responses={200: CallEventsSerializer, **CALL_ERRORS},
    )
    def get(self, request, call_id: str):
        return Response(call_events(get_call(call_id)))
