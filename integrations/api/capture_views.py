"""The Leads Capture API: where Ringba's tracking pixel enters (SPEC §4)."""

from drf_spectacular.utils import (
    OpenApiExample,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from ..offer_cache import get_offer_config
from ..pixels import MAX_LEAD_TOKEN_LENGTH, lead_token_of
from ..services.capture import RawRequest, capture_lead
from ..services.rejections import LOGGED_STATUSES, Refusal, record_rejection
from .client import client_ip, redact
from .parsing import merge_params, parse_body, read_body, refuse_unstorable_text
from .serializers import (
    CaptureResponseSerializer,
    PixelSerializer,
    lead_summary,
    rejection_responses,
)
from .throttles import CaptureThrottle

_ERRORS = rejection_responses(
    {
        400: "Malformed body (invalid JSON or UTF-8, nested too deep).",
        401: "lead_token missing or invalid (unknown or inactive offer).",
        409: "Duplicate rejected by the offer's duplicate policy.",
        413: "Body larger than CAPTURE_MAX_BODY_BYTES.",
        415: "Body in an unsupported format.",
        422: "A field is missing or invalid; each message names the field.",
        429: "Throttled (per offer and traffic source; unknown tokens per address).",
    }
)
_MINIMUM_PIXEL = {
    "lead_token": "<lead_token>",
    "traffic_source_id": "1234567",
    "caller_id": "+18005551234",
    "ringba_call_uuid": "RGB1A2B3C4D5E6F",
}


class JsonOnly(BaseContentNegotiation):
    """The capture API answers JSON whatever Ringba's Accept header says."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class LeadCaptureView(APIView):
    """Accept a Ringba pixel by GET or POST; parameters in query, JSON or form body."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [CaptureThrottle]
    parser_classes: list = []  # the body is read by api.parsing, whatever its label
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JsonOnly

    def initial(self, request, *args, **kwargs):
        if request.method not in ("GET", "POST", "HEAD"):
            # Let DRF answer 405 (or OPTIONS) without reading the body.
            request.capture_config = None
            return super().initial(request, *args, **kwargs)
        # Parse and check before throttling: the throttle counts per offer and source.
        body = read_body(request._request)
        request.capture_body = body  # kept with the rejection if parsing refuses it
        content_type = request.META.get("CONTENT_TYPE", "")
        if content_type.lower().startswith("multipart/form-data"):
            body_params = dict(request._request.POST.items())
        else:
            body_params = parse_body(body, content_type)
        params = merge_params(dict(request._request.GET.items()), body_params)
        request.capture_params = params
        refuse_unstorable_text(params)
        token = lead_token_of(params)
        # Read once here: the throttle keys on it and capture_lead validates with it.
        request.capture_config = (
            get_offer_config(token) if token and len(token) <= MAX_LEAD_TOKEN_LENGTH else None
        )
        request.capture_raw = RawRequest(
            body=redact(body.decode("utf-8", errors="replace"), token),
            query=redact(request.META.get("QUERY_STRING", "")[:8000], token),
            content_type=content_type,
            source_ip=client_ip(request._request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
        super().initial(request, *args, **kwargs)

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        if response.status_code in LOGGED_STATUSES:
            record_rejection(self._refusal(response))
        return response

    def _refusal(self, response) -> Refusal:
        """What was read of the refused request, for the admin's rejected-pixel log."""
        request = self.request
        raw = getattr(request, "capture_raw", None)
        return Refusal(
            status_code=response.status_code,
            errors=(response.data or {}).get("errors", []),
            config=getattr(request, "capture_config", None),
            params=getattr(request, "capture_params", None) or {},
            body=raw.body
            if raw
            else getattr(request, "capture_body", b"").decode("utf-8", errors="replace"),
            query=raw.query if raw else request.META.get("QUERY_STRING", "")[:8000],
            content_type=request.META.get("CONTENT_TYPE", ""),
            source_ip=client_ip(request._request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )

    def head(self, request, *args, **kwargs):
        """Answer like GET, without a body (HTTP forbids one on HEAD)."""
        response = self.get(request, *args, **kwargs)
        response.data = None
        return response

    @extend_schema(
        operation_id="leads_capture",
        summary="Capture a Ringba tracking pixel",
        request={
            "application/json": PixelSerializer,
            "application/x-www-form-urlencoded": PixelSerializer,
        },
        responses={201: CaptureResponseSerializer, 200: CaptureResponseSerializer, **_ERRORS},
        examples=[
            OpenApiExample("Seed article minimum payload", value=_MINIMUM_PIXEL, request_only=True)
        ],
        auth=[],
    )
    def post(self, request, *args, **kwargs):
        result = capture_lead(
            params=request.capture_params, raw=request.capture_raw, config=request.capture_config
        )
        return Response(
            {
                "success": True,
                "status": "accepted" if result.created else "duplicate",
                "lead": lead_summary(
                    result.lead,
                    traffic_source_id=result.traffic_source_id,
                    call_uuid=result.call.call_uuid if result.call else None,
                ),
                "warnings": result.warnings,
                "errors": [],
            },
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )

    @extend_schema(
        operation_id="leads_capture_get",
        summary="Capture a Ringba tracking pixel sent as a GET query string",
        description="Same fields as POST, in the query string.",
        responses={201: CaptureResponseSerializer, 200: CaptureResponseSerializer, **_ERRORS},
        auth=[],
    )
    def get(self, request, *args, **kwargs):
        return self.post(request, *args, **kwargs)


@extend_schema_view(
    post=extend_schema(operation_id="leads_alias", summary="Alias of /api/v1/leads/capture"),
    get=extend_schema(operation_id="leads_alias_get", summary="Alias of /api/v1/leads/capture"),
)
class LeadCaptureAliasView(LeadCaptureView):
    """``/api/v1/leads``: the same endpoint under TrackDrive's shorter path."""
