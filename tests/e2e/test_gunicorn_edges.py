"""What gunicorn itself answers and logs (issue 25, items 6 and 13).

- ``auth_token`` and ``lead_token`` in a query string landed in full in the
  access log; they are redacted there.
- A GET pixel longer than gunicorn's request-line limit (4094 by default) got an
  HTML 414: the limit is raised to gunicorn's maximum and the refusal is JSON.
"""

import json
import socket
import urllib.error
import urllib.request

import pytest

from tests.processes import (
    current_database_url,
    free_port,
    process_env,
    start_gunicorn,
    stop,
    wait_for_http,
)
from tests.shipped_data import reinstall_shipped_rows

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("postgres_only"),
]

SECRET = "f" * 40


@pytest.fixture
def served(tmp_path):
    """gunicorn as production runs it (its config file from the project root), access log on."""
    from integrations.devtools.demo import seed_demo

    reinstall_shipped_rows()
    demo = seed_demo()
    port = free_port()
    access_log = tmp_path / "access.log"
    server = start_gunicorn(
        port,
        env=process_env(current_database_url()),
        log=tmp_path / "web.log",
        workers=1,
        extra=("--access-logfile", str(access_log)),
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz")
        yield {"base": f"http://127.0.0.1:{port}", "port": port, "log": access_log, "demo": demo}
    finally:
        stop(server)


def _get(url: str):
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_tokens_in_a_query_string_never_reach_the_access_log(served):
    lead_token = served["demo"].offer.lead_token
    _get(f"{served['base']}/api/v1/calls/nope?auth_token={SECRET}")
    _get(f"{served['base']}/api/v1/leads/capture?lead_token={lead_token}&caller_id=x")
    _get(f"{served['base']}/api/v1/leads/capture?LEAD_TOKEN={lead_token}&Auth_Token={SECRET}")
    stop_logging = served["log"].read_text()
    assert "/api/v1/calls/nope" in stop_logging and "capture" in stop_logging
    assert SECRET not in stop_logging and lead_token not in stop_logging
    assert "auth_token=[redacted]" in stop_logging


def test_a_long_get_pixel_is_read_and_a_too_long_one_is_refused_in_json(served):
    demo = served["demo"]
    pixel = (
        f"{served['base']}/api/v1/leads/capture?lead_token={demo.offer.lead_token}"
        f"&traffic_source_id={demo.source.traffic_source_id}&caller_id=%2B13125550142"
    )
    status, _, body = _get(pixel + "&note=" + "a" * 6000)  # over gunicorn's default 4094
    assert status == 201, body[:300]

    with socket.create_connection(("127.0.0.1", served["port"]), timeout=30) as raw:
        raw.sendall(
            f"GET /api/v1/leads/capture?x={'a' * 9000} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
        )
        answer = raw.recv(65536).decode()
    head, _, body = answer.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 414")
    assert "application/json" in head
    assert "POST" in json.loads(body)["errors"][0]


def test_headers_too_large_are_refused_in_json(served):
    """431 came back as gunicorn's HTML page; API clients read JSON (issue 32, item 4)."""
    with socket.create_connection(("127.0.0.1", served["port"]), timeout=30) as sock:
        request = (
            "GET /api/v1/calls HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + "".join(f"X-Filler-{n}: {'v' * 100}\r\n" for n in range(120))
            + "\r\n"
        )
        sock.sendall(request.encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 ")
    assert b"Content-Type: application/json" in head
    refusal = json.loads(body)
    assert refusal["success"] is False and refusal["status"] == "rejected"
    assert "headers" in refusal["errors"][0]
