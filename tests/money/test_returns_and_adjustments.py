"""After the conversion: returns and corrections carried to the partner's Ringba (issue 31).

The Ringba stand-in plays the partner's account: its webhook keeps one conversion
per call id, and its REST API (``/v2/{accountId}/calls/payments/override``) checks
the partner's token and keeps each call's conversion amount as Ringba does. A
return after payment sets that amount to 0 with exactly one request, an
``add_payout`` after payment sets it to the new total with exactly one request;
before payment nothing reaches the API and the postback carries the final amount.
"""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations.models import (
    AdjustmentMode,
    AdjustmentStatus,
    Call,
    DeliveryStatus,
    LedgerEntry,
    PartnerRingbaToken,
    Payment,
    PostbackDelivery,
    RingbaAdjustment,
)
from integrations.services import adjustments, deliveries
from integrations.services.calls import CallUpdate, update_call
from tests import factories

from .conftest import ACCOUNT, TOKEN

pytestmark = pytest.mark.django_db


@pytest.fixture
def call(partner):
    source = partner["source"]
    lead = factories.LeadFactory(
        offer=partner["offer"], traffic_source=source, ringba_call_uuid="RGB-R"
    )
    return factories.CallFactory(number=partner["number"], lead=lead)


def _post(client, call, **fields):
    return client.post(f"/api/v1/calls/{call.call_uuid}", fields)


def _run_worker(call) -> None:
    """Send what is due for the call: postbacks, then adjustments (bounded)."""
    for _ in range(4):
        due = PostbackDelivery.objects.filter(call=call, status__in=["pending", "retrying"])
        for delivery_id in list(due.values_list("pk", flat=True)):
            PostbackDelivery.objects.filter(pk=delivery_id).update(next_attempt_at=timezone.now())
            deliveries.attempt_delivery(delivery_id=delivery_id)
        waiting = RingbaAdjustment.objects.filter(call=call, status__in=["pending", "retrying"])
        for adjustment_id in list(waiting.values_list("pk", flat=True)):
            RingbaAdjustment.objects.filter(pk=adjustment_id).update(next_attempt_at=timezone.now())
            adjustments.attempt_adjustment(adjustment_id=adjustment_id)


def _paid(calls_client, call, payout="10.00"):
    converted = _post(calls_client, call, offer_converted="true", payout=payout)
    assert converted.status_code == 200, converted.content
    _run_worker(call)
    assert Payment.objects.get(call=call).amount == Decimal(payout)


def _api_bodies(ringba) -> list[dict]:
    return [json.loads(hit.body) for hit in ringba.api_hits()]


def test_a_return_after_payment_sets_the_partners_conversion_to_zero_once(
    ringba, call, calls_client, django_capture_on_commit_callbacks
):
    _paid(calls_client, call)

    with django_capture_on_commit_callbacks(execute=True):
        returned = _post(
            calls_client, call, offer_converted="false", return_reason="caller hung up in IVR"
        )
    assert returned.status_code == 200, returned.content
    _run_worker(call)
    _run_worker(call)  # nothing more to send

    [request] = _api_bodies(ringba)
    assert request == {
        "inboundCallId": "RGB-R",
        "reason": "returned: caller hung up in IVR",
        "adjustConversion": True,
        "adjustPayout": False,
        "newConversionAmount": 0.0,
    }
    assert [hit.authorized for hit in ringba.api_hits()] == [True]
    assert ringba.conversion_amounts["RGB-R"] == 0.0
    [adjustment] = RingbaAdjustment.objects.filter(call=call)
    assert adjustment.status == AdjustmentStatus.ADJUSTED
    assert (adjustment.from_amount, adjustment.to_amount) == (Decimal("10.00"), Decimal("0.00"))
    ledger = list(LedgerEntry.objects.filter(call=call).values_list("kind", "amount", "reason"))
    assert ledger == [
        ("conversion", Decimal("10.00"), ""),
        ("return", Decimal("-10.00"), "caller hung up in IVR"),
    ]


def test_a_return_before_payment_stops_the_postback_and_calls_no_api(ringba, call, calls_client):
    assert _post(calls_client, call, offer_converted="true", payout="10.00").status_code == 200
    returned = _post(calls_client, call, offer_converted="false", return_reason="duplicate")
    assert returned.status_code == 200, returned.content
    _run_worker(call)

    assert ringba.hits == []  # neither the postback nor an adjustment
    [delivery] = PostbackDelivery.objects.filter(call=call)
    assert delivery.status == DeliveryStatus.SKIPPED
    assert not RingbaAdjustment.objects.exists()


def test_add_payout_after_payment_sets_the_new_total_once(
    ringba, call, calls_client, django_capture_on_commit_callbacks
):
    _paid(calls_client, call)
    with django_capture_on_commit_callbacks(execute=True):
        assert _post(calls_client, call, add_payout="5").status_code == 200
    _run_worker(call)

    [request] = _api_bodies(ringba)
    assert request["newConversionAmount"] == 15.0
    assert ringba.conversion_amounts["RGB-R"] == 15.0
    entries = LedgerEntry.objects.filter(call=call).values_list("kind", "amount", "total_after")
    assert list(entries) == [
        ("conversion", Decimal("10.00"), Decimal("10.00")),
        ("adjustment", Decimal("5.00"), Decimal("15.00")),
    ]


