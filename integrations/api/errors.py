"""One JSON error shape for every API outcome: ``{"success": false, "status": "rejected",
"errors": ["<field>: <message>", ...]}`` — also for 404, 405, 429 and 500."""

import logging

from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from django.views.defaults import bad_request as html_bad_request
from django.views.defaults import page_not_found
from django.views.defaults import permission_denied as html_permission_denied
from django.views.defaults import server_error as html_server_error
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ..rules.errors import Rejected as DomainRejected
from ..rules.errors import RejectionKind
from .authentication import ScopeDenied

logger = logging.getLogger(__name__)


# How the domain's refusals (integrations.rules.errors.Rejected) are answered over HTTP.
STATUS_FOR_KIND = {
    RejectionKind.INVALID: status.HTTP_422_UNPROCESSABLE_ENTITY,
    RejectionKind.UNAUTHORIZED: status.HTTP_401_UNAUTHORIZED,
    RejectionKind.CONFLICT: status.HTTP_409_CONFLICT,
    RejectionKind.NOT_FOUND: status.HTTP_404_NOT_FOUND,
}


class Rejected(exceptions.APIException):
    """A request refused at the HTTP level (malformed, too big, unsupported), or by status."""

    def __init__(self, status_code: int, errors: list[str]):
        super().__init__(detail="; ".join(errors))
        self.status_code = status_code
        self.errors = errors


def rejection_body(errors: list[str]) -> dict:
    return {"success": False, "status": "rejected", "errors": errors}


def _flatten(detail, prefix: str = "") -> list[str]:
    if isinstance(detail, dict):
        messages = []
        for key, value in detail.items():
            name = "body" if key == "non_field_errors" else key
            messages.extend(_flatten(value, f"{prefix}{name}."))
        return messages
    if isinstance(detail, list):
        return [message for item in detail for message in _flatten(item, prefix)]
    label = prefix.rstrip(".") or "request"
    return [f"{label}: {detail}"]


def json_exception_handler(exc, context):
    """DRF exception handler: every error becomes the rejection body."""
    if isinstance(exc, Rejected):
        return Response(rejection_body(exc.errors), status=exc.status_code)
    if isinstance(exc, DomainRejected):
        return Response(rejection_body(exc.errors), status=STATUS_FOR_KIND[exc.kind])
    if isinstance(exc, (OperationalError, InterfaceError)):
        logger.error("database unavailable: %s", exc)
        return Response(
            rejection_body(["server: database unavailable; nothing was stored, retry shortly"]),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "5"},
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # unexpected: handler500 answers (as JSON for /api/)
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        response.status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    elif isinstance(exc, exceptions.Throttled):
        wait = int(exc.wait or 1)
        errors = [f"request: too many requests; retry in {wait} s"]
    elif isinstance(exc, exceptions.MethodNotAllowed):
        errors = [f"method: {context['request'].method} is not allowed here"]
    elif isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        errors = [
            f"auth: {exc.detail} Send an API token (Authorization: Token <key>), "
            "HTTP Basic credentials or auth_token."
        ]
    elif isinstance(exc, ScopeDenied):
        errors = [str(exc.detail)]
    elif isinstance(exc, exceptions.PermissionDenied):
        errors = [
            "auth: this user may not use the calls API (permission integrations.use_calls_api)"
        ]
    else:
        errors = _flatten(exc.detail)
    response.data = rejection_body(errors)
    return response


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def not_found(request, exception=None):
    if _is_api(request):
        return JsonResponse(
            rejection_body([f"path: {request.path} does not exist; see /api/docs/"]), status=404
        )
    return page_not_found(request, exception)


def server_error(request):
    if _is_api(request):
        return JsonResponse(
            rejection_body(["server: unexpected error; nothing was stored, please retry"]),
            status=500,
        )
    return html_server_error(request)


def bad_request(request, exception=None):
    if _is_api(request):
        return JsonResponse(
            rejection_body(
                [
                    "request: refused (bad Host header or malformed request); "
                    "check the URL you post to"
                ]
            ),
            status=400,
        )
    return html_bad_request(request, exception)


def permission_denied(request, exception=None):
    if _is_api(request):
        return JsonResponse(rejection_body(["request: forbidden"]), status=403)
    return html_permission_denied(request, exception)
