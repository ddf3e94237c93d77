"""The Leads Capture API: where Ringba's tracking pixel enters (SPEC §4)."""

from urllib.parse import parse_qsl

from django.http import HttpRequest, HttpResponse
from drf_spectacular.utils import (
    OpenApiExample,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status
from rest_framework.exceptions import Throttled
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from ..pixel.parser import fold_consumed_names
from ..rules.errors import Rejected
from ..services.capture import RawRequest, capture_lead
from ..services.rejections import LOGGED_STATUSES, Refusal, record_rejection
from ..services.schedules import ScheduleCapture
from .client import client_ip
from .errors import json_exception_handler
from .parsing import merge_params, parse_body, read_body, refuse_unstorable_text
from .pixel_intake import clean_request_pixel, offer_config_of
from .redaction import redacted_raw, secret_values
from .serializers import (
    CaptureResponseSerializer,
    PixelSerializer,
    lead_summary,
    rejection_responses,
    schedule_lead_summary,
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


PIXEL_METHODS = frozenset({"GET", "POST", "HEAD"})
_ALLOW = "GET, POST, HEAD, OPTIONS"
_ALLOW_WITH_PUT = "GET, POST, PUT, HEAD, OPTIONS"  # TrackDrive's /api/v1/leads
_render_json = JSONRenderer().render  # DRF's bytes, exactly as the other endpoints answer


def answer_pixel(request: HttpRequest, *, source_required: bool = True) -> HttpResponse:
    """Answer a pixel (GET, POST or HEAD) as a plain Django view.

    The pixel is the product's hot path: DRF's request wrapping, content
    negotiation and response finalising cost about a fifth of its CPU and give it
    nothing (issue 13). The answers are DRF's, byte for byte: the same JSON
    renderer, the same exception handler, the same Allow and Retry-After headers.
    OPTIONS and the methods answered 405 still go through ``LeadCaptureView``.
    ``source_required``: False on TrackDrive's ``/api/v1/leads``, where a lead may
    leave ``traffic_source_id`` out.
    """
    try:
        response = _capture(request, source_required=source_required)
    except Exception as exc:  # the API's exception handler decides; unknown ones re-raise
        response = _refuse(request, exc)
    response["Allow"] = _ALLOW if source_required else _ALLOW_WITH_PUT
    if request.method == "HEAD":
        response.content = b""  # HTTP forbids a body on HEAD
    return response


def _capture(request: HttpRequest, *, source_required: bool) -> HttpResponse:
    # Parse and check before throttling: the throttle counts per offer and source.
    body = read_body(request)
    request.capture_body = body  # kept with the rejection if parsing refuses it
    content_type = request.META.get("CONTENT_TYPE", "")
    if content_type.lower().startswith("multipart/form-data"):
        body_params = dict(request.POST.items())
    else:
        body_params = parse_body(body, content_type)
    query_params = dict(request.GET.items())
    params = merge_params(query_params, body_params)
    request.capture_params = params
    refuse_unstorable_text(params)
    folded = fold_consumed_names(params)  # the rejection log keeps the names as sent
    # Read once here: the throttle keys on it and the pixel is checked against it.
    request.capture_config = offer_config_of(folded)
    secrets = secret_values(query_params, body_params)
    request.capture_raw = RawRequest(
        body=redacted_raw(
            body.decode("utf-8", errors="replace"),
            body_params,
            secrets=secrets,
            reread=lambda text: parse_body(text.encode(), content_type),
        ),
        query=redacted_raw(
            request.META.get("QUERY_STRING", "")[:8000],
            query_params,
            secrets=secrets,
            reread=lambda text: dict(parse_qsl(text, keep_blank_values=True)),
        ),
        content_type=content_type,
        source_ip=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )
    throttle = CaptureThrottle()
    if not throttle.allow_request(request, None):
        raise Throttled(throttle.wait())
    try:
        pixel = clean_request_pixel(folded, request.capture_config, source_required=source_required)
        if request.method == "HEAD":
            # Link checkers and probes: the pixel is checked as GET would check it,
            # and nothing is stored.
            return _json_response({"success": True, "status": "valid", "errors": []}, 200)
        result = capture_lead(pixel=pixel, raw=request.capture_raw)
    except Rejected:
        if not throttle.allow_refusal(request):
            raise Throttled(throttle.wait()) from None
        raise
    throttle.count_accepted(request)
    if isinstance(result, ScheduleCapture):
        return _json_response(
            {
                "success": True,
                "status": "accepted" if result.created else "duplicate",
                "schedule_lead": schedule_lead_summary(
                    result.lead, traffic_source_id=result.traffic_source_id
                ),
                "warnings": result.warnings,
                "errors": [],
            },
            status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )
    summary = lead_summary(
        result.lead,
        traffic_source_id=result.traffic_source_id,
        call_uuid=result.call.call_uuid if result.call else None,
    )
    return _json_response(
        {
            "success": True,
            "status": "accepted" if result.created else "duplicate",
            "lead": summary,
            "warnings": result.warnings,
            "errors": [],
        },
        status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
    )


def _json_response(data, status_code: int) -> HttpResponse:
    return HttpResponse(_render_json(data), status=status_code, content_type="application/json")


def _refuse(request: HttpRequest, exc: Exception) -> HttpResponse:
    """Answer a refused pixel with the API's error body and log it for the admin."""
    answer = json_exception_handler(exc, {"request": request})
    if answer is None:
        raise exc  # unexpected: Django's handler500 answers (as JSON under /api/)
    response = _json_response(answer.data, answer.status_code)
    if "Retry-After" in answer:
        response["Retry-After"] = answer["Retry-After"]
    if response.status_code in LOGGED_STATUSES and request.method != "HEAD":
        record_rejection(_refusal(request, response.status_code, answer.data))
    return response


def _refusal(request: HttpRequest, status_code: int, data: dict) -> Refusal:
    """What was read of the refused request, for the admin's rejected-pixel log."""
    raw = getattr(request, "capture_raw", None)
    return Refusal(
        status_code=status_code,
        errors=(data or {}).get("errors", []),
        config=getattr(request, "capture_config", None),
        params=getattr(request, "capture_params", None) or {},
        body=raw.body
        if raw
        else getattr(request, "capture_body", b"").decode("utf-8", errors="replace"),
        query=raw.query if raw else request.META.get("QUERY_STRING", "")[:8000],
        content_type=request.META.get("CONTENT_TYPE", ""),
        source_ip=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )


class LeadCaptureView(APIView):
    """The capture endpoint's schema, OPTIONS and 405s; pixels go to ``answer_pixel``.

    ``as_view`` returns a function that hands GET, POST and HEAD to the plain view
    and everything else to DRF; it keeps DRF's ``cls`` and ``initkwargs``, so the
    OpenAPI schema is generated from this class as before.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []  # answer_pixel throttles pixels; OPTIONS/405 never were
    parser_classes: list = []
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JsonOnly
    # Ringba's pixel names its partner; TrackDrive's /api/v1/leads may not (the alias).
    source_required = True
    pixel_methods = PIXEL_METHODS

    @classmethod
    def as_view(cls, **initkwargs):
        drf_view = super().as_view(**initkwargs)

        def view(request, *args, **kwargs):
            if request.method in cls.pixel_methods:
                return answer_pixel(request, source_required=cls.source_required)
            return drf_view(request, *args, **kwargs)

        view.cls, view.initkwargs = drf_view.cls, drf_view.initkwargs
        view.csrf_exempt = True  # Ringba sends no CSRF token (and no cookie)
        return view

    def head(self, request, *args, **kwargs):
        return answer_pixel(request._request, source_required=self.source_required)

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
        return answer_pixel(request._request, source_required=self.source_required)

    @extend_schema(
        operation_id="leads_capture_get",
        summary="Capture a Ringba tracking pixel sent as a GET query string",
        description="Same fields as POST, in the query string.",
        responses={201: CaptureResponseSerializer, 200: CaptureResponseSerializer, **_ERRORS},
        auth=[],
    )
    def get(self, request, *args, **kwargs):
        return answer_pixel(request._request, source_required=self.source_required)


@extend_schema_view(
    post=extend_schema(operation_id="leads_alias", summary="Alias of /api/v1/leads/capture"),
    get=extend_schema(operation_id="leads_alias_get", summary="Alias of /api/v1/leads/capture"),
)
class LeadCaptureAliasView(LeadCaptureView):
    """``/api/v1/leads``: the same endpoint as TrackDrive documents it.

    Only ``lead_token`` (or ``offer_lead_token`` / ``schedule_lead_token``) and
    ``caller_id`` are required: a lead without ``traffic_source_id`` belongs to the
    offer and takes its partner from the caller's call (its tracking number). PUT
    is accepted as POST, as TrackDrive does.
    """

    source_required = False
    pixel_methods = PIXEL_METHODS | {"PUT"}

    @extend_schema(
        operation_id="leads_alias_put",
        summary="TrackDrive's PUT /api/v1/leads (the same as POST)",
        request={"application/json": PixelSerializer},
        responses={201: CaptureResponseSerializer, 200: CaptureResponseSerializer, **_ERRORS},
        auth=[],
    )
    def put(self, request, *args, **kwargs):
        return answer_pixel(request._request, source_required=False)