def test_add_payout_before_payment_goes_out_in_the_postback(ringba, call, calls_client):
    assert _post(calls_client, call, offer_converted="true", payout="10.00").status_code == 200
    assert _post(calls_client, call, add_payout="2.50").status_code == 200
    _run_worker(call)

    assert [hit.query.get("call_revenue") for hit in ringba.hits] == ["12.50"]
    assert ringba.api_hits() == []
    assert Payment.objects.get(call=call).amount == Decimal("12.50")


def test_ringbas_4xx_is_a_failure_in_its_own_words_and_not_retried(ringba, call, calls_client):
    _paid(calls_client, call)
    ringba.api_tokens[ACCOUNT] = "the partner revoked our token"
    assert _post(calls_client, call, offer_converted="false", return_reason="x").status_code == 200
    _run_worker(call)

    [adjustment] = RingbaAdjustment.objects.filter(call=call)
    assert adjustment.status == AdjustmentStatus.FAILED
    assert adjustment.last_error == (
        "Ringba refused the adjustment (401): Authorization has been denied for this request."
    )
    assert len(ringba.api_hits()) == 1  # not retried


def test_an_unreachable_ringba_api_is_retried(ringba, call, calls_client, settings):
    _paid(calls_client, call)
    settings.RINGBA_API_BASE_URL = "http://127.0.0.1:9/v2"  # nothing listens on port 9
    assert _post(calls_client, call, offer_converted="false", return_reason="x").status_code == 200
    adjustment = RingbaAdjustment.objects.get(call=call)
    adjustments.attempt_adjustment(adjustment_id=adjustment.pk)

    adjustment.refresh_from_db()
    assert adjustment.status == AdjustmentStatus.RETRYING
    assert adjustment.next_attempt_at > timezone.now()
    assert adjustment.attempts.get().status_code is None


def test_without_a_token_the_adjustment_is_listed_to_do_by_hand(
    ringba, call, calls_client, admin_client
):
    _paid(calls_client, call)
    PartnerRingbaToken.objects.all().delete()
    assert _post(calls_client, call, offer_converted="false", return_reason="x").status_code == 200
    _run_worker(call)

    [adjustment] = RingbaAdjustment.objects.filter(call=call)
    assert adjustment.status == AdjustmentStatus.BY_HAND and ringba.api_hits() == []
    page = admin_client.get(reverse("admin:integrations_call_change", args=[call.pk])).text
    assert "adjust by hand in Ringba" in page
    export = admin_client.get(reverse("admin:integrations_ringbaadjustment_export"))
    exported = b"".join(export.streaming_content).decode()
    assert exported.splitlines()[0].startswith("Inbound Call ID,Call Date (UTC),Caller ID")
    assert "RGB-R" in exported and ",10.00,0.00," in exported

    admin_client.post(
        reverse("admin:integrations_ringbaadjustment_changelist"),
        {"action": "mark_done", "_selected_action": [adjustment.pk]},
    )
    adjustment.refresh_from_db()
    assert adjustment.status == AdjustmentStatus.DONE_BY_HAND and adjustment.done_by == "admin"
    history = admin_client.get(reverse("admin:integrations_call_history", args=[call.pk])).text
    assert "done by hand" in history


def test_a_return_after_the_window_is_refused_with_the_date(calls_client, call):
    offer = call.offer
    offer.return_window_days = 2
    offer.save()
    assert _post(calls_client, call, offer_converted="true", payout="10").status_code == 200
    Call.objects.filter(pk=call.pk).update(offer_converted_at=timezone.now() - timedelta(days=3))

    refused = _post(calls_client, call, offer_converted="false", return_reason="late")
    assert refused.status_code == 409
    assert "return window of 2 days closed" in refused.content.decode()
    assert Call.objects.get(pk=call.pk).offer_converted


def test_the_monthly_return_limit_is_kept_per_partner(calls_client, call, ringba_setup):
    offer = call.offer
    offer.monthly_return_limit = 1
    offer.save()
    other = factories.CallFactory(number=ringba_setup["number"], caller_id="+13125550199")
    for each in (call, other):
        assert _post(calls_client, each, offer_converted="true", payout="10").status_code == 200
    assert _post(calls_client, call, offer_converted="false", return_reason="a").status_code == 200

    refused = _post(calls_client, other, offer_converted="false", return_reason="b")
    assert refused.status_code == 409
    assert "1 of its 1 returns" in refused.content.decode()


def test_the_token_is_stored_encrypted_and_never_shown(admin_client, call):
    stored = PartnerRingbaToken.objects.get()
    assert TOKEN not in stored.ciphertext and stored.last_four == TOKEN[-4:]
    source = call.traffic_source
    page = admin_client.get(reverse("admin:integrations_trafficsource_change", args=[source.pk]))
    assert TOKEN not in page.text and f"…{TOKEN[-4:]}" in page.text
    history = admin_client.get(
        reverse("admin:integrations_trafficsource_history", args=[source.pk])
    )
    assert TOKEN not in history.text and stored.ciphertext not in history.text


