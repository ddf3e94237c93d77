"""A delivery's page has its fixes and its attempts in full (issue 34, item 5)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations.models import DeliveryStatus, PostbackAttempt, PostbackDelivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivery(ringba_trigger):
    made = PostbackDelivery.objects.create(
        trigger=ringba_trigger,
        event="call_offer_converted",
        status=DeliveryStatus.RETRYING,
        url="https://webhook.ringba.com/hook/T?call_id=RGB-1&call_revenue=12.50",
        request_headers={"X-Partner": "acme"},
        next_attempt_at=timezone.now() + timedelta(minutes=5),
        last_error="Connection refused by webhook.ringba.com — connection error: urllib3 …",
        attempt_count=1,
    )
    PostbackAttempt.objects.create(
        delivery=made,
        number=1,
        url=made.url,
        started_at=timezone.now(),
        status_code=503,
        response_body='{"message": "try later"}',
        error="Connection refused by webhook.ringba.com — connection error: urllib3 …",
    )
    return made


def _page(admin_client, delivery) -> str:
    url = reverse("admin:integrations_postbackdelivery_change", args=[delivery.pk])
    return admin_client.get(url).content.decode()


def test_the_page_shows_each_attempts_request_and_answer_and_the_error_once(admin_client, delivery):
    page = _page(admin_client, delivery)
    assert "GET https://webhook.ringba.com/hook/T?call_id=RGB-1&amp;call_revenue=12.50" in page
    assert "{&quot;message&quot;: &quot;try later&quot;}" in page
    assert "<code>X-Partner: acme</code>" in page
    assert page.count("connection error: urllib3") == 1  # the attempt's whole text only


def test_retry_now_brings_a_waiting_retry_forward(admin_client, delivery, queued_tasks):
    page = _page(admin_client, delivery)
    assert 'id="retry-now"' in page and 'id="resend"' not in page
    retry = reverse("admin:integrations_postbackdelivery_retry_now", args=[delivery.pk])
    assert admin_client.get(retry).status_code == 403  # a POST only
    response = admin_client.post(retry, follow=True)
    assert "is due now" in response.content.decode()
    delivery.refresh_from_db()
    assert delivery.next_attempt_at <= timezone.now()
    again = admin_client.post(retry, follow=True)  # due already: nothing changes
    assert "not waiting for a retry any more" in again.content.decode()


def test_a_failed_delivery_offers_re_send_and_rebuild(admin_client, delivery):
    PostbackDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED)
    page = _page(admin_client, delivery)
    assert 'id="resend"' in page and 'id="rebuild"' in page and 'id="retry-now"' not in page
    response = admin_client.post(
        reverse("admin:integrations_postbackdelivery_changelist"),
        {"action": "resend_now", "_selected_action": [delivery.pk]},
    )
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.RETRYING


def test_a_delivered_one_offers_nothing_to_do(admin_client, delivery):
    PostbackDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.DELIVERED)
    page = _page(admin_client, delivery)
    assert not any(f'id="{name}"' in page for name in ("resend", "rebuild", "retry-now"))


def test_the_call_page_tells_the_calls_story_in_order(admin_client, calls_client, ringba_setup):
    """Issue 34, item 4: a timeline above the (collapsed) token JSON."""
    from integrations.devtools.reconciliation_showcase import record_paid
    from tests import factories

    lead = factories.LeadFactory(
        offer=ringba_setup["offer"], traffic_source=ringba_setup["source"], ringba_call_uuid="R-9"
    )
    call = factories.CallFactory(number=ringba_setup["number"], lead=lead)
    calls_client.post(f"/api/v1/calls/{call.call_uuid}", {"offer_converted": "1"})
    delivery = PostbackDelivery.objects.create(
        trigger=factories.TriggerFactory(),
        call=call,
        event="call_offer_converted",
        url="https://webhook.ringba.com/hook/T?call_id=R-9&call_revenue=12.50",
    )
    record_paid(delivery, amount="12.50")
    page = admin_client.get(reverse("admin:integrations_call_change", args=[call.pk]))
    html = page.content.decode()
    timeline = html[html.index('class="call-timeline"') :]
    order = [
        timeline.index(what)
        for what in (
            "pixel received",
            "call started",
            "conversion (payout)",
            "call offer converted postback, attempt 1",
            "Ringba paid",
        )
    ]
    assert order == sorted(order)
    assert "answered 200" in timeline
    assert html.index('class="call-timeline"') < html.index("Tokens</h2>")
