"""Triggers that POST or PUT a templated body and headers, signed the Standard Webhooks way."""

import json
from urllib.parse import parse_qs

import pytest
from django.core.exceptions import ValidationError
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from integrations.models import DeliveryStatus, Event, PostbackDelivery
from integrations.services import trigger_signing
from integrations.services.deliveries import attempt_delivery
from tests import factories
from tests.recording_server import RecordingServer

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver(settings):
    server = RecordingServer()
    settings.POSTBACK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.POSTBACK_ALLOW_PRIVATE_IPS = True
    yield server
    server.stop()


def _trigger(receiver, **fields):
    trigger = factories.TriggerFactory.build(
        event=Event.CALL_STARTED,
        url_template=f"{receiver.base_url}/hook/[call_uuid]",
        conditions=[],
        **fields,
    )
    trigger.full_clean()
    trigger.save()
    return trigger


def _start_call(calls_client, ringba_setup, caller="7194448888"):
    response = calls_client.post(
        "/api/v1/calls",
        {"number": ringba_setup["number"].number, "caller_id": caller},
        format="json",
    )
    assert response.status_code == 201, response.content
    return PostbackDelivery.objects.get(call__call_uuid=response.json()["call_uuid"])


def test_a_json_body_and_headers_are_rendered_and_sent(receiver, calls_client, ringba_setup):
    factories.NumberTokenFactory(number=ringba_setup["number"], key="api_key", value='k"1')
    _trigger(
        receiver,
        http_method="POST",
        body_format="json",
        body_template='{"caller": "[caller_id]", "call": {"id": "[call_uuid]"}, "n": 1,'
        ' "note": "key=[api_key]"}',
        header_templates={"X-Api-Key": "[api_key]", "X-Call": "[call_uuid]"},
    )
    delivery = _start_call(calls_client, ringba_setup)
    assert delivery.status == DeliveryStatus.PENDING, delivery.skip_reason
    attempt_delivery(delivery_id=delivery.pk)

    [request] = receiver.requests
    assert request.method == "POST"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Api-Key"] == 'k"1'
    assert json.loads(request.body) == {
        "caller": "+17194448888",
        "call": {"id": delivery.call.call_uuid},
        "n": 1,
        "note": 'key=k"1',  # the quote is data, not the end of the string
    }
    assert "webhook-signature" not in {name.lower() for name in request.headers}


def test_a_form_body_is_percent_encoded_and_put(receiver, calls_client, ringba_setup):
    factories.NumberTokenFactory(number=ringba_setup["number"], key="note", value="a&b=c")
    _trigger(
        receiver,
        http_method="PUT",
        body_format="form",
        body_template="note=[note]&caller=[caller_id]&empty=[nothing]{}",
    )
    delivery = _start_call(calls_client, ringba_setup)
    attempt_delivery(delivery_id=delivery.pk)
    [request] = receiver.requests
    assert request.method == "PUT"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.body.decode(), keep_blank_values=True) == {
        "note": ["a&b=c"],
        "caller": ["+17194448888"],
        "empty": [""],
    }


def test_a_token_that_would_break_a_header_skips_the_delivery(receiver, calls_client, ringba_setup):
    factories.NumberTokenFactory(number=ringba_setup["number"], key="evil", value="x\r\nX-Admin: 1")
    _trigger(receiver, header_templates={"X-Note": "[evil]"})
    delivery = _start_call(calls_client, ringba_setup)
    assert delivery.status == DeliveryStatus.SKIPPED
    assert delivery.skip_reason == "header X-Note: its value holds a line break or NUL"
    assert receiver.requests == []


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("张伟 €", "'张', '伟', '€'"),
        ("hi 😀", "'😀'"),
        ("a\u2028b", "'\\u2028'"),
        ("a\x01b", "'\\x01'"),
    ],
)
def test_a_value_http_cannot_carry_in_a_header_skips_with_a_reason_never_retries(
    receiver, calls_client, ringba_setup, value, shown
):
    """Issue 32, item 8: such a value made the delivery retry until it failed, counted
    against the host; it is decided at render time now, in words."""
    from integrations.models import DestinationHealth

    factories.NumberTokenFactory(number=ringba_setup["number"], key="who", value=value)
    _trigger(receiver, header_templates={"X-Caller-Name": "[who]"})
    delivery = _start_call(calls_client, ringba_setup)
    assert delivery.status == DeliveryStatus.SKIPPED
    assert delivery.skip_reason == (
        f"header X-Caller-Name: its value holds characters an HTTP header cannot carry "
        f"({shown}); send that token in the body instead"
    )
    assert attempt_delivery(delivery_id=delivery.pk) is None
    assert receiver.requests == [] and not DestinationHealth.objects.exists()