def test_the_admin_sets_a_token_without_showing_it_back(admin_client, call):
    source = call.traffic_source
    url = reverse("admin:integrations_trafficsource_change", args=[source.pk])
    response = admin_client.post(
        url,
        {
            "name": source.name,
            "company": source.company,
            "traffic_source_id": source.traffic_source_id,
            "platform": source.platform,
            "active": "on",
            "adjustment_mode": AdjustmentMode.PARTNER_TOKEN,
            "ringba_account_id": ACCOUNT,
            "ringba_api_token": "new-token-abcd9876",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    from integrations.infra.secrets_at_rest import decrypt

    assert decrypt(PartnerRingbaToken.objects.get().ciphertext) == "new-token-abcd9876"
    assert "new-token-abcd9876" not in admin_client.get(url).text


def test_the_events_audit_log_lists_each_movement_with_its_own_amount(calls_client, call):
    """Defect 6: the AuditLog showed current totals; add_payout/add_revenue left nothing."""
    assert (
        _post(
            calls_client,
            call,
            offer_converted="true",
            payout="10",
            buyer_converted="true",
            revenue="30",
        ).status_code
        == 200
    )
    assert _post(calls_client, call, add_payout="2.5", add_revenue="-5").status_code == 200

    events = calls_client.get(f"/api/v1/calls/{call.call_uuid}/events").json()["events"]
    audit = [(e["action_name"], e["params"]) for e in events if e["type"] == "AuditLog"]
    assert sorted(audit, key=str) == sorted(
        [
            ("buyer_converted", {"revenue": "30.00", "revenue_total": "30.00"}),
            ("offer_converted", {"payout": "10.00", "payout_total": "10.00"}),
            ("payout_adjusted", {"payout": "2.50", "payout_total": "12.50"}),
            ("revenue_adjusted", {"revenue": "-5.00", "revenue_total": "25.00"}),
        ],
        key=str,
    )


def test_a_stale_mark_converted_page_does_not_convert_a_returned_call(
    admin_client, calls_client, call
):
    """Defect 3: the page carried no version, so it re-converted a call returned meanwhile."""
    url = reverse("admin:integrations_call_changelist")
    page = admin_client.post(url, {"action": "mark_converted", "_selected_action": [call.pk]})
    read_version = Call.objects.get(pk=call.pk).version
    assert f'name="version_{call.pk}" value="{read_version}"' in page.text
    assert _post(calls_client, call, offer_converted="true", payout="10").status_code == 200
    assert _post(calls_client, call, offer_converted="false", return_reason="r").status_code == 200

    admin_client.post(
        url,
        {
            "action": "mark_converted",
            "_selected_action": [call.pk],
            f"version_{call.pk}": read_version,
            "kind": "offer",
            "amount": "10",
            "apply": "1",
        },
    )
    assert not Call.objects.get(pk=call.pk).offer_converted


def test_an_api_retry_after_a_return_does_not_convert_again(calls_client, call):
    """Defect 3: a client retrying offer_converted=true after the return re-converted."""
    assert _post(calls_client, call, offer_converted="true", payout="10").status_code == 200
    assert _post(calls_client, call, offer_converted="false", return_reason="r").status_code == 200

    retried = _post(calls_client, call, offer_converted="true", payout="10")
    assert retried.status_code == 409
    assert "send version=" in retried.content.decode()
    assert not Call.objects.get(pk=call.pk).offer_converted
    version = Call.objects.get(pk=call.pk).version
    again = _post(calls_client, call, offer_converted="true", payout="10", version=version)
    assert again.status_code == 200 and again.json()["offer_converted"] is True


def test_the_money_changes_go_through_update_call_with_its_ledger(call):
    update_call(call_uuid=call.call_uuid, update=CallUpdate(offer_converted=True, payout=4))
    entry = LedgerEntry.objects.get(call=call)
    call.refresh_from_db()
    assert (entry.kind, entry.amount, entry.call_version) == ("conversion", 4, call.version)


def test_the_hold_window_delays_the_postback_so_a_return_inside_it_costs_nothing(
    ringba, call, calls_client, admin_client
):
    offer = call.offer
    offer.conversion_hold_minutes = 15
    offer.save()
    assert _post(calls_client, call, offer_converted="true", payout="10.00").status_code == 200
    [delivery] = PostbackDelivery.objects.filter(call=call)
    assert delivery.next_attempt_at > timezone.now() + timedelta(minutes=14)
    assert deliveries.attempt_delivery(delivery_id=delivery.pk) is None  # held
    page = admin_client.get(reverse("admin:integrations_call_change", args=[call.pk])).text
    assert f"sends at {delivery.next_attempt_at:%H:%M} UTC" in page

    assert _post(calls_client, call, offer_converted="false", return_reason="x").status_code == 200
    PostbackDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    deliveries.attempt_delivery(delivery_id=delivery.pk)
    assert ringba.hits == [] and not RingbaAdjustment.objects.exists()
