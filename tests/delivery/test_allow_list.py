"""The postback allow-list reads the host the way the sender does (SPEC §7).

``http://attacker.example\\@webhook.ringba.com/`` looks like webhook.ringba.com to
urlsplit but urllib3 (which sends) connects to attacker.example. Every refusal
here must happen before any connection: a guard makes any socket use fail the test.
"""

import socket

import pytest
from django.core.exceptions import ValidationError

from integrations.outbound import postbacks
from integrations.outbound.postbacks import HostNotAllowed, Verdict, check_url_allowed
from integrations.outbound.tokens import render_url
from integrations.rules.ringba import InvalidWebhookToken, extract_webhook_token
from tests import factories

BYPASSES = [
    "http://attacker.example\\@webhook.ringba.com/x/[caller_id]",
    "https://attacker.example\\.webhook.ringba.com/x",
    "https://user@webhook.ringba.com/hook/x",
    "https://attacker.example@webhook.ringba.com/hook/x",
    "https://webhook.ringba.com\t.attacker.example/x",
    "https://webhook.ringba.com\x00.attacker.example/x",
    "https://webhook.ringba.com /x",
    "//webhook.ringba.com/hook/x",
    "ftp://webhook.ringba.com/hook/x",
]


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.mark.parametrize("url", BYPASSES)
def test_ambiguous_or_foreign_hosts_are_refused(url, settings):
    settings.POSTBACK_ALLOWED_HOSTS = ["webhook.ringba.com"]
    with pytest.raises(HostNotAllowed):
        check_url_allowed(url)


@pytest.mark.parametrize("url", BYPASSES)
def test_send_refuses_them_before_any_connection(url, settings, no_network):
    settings.POSTBACK_ALLOWED_HOSTS = ["webhook.ringba.com"]
    outcome = postbacks.send("GET", url)
    assert outcome.verdict is Verdict.FAILED and outcome.status_code is None


@pytest.mark.django_db
def test_a_trigger_with_the_backslash_bypass_cannot_be_saved_from_the_admin(settings):
    settings.POSTBACK_ALLOWED_HOSTS = ["webhook.ringba.com"]
    trigger = factories.TriggerFactory.build(url_template=BYPASSES[0])
    with pytest.raises(ValidationError) as refused:
        trigger.full_clean()
    assert "host part of the URL" in str(refused.value.message_dict["url_template"])


def test_the_real_ringba_webhook_is_still_allowed(settings):
    settings.POSTBACK_ALLOWED_HOSTS = ["webhook.ringba.com"]
    check_url_allowed("https://webhook.ringba.com/hook/abc?call_id=1&call_revenue=2.00")
    check_url_allowed("https://WEBHOOK.ringba.com./hook/abc")


@pytest.mark.parametrize("value", [".", ".."])
def test_dot_segments_render_as_data_not_as_path_navigation(value):
    rendered = render_url("https://webhook.ringba.com/leads/[x]/confirm", {"x": value})
    assert rendered.url == f"https://webhook.ringba.com/leads/{value.replace('.', '%2E')}/confirm"


@pytest.mark.parametrize(
    "value",
    [
        "..",
        ".",
        "evil.com/hook/abc",
        "webhook.ringba.com/hook/abc",
        "https://evil.example/hook/abc",
        "https://evil.example\\@webhook.ringba.com/hook/abc",
        "https://webhook.ringba.com/hook/../x",
        "https://webhook.ringba.com/hook/",
    ],
)
def test_the_webhook_token_extractor_needs_an_absolute_ringba_url_or_a_real_token(value):
    with pytest.raises(InvalidWebhookToken):
        extract_webhook_token(value)


def test_the_webhook_token_extractor_reads_a_pasted_url():
    url = "https://webhook.ringba.com/hook/c3f9a1-XY_2?call_id=[ringba_call_uuid]"
    assert extract_webhook_token(url) == "c3f9a1-XY_2"
    assert extract_webhook_token(" c3f9a1 ") == "c3f9a1"
