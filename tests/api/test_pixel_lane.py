"""The pixel endpoints' short lane (portal/lanes.py) and their plain Django view.

These go through ``portal.wsgi.application`` itself — the entry point gunicorn
serves — because the test client builds its own handler with the full stack.
"""

import io
import json
from unittest import mock
from wsgiref.util import setup_testing_defaults

import pytest
from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.db import connection, connections
from django.middleware.csrf import CsrfViewMiddleware
from django.urls import reverse
from rest_framework.views import APIView

from integrations.models import Lead
from portal.wsgi import application  # its handlers are built here, before any test patches

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def call_wsgi(
    path: str, *, method: str = "POST", body: dict | None = None
) -> tuple[int, dict, bytes]:
    payload = json.dumps(body).encode() if body is not None else b""
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(payload)),
        "wsgi.input": io.BytesIO(payload),
        "SERVER_NAME": "testserver",
        "HTTP_HOST": "testserver",
    }
    setup_testing_defaults(environ)
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"], answer["headers"] = int(status.split()[0]), dict(headers)

    content = b"".join(application(environ, start_response))
    return answer["status"], answer["headers"], content


def test_the_lane_serves_exactly_the_capture_urls():
    assert set(settings.PIXEL_PATHS) == {reverse("leads-capture"), reverse("leads-capture-alias")}


def _view_middleware_classes(handler) -> set[type]:
    return {type(method.__self__) for method in handler._view_middleware}


def test_the_chain_check_sees_csrf_where_it_runs():
    from portal.lanes import MiddlewareHandler

    assert CsrfViewMiddleware in _view_middleware_classes(MiddlewareHandler(settings.MIDDLEWARE))


@pytest.mark.parametrize("path", ["/api/v1/leads/capture", "/api/v1/leads"])
def test_pixels_skip_the_session_csrf_and_auth_middleware(path, base_pixel, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the pixel lane ran a middleware it does not need")

    # process_request is looked up on each call, so these patches would fire. Django
    # binds process_view when the handler is built, so CSRF is checked on the chain.
    monkeypatch.setattr(SessionMiddleware, "process_request", refuse)
    monkeypatch.setattr(AuthenticationMiddleware, "process_request", refuse)
    assert CsrfViewMiddleware not in _view_middleware_classes(application.pixel_handler)
    status, headers, content = call_wsgi(path, body={**base_pixel, "ringba_call_uuid": "RGB-LANE"})
    assert status == 201, content
    assert json.loads(content)["status"] == "accepted"
    assert "Set-Cookie" not in headers and "Cookie" not in headers.get("Vary", "")
    assert headers["X-Content-Type-Options"] == "nosniff"  # security headers stay
    assert Lead.objects.filter(ringba_call_uuid="RGB-LANE").count() == 1


def test_other_paths_keep_the_full_stack(monkeypatch):
    seen = []
    original = SessionMiddleware.process_request

    def spy(self, request):
        seen.append(request.path)
        return original(self, request)

    monkeypatch.setattr(SessionMiddleware, "process_request", spy)
    status, _, _ = call_wsgi("/admin/login/", method="GET")
    assert status == 200
    assert seen == ["/admin/login/"]


def test_pixels_do_not_go_through_drf(base_pixel, monkeypatch):
    monkeypatch.setattr(APIView, "initial", mock.Mock(side_effect=AssertionError("DRF ran")))
    status, _, content = call_wsgi(
        "/api/v1/leads/capture", body={**base_pixel, "ringba_call_uuid": "RGB-PLAIN"}
    )
    assert status == 201, content


def test_pixel_answers_name_the_same_methods_as_drf(client, base_pixel):
    pixel = client.post(
        "/api/v1/leads/capture", {**base_pixel, "ringba_call_uuid": "RGB-ALLOW"}, "application/json"
    )
    options = client.options("/api/v1/leads/capture")
    refused = client.put("/api/v1/leads/capture", b"{}", "application/json")
    assert pixel.status_code == 201 and options.status_code == 200 and refused.status_code == 405
    assert pixel["Allow"] == options["Allow"] == refused["Allow"]


def test_a_throttled_pixel_gets_retry_after(client, base_pixel, settings):
    settings.CAPTURE_THROTTLE_RATE = "1/min"
    from django.core.cache import cache

    cache.clear()
    first = client.post("/api/v1/leads/capture", {**base_pixel}, "application/json")
    second = client.post("/api/v1/leads/capture", {**base_pixel}, "application/json")
    assert first.status_code == 201
    assert second.status_code == 429
    assert 1 <= int(second["Retry-After"]) <= 60
    assert second.json()["errors"][0].startswith("request: too many requests; retry in ")


# The cheap connection check (portal/connection_check.py), on PostgreSQL.


@pytest.fixture
def reused_connection(postgres_only, monkeypatch):
    """A persistent connection, as in production (CONN_MAX_AGE > 0, health checks on)."""
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 600)
    monkeypatch.setitem(connection.settings_dict, "CONN_HEALTH_CHECKS", True)
    connection.close()
    connection.ensure_connection()
    yield connection
    connection.close()


def test_a_quiet_connection_skips_the_select_1(reused_connection, base_pixel):
    call_wsgi("/api/v1/leads/capture", body={**base_pixel, "ringba_call_uuid": "RGB-WARM"})
    with mock.patch.object(type(connections["default"]), "is_usable", autospec=True) as is_usable:
        status, _, content = call_wsgi(
            "/api/v1/leads/capture", body={**base_pixel, "ringba_call_uuid": "RGB-QUIET"}
        )
    assert status == 201, content
    assert is_usable.call_count == 0


def test_a_connection_the_server_closed_is_replaced_before_the_pixel(reused_connection, base_pixel):
    call_wsgi("/api/v1/leads/capture", body={**base_pixel, "ringba_call_uuid": "RGB-WARM"})
    stale_pid = connection.connection.info.backend_pid
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            # Wait (up to 5 s) until the backend is gone, as after a server restart.
            cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [stale_pid])
    finally:
        other.close()
    status, _, content = call_wsgi(
        "/api/v1/leads/capture", body={**base_pixel, "ringba_call_uuid": "RGB-AFTER"}
    )
    assert status == 201, content  # Django's own check ran, found it dead and reconnected
    assert connection.connection.info.backend_pid != stale_pid
    assert Lead.objects.filter(ringba_call_uuid="RGB-AFTER").exists()