def test_latin1_text_still_travels_in_a_header(receiver, calls_client, ringba_setup):
    factories.NumberTokenFactory(number=ringba_setup["number"], key="who", value="José Müller")
    _trigger(receiver, header_templates={"X-Caller-Name": "[who]"})
    delivery = _start_call(calls_client, ringba_setup)
    assert delivery.status == DeliveryStatus.PENDING, delivery.skip_reason
    attempt_delivery(delivery_id=delivery.pk)
    [request] = receiver.requests
    assert request.headers["X-Caller-Name"] == "José Müller"  # read back as Latin-1


def test_a_missing_token_in_the_body_skips_like_one_in_the_url(
    receiver, calls_client, ringba_setup
):
    _trigger(receiver, http_method="POST", body_format="json", body_template='{"k": "[nope]"}')
    delivery = _start_call(calls_client, ringba_setup)
    assert (delivery.status, delivery.skip_reason) == (
        DeliveryStatus.SKIPPED,
        "missing token: nope",
    )


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {"http_method": "GET", "body_format": "json", "body_template": "{}"},
            "http_method",
            "A body is sent with POST or PUT, not GET.",
        ),
        (
            {"http_method": "POST", "body_format": "json", "body_template": "{"},
            "body_template",
            "Not valid JSON",
        ),
        (
            {"http_method": "POST", "body_format": "json", "body_template": '{"[k]": 1}'},
            "body_template",
            "Tokens go in string values, not in keys.",
        ),
        (
            {"header_templates": {"Content-Type": "x"}},
            "header_templates",
            "Content-Type is set by the portal",
        ),
        ({"header_templates": {"X-A": "a\nb"}}, "header_templates", "one line of text"),
        ({"header_templates": ["X-A"]}, "header_templates", "A JSON object"),
    ],
)
def test_a_request_that_could_never_be_sent_is_refused_at_save(receiver, fields, field, message):
    trigger = factories.TriggerFactory.build(url_template=f"{receiver.base_url}/x", **fields)
    with pytest.raises(ValidationError) as caught:
        trigger.full_clean()
    assert any(message in text for text in caught.value.message_dict[field])


# --- Standard Webhooks ---------------------------------------------------------------------------


def test_signed_requests_verify_with_the_reference_library_and_keep_their_id_on_retry(
    receiver, calls_client, ringba_setup
):
    receiver.statuses = [503]  # the first attempt is retried
    trigger = _trigger(
        receiver, http_method="POST", body_format="json", body_template='{"c": "[call_uuid]"}'
    )
    secret = trigger_signing.rotate(trigger.pk).new_secret
    assert secret.startswith("whsec_")
    delivery = _start_call(calls_client, ringba_setup)
    assert delivery.signed
    attempt_delivery(delivery_id=delivery.pk)
    PostbackDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=delivery.created_at, status=DeliveryStatus.RETRYING
    )
    attempt_delivery(delivery_id=delivery.pk)

    first, second = receiver.requests
    for request in (first, second):
        payload = Webhook(secret).verify(request.body, request.headers)
        assert payload == {"c": delivery.call.call_uuid}
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == f"msg_{delivery.pk}"
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(first.body + b" ", first.headers)  # a changed body fails


