"""Enrichment on time, or not at all (issue 32, item 6).

Ringba keeps enrichment for 48 h and attaches it to the caller's *next* call, so it
must reach Ringba before the call does. An IDE delivery retried on the conversion
schedule (5 s … 10 h): after an outage, stale data landed on a later call with the
wrong trackdrive_call_uuid. Call-start deliveries now have a deadline (default
CALL_START_DEADLINE_SECONDS, per trigger) after which they are recorded "expired —
not sent" and never retried, and the call's answer says where its enrichment stands.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.devtools.ringba_stand_in import Behaviour, RingbaReceiver
from integrations.models import DeliveryStatus, Event, PostbackDelivery, TriggerTemplate
from integrations.rules.ringba import ENRICH_TEMPLATE_SLUG
from integrations.services.deliveries import attempt_delivery
from integrations.services.triggers import create_trigger_from_template

pytestmark = pytest.mark.django_db


@pytest.fixture
def ringba(settings, ringba_template):
    server = RingbaReceiver(behaviour=Behaviour()).start()
    settings.RINGBA_ENRICH_BASE_URL = server.base_url
    settings.RINGBA_WEBHOOK_BASE_URL = server.base_url
    settings.POSTBACK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.POSTBACK_ALLOW_PRIVATE_IPS = True
    settings.CALL_START_DEADLINE_SECONDS = 30
    yield server
    server.stop()


@pytest.fixture
def ide_trigger(ringba, ringba_setup):
    template = TriggerTemplate.objects.get(slug=ENRICH_TEMPLATE_SLUG)
    return create_trigger_from_template(
        template=template, traffic_source=ringba_setup["source"], mapping_value="RN-9"
    )


def _start(calls_client, ringba_setup):
    response = calls_client.post(
        "/api/v1/calls",
        {"number": ringba_setup["number"].number, "caller_id": "7194448888"},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_the_call_start_answer_says_where_its_enrichment_stands(
    ide_trigger, calls_client, ringba_setup
):
    answer = _start(calls_client, ringba_setup)
    [enrichment] = answer["enrichment"]
    assert enrichment["status"] == "pending"
    delivery = PostbackDelivery.objects.get(pk=enrichment["delivery_id"])
    assert delivery.event == Event.CALL_STARTED
    left = delivery.expires_at - delivery.created_at
    assert timedelta(seconds=29) < left <= timedelta(seconds=31)

    attempt_delivery(delivery_id=delivery.pk)
    shown = calls_client.get(f"/api/v1/calls/{answer['call_uuid']}").json()["enrichment"]
    assert shown[0]["status"] == "delivered" and shown[0]["delivered_at"]


def test_past_its_deadline_it_is_expired_not_sent(ide_trigger, calls_client, ringba_setup, ringba):
    answer = _start(calls_client, ringba_setup)
    delivery = PostbackDelivery.objects.get(call__call_uuid=answer["call_uuid"])
    PostbackDelivery.objects.filter(pk=delivery.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    assert attempt_delivery(delivery_id=delivery.pk) is None
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SKIPPED
    assert delivery.skip_reason.startswith("expired — not sent")
    assert ringba.hits == [] and delivery.attempt_count == 0


def test_a_failure_whose_retry_would_come_too_late_is_not_retried(
    ide_trigger, calls_client, ringba_setup, ringba
):
    ringba.behaviour.status = 503
    answer = _start(calls_client, ringba_setup)
    delivery = PostbackDelivery.objects.get(call__call_uuid=answer["call_uuid"])
    # The schedule's first retry (5 s ± 20 %) falls after a 3 s deadline.
    PostbackDelivery.objects.filter(pk=delivery.pk).update(
        expires_at=timezone.now() + timedelta(seconds=3)
    )
    attempt_delivery(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and delivery.next_attempt_at is None
    assert delivery.last_error.startswith("expired — not retried past its deadline")
    assert len(ringba.hits) == 1


def test_a_trigger_sets_its_own_deadline_and_conversions_have_none(
    ide_trigger, ringba_trigger, calls_client, ringba_setup
):
    ide_trigger.deadline_seconds = 5
    ide_trigger.save()
    answer = _start(calls_client, ringba_setup)
    delivery = PostbackDelivery.objects.get(call__call_uuid=answer["call_uuid"])
    assert delivery.expires_at - delivery.created_at <= timedelta(seconds=6)

    converted = calls_client.post(
        f"/api/v1/calls/{answer['call_uuid']}", {"offer_converted": "true", "payout": "5"}
    )
    assert converted.status_code == 200
    conversion = PostbackDelivery.objects.filter(
        call__call_uuid=answer["call_uuid"], event=Event.CALL_OFFER_CONVERTED
    ).first()
    assert conversion is None or conversion.expires_at is None
