"""The access log's redaction of secrets in query strings (issue 25, item 6)."""

import pytest

from portal.gunicorn_edges import redact_query, redact_uri


@pytest.mark.parametrize(
    ("query", "logged"),
    [
        ("auth_token=abc&x=1", "auth_token=[redacted]&x=1"),
        ("x=1&LEAD_TOKEN=abc", "x=1&LEAD_TOKEN=[redacted]"),
        ("auth%5Ftoken=abc", "auth%5Ftoken=[redacted]"),
        ("lead_token=", "lead_token=[redacted]"),
        ("offer_token=abcdef123456&add_revenue=5", "offer_token=[redacted]&add_revenue=5"),
        ("API_KEY=abc&Api-Key=abc", "API_KEY=[redacted]&Api-Key=[redacted]"),
        ("lead_token", "lead_token"),  # no value to hide
        ("caller_id=%2B1312&lead_tokens=x", "caller_id=%2B1312&lead_tokens=x"),
        ("", ""),
    ],
)
def test_secret_values_are_redacted_and_everything_else_is_kept(query, logged):
    assert redact_query(query) == logged


def test_a_uri_keeps_its_path():
    assert redact_uri("/api/v1/calls/x?auth_token=abc") == "/api/v1/calls/x?auth_token=[redacted]"
    assert redact_uri("/healthz") == "/healthz"