def test_during_a_rotation_both_secrets_verify_then_only_the_new_one(
    receiver, calls_client, ringba_setup
):
    trigger = _trigger(receiver)
    old = trigger_signing.rotate(trigger.pk).new_secret
    assert trigger_signing.finish_rotation(trigger.pk) is False  # nothing to finish yet
    new = trigger_signing.rotate(trigger.pk).new_secret
    first = _start_call(calls_client, ringba_setup, caller="7194440001")
    attempt_delivery(delivery_id=first.pk)
    [during] = receiver.requests
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(during.body, during.headers, json_parse=False)
    Webhook(new).verify(during.body, during.headers, json_parse=False)

    assert trigger_signing.finish_rotation(trigger.pk)
    second = _start_call(calls_client, ringba_setup, caller="7194440002")
    attempt_delivery(delivery_id=second.pk)
    after = receiver.requests[-1]
    Webhook(new).verify(after.body, after.headers, json_parse=False)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(after.body, after.headers, json_parse=False)

    assert trigger_signing.stop(trigger.pk)
    third = _start_call(calls_client, ringba_setup, caller="7194440003")
    attempt_delivery(delivery_id=third.pk)
    assert "webhook-signature" not in {name.lower() for name in receiver.requests[-1].headers}


def test_a_second_rotation_before_finishing_keeps_the_receivers_secret(
    receiver, calls_client, ringba_setup
):
    """Issue 32, item 7: it overwrote the secret the receiver held; every webhook after
    it failed verification."""
    trigger = _trigger(receiver)
    held_by_receiver = trigger_signing.rotate(trigger.pk).new_secret
    trigger_signing.finish_rotation(trigger.pk)
    trigger_signing.rotate(trigger.pk)  # rotation started…
    newest = trigger_signing.rotate(trigger.pk).new_secret  # …and again before finishing

    delivery = _start_call(calls_client, ringba_setup)
    attempt_delivery(delivery_id=delivery.pk)
    [request] = receiver.requests
    Webhook(held_by_receiver).verify(request.body, request.headers, json_parse=False)
    Webhook(newest).verify(request.body, request.headers, json_parse=False)


def test_signing_secrets_are_encrypted_at_rest_and_shown_once(admin_client, receiver):
    from django.urls import reverse

    from integrations.models import EventTrigger

    trigger = _trigger(receiver)
    response = admin_client.post(
        reverse("admin:integrations_eventtrigger_changelist"),
        {"action": "rotate_signing_secret", "_selected_action": [trigger.pk]},
        follow=True,
    )
    shown = [str(message) for message in response.context["messages"]]
    [secret] = [word for text in shown for word in text.split("<code>")[1:2]]
    secret = secret.split("</code>")[0]
    assert secret.startswith("whsec_")
    stored = EventTrigger.objects.get(pk=trigger.pk)
    assert secret not in stored.signing_secret and stored.signing_secrets == [secret]
    page = admin_client.get(reverse("admin:integrations_eventtrigger_change", args=[trigger.pk]))
    assert secret not in page.text and f"whsec_…{secret[-4:]}" in page.text


def test_a_signing_secret_no_key_opens_fails_the_delivery_in_words(
    receiver, calls_client, ringba_setup, settings
):
    from cryptography.fernet import Fernet

    from integrations.models import DestinationHealth

    trigger = _trigger(receiver)
    trigger_signing.rotate(trigger.pk)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]  # the old key is gone
    delivery = _start_call(calls_client, ringba_setup)
    attempt_delivery(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert "rotate the trigger's signing secret" in delivery.last_error
    assert receiver.requests == [] and not DestinationHealth.objects.exists()


def test_the_trigger_page_says_when_no_key_opens_its_secret(admin_client, receiver, settings):
    from cryptography.fernet import Fernet
    from django.urls import reverse

    trigger = _trigger(receiver)
    trigger_signing.rotate(trigger.pk)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    page = admin_client.get(reverse("admin:integrations_eventtrigger_change", args=[trigger.pk]))
    assert page.status_code == 200
    assert "no key in FIELD_ENCRYPTION_KEYS opens it" in page.text
