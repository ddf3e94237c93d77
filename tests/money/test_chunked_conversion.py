"""A conversion sent chunked (no Content-Length) is read, never answered 200 and ignored.

Gunicorn passes a chunked body in the stream with no Content-Length. The calls
API's body check read it; DRF then saw a zero length and parsed nothing, so the
conversion was answered 200 and silently dropped (issue 24, case 6).
"""

import http.client
import json
from decimal import Decimal
from io import BytesIO

import pytest
from django.db import connection

from integrations.models import Call
from tests import factories
from tests.processes import (
    current_database_url,
    free_port,
    process_env,
    start_gunicorn,
    stop,
    wait_for_http,
)
from tests.shipped_data import reinstall_shipped_rows


def _post_chunked(client, path: str, body: dict):
    return client.generic(
        "POST",
        path,
        b"",
        content_type="application/json",
        HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input": BytesIO(json.dumps(body).encode())},
    )


@pytest.mark.django_db
def test_a_chunked_conversion_converts_the_call(calls_client, ringba_setup):
    call = factories.CallFactory(number=ringba_setup["number"])

    response = _post_chunked(
        calls_client,
        f"/api/v1/calls/update_call/{call.call_uuid}",
        {"offer_converted": "true", "payout": "12.50"},
    )

    assert response.status_code == 200, response.content
    call.refresh_from_db()
    assert call.offer_converted and call.payout == Decimal("12.50")


@pytest.mark.django_db
def test_a_chunked_call_report_records_the_call(calls_client, ringba_setup):
    response = _post_chunked(
        calls_client,
        "/api/v1/calls",
        {"number": ringba_setup["number"].number, "caller_id": "+13125550123"},
    )
    assert response.status_code == 201, response.content


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("postgres_only")
def test_a_chunked_conversion_through_gunicorn_converts_the_call(tmp_path):
    from integrations.devtools.demo import seed_demo

    reinstall_shipped_rows()
    demo = seed_demo()
    call = factories.CallFactory(number=demo.numbers[0])
    port = free_port()
    server = start_gunicorn(port, env=process_env(current_database_url()), log=tmp_path / "w.log")
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz")
        http_connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        body = json.dumps({"offer_converted": True, "payout": "7.25"}).encode()
        http_connection.request(
            "POST",
            f"/api/v1/calls/update_call/{call.call_uuid}",
            body=iter([body[:10], body[10:]]),  # an iterable body is sent chunked
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Token {demo.api_token}",
            },
            encode_chunked=True,
        )
        response = http_connection.getresponse()
        answer = response.read()
    finally:
        stop(server)

    assert response.status == 200, answer
    call = Call.objects.get(pk=call.pk)
    assert call.offer_converted and call.payout == Decimal("7.25")
    assert connection.vendor == "postgresql"
