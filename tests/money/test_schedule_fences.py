"""Lead-to-Call schedules fenced like deliveries (SPEC §12, §14; issue 24 cases 7-9).

A schedule lead pays once, however many callbacks convert; a dialer's report
carries the claim it was given and is refused once another dialer holds the
lead; attempts and expiry are enforced when the call is reported.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from integrations.infra import events
from integrations.models import Call, DeliveryStatus, Event, PostbackDelivery, ScheduleLead
from integrations.rules.errors import Rejected
from integrations.services import schedules
from integrations.services.calls import CallUpdate, record_call, update_call
from tests import factories
from tests.races import run_rounds


@pytest.fixture
def schedule(ringba_setup, ringba_trigger):
    factories.MappingFactory(
        trigger=ringba_trigger, traffic_source=ringba_setup["source"], value="HOOK"
    )
    return factories.ScheduleFactory(
        offer=ringba_setup["offer"],
        traffic_sources=[ringba_setup["source"]],
        max_contact_attempts=3,
    )


def _lead(schedule, **fields):
    ringba_id = fields.pop("ringba_call_uuid", "RGB-SCHED")
    return factories.ScheduleLeadFactory(
        schedule=schedule,
        traffic_source=schedule.traffic_sources.get(),
        ringba_call_uuid=ringba_id,
        tokens={"ringba_call_uuid": ringba_id, "first_name": "Pat"},  # as the pixel sent
        **fields,
    )


def _callback(lead, **fields) -> Call:
    call, _ = record_call(number=None, caller_id=None, schedule_lead=str(lead.uuid), **fields)
    return call


def _convert(call, payout="20.00"):
    return update_call(
        call_uuid=call.call_uuid, update=CallUpdate(offer_converted=True, payout=Decimal(payout))
    )


def _conversion_postbacks(lead):
    return PostbackDelivery.objects.filter(
        call__schedule_lead=lead, event=Event.CALL_OFFER_CONVERTED, is_test=False
    ).exclude(status=DeliveryStatus.SKIPPED)


# --- Case 7: one paid conversion per schedule lead -----------------------------------


@pytest.mark.django_db
def test_a_second_callback_of_a_converted_schedule_lead_is_not_paid_again(schedule, calls_client):
    lead = _lead(schedule)
    first, second = _callback(lead), _callback(lead)
    _convert(first)

    response = calls_client.post(
        f"/api/v1/calls/update_call/{second.call_uuid}",
        {"offer_converted": True, "payout": "20.00"},
        format="json",
    )

    assert response.status_code == 409, response.content
    assert "RGB-SCHED" in response.json()["errors"][0]
    assert first.call_uuid in response.json()["errors"][0]
    second.refresh_from_db()
    assert not second.offer_converted and second.payout is None
    assert _conversion_postbacks(lead).count() == 1


@pytest.mark.django_db
def test_the_duration_rule_still_ends_a_second_callback_without_paying_it(schedule):
    offer = schedule.offer
    offer.min_duration_seconds, offer.payout = 60, Decimal("20.00")
    offer.save()
    lead = _lead(schedule)
    first, second = _callback(lead), _callback(lead)
    _convert(first)

    update_call(call_uuid=second.call_uuid, update=CallUpdate(duration=300))

    second.refresh_from_db()
    assert second.duration == 300 and not second.offer_converted
    assert _conversion_postbacks(lead).count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_callbacks_converting_at_once_pay_once(postgres_only, schedule):
    rounds = 10
    announced = []  # every delivery handed to the queue, from any thread

    def count(sender, *, delivery_id, **kwargs):
        announced.append(delivery_id)

    events.delivery_due.connect(count, dispatch_uid="test-pay-once")
    pairs = []
    for round_number in range(rounds):
        lead = _lead(schedule, ringba_call_uuid=f"RGB-TWICE-{round_number}")
        pairs.append((lead, _callback(lead), _callback(lead)))

    def converter(position):
        def convert(round_number):
            return _convert(pairs[round_number][1 + position])

        return convert

    try:
        results = run_rounds(rounds, [converter(0), converter(1)])
    finally:
        events.delivery_due.disconnect(dispatch_uid="test-pay-once")

    for (lead, _first, _second), outcome in zip(pairs, results, strict=True):
        refused = [result for result in outcome if isinstance(result, Rejected)]
        assert len(refused) == 1, outcome
        converted = Call.objects.filter(schedule_lead=lead, offer_converted=True)
        assert converted.count() == 1
        assert _conversion_postbacks(lead).count() == 1
    # What was handed to the queue: one conversion postback per lead, no more.
    assert len(announced) == rounds


# --- Case 8: a report carries its claim --------------------------------------------


def _claim(schedule, holder):
    [lead] = schedules.claim_due(schedule=schedule, holder=holder, limit=1)
    return lead


def _lapse(lead):
    ScheduleLead.objects.filter(pk=lead.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )


@pytest.mark.django_db
def test_a_dialer_whose_lease_lapsed_cannot_report_over_the_new_claim(schedule, calls_client):
    lead = _lead(schedule)
    stale = _claim(schedule, "dialer-a")
    _lapse(stale)
    current = _claim(schedule, "dialer-b")
    assert current.pk == stale.pk and current.claim_token != stale.claim_token

    response = calls_client.post(
        "/api/v1/calls",
        {"schedule_lead": str(lead.uuid), "claim": stale.claim_token},
        format="json",
    )

    assert response.status_code == 409, response.content
    assert "dialer-b" in response.json()["errors"][0]
    lead.refresh_from_db()
    assert lead.lease_holder == "dialer-b" and lead.lease_expires_at > timezone.now()
    assert lead.attempts == 0 and not Call.objects.filter(schedule_lead=lead).exists()


@pytest.mark.django_db
def test_a_report_without_the_claim_is_refused_while_another_dialer_holds_the_lead(
    schedule, calls_client
):
    lead = _lead(schedule)
    _claim(schedule, "dialer-b")
    response = calls_client.post("/api/v1/calls", {"schedule_lead": str(lead.uuid)}, format="json")
    assert response.status_code == 409, response.content


@pytest.mark.django_db
def test_the_current_claim_reports_and_a_push_dialer_without_claims_still_can(
    schedule, calls_client
):
    _lead(schedule)
    claimed = _claim(schedule, "dialer-a")
    response = calls_client.post(
        "/api/v1/calls",
        {"schedule_lead": str(claimed.uuid), "claim": claimed.claim_token},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["schedule_lead"]["attempts"] == 1

    unclaimed = _lead(schedule, ringba_call_uuid="RGB-PUSH")
    response = calls_client.post(
        "/api/v1/calls", {"schedule_lead": str(unclaimed.uuid)}, format="json"
    )
    assert response.status_code == 201, response.content


@pytest.mark.django_db
def test_the_claim_answer_hands_each_lead_its_claim(schedule, calls_client):
    lead = _lead(schedule)
    response = calls_client.post(f"/api/v1/schedules/{schedule.pk}/claim", {}, format="json")
    assert response.status_code == 200
    [claimed] = response.json()["leads"]
    lead.refresh_from_db()
    assert claimed["claim"] == lead.claim_token and len(lead.claim_token) == 32


# --- Case 9: attempts and expiry enforced when the call is reported -------------------


@pytest.mark.django_db
def test_calls_beyond_max_contact_attempts_are_refused(schedule, calls_client):
    lead = _lead(schedule)
    statuses = [
        calls_client.post(
            "/api/v1/calls", {"schedule_lead": str(lead.uuid)}, format="json"
        ).status_code
        for _ in range(5)
    ]
    assert statuses == [201, 201, 201, 409, 409]
    lead.refresh_from_db()
    assert lead.attempts == 3


@pytest.mark.django_db
def test_a_call_to_an_expired_lead_not_yet_swept_is_refused(schedule, calls_client):
    lead = _lead(schedule, expires_at=timezone.now() - timedelta(minutes=1))
    response = calls_client.post("/api/v1/calls", {"schedule_lead": str(lead.uuid)}, format="json")
    assert response.status_code == 409
    assert "expired" in response.json()["errors"][0]


@pytest.mark.django_db
def test_the_largest_attempt_count_answers_409_not_500(schedule, calls_client):
    schedule.max_contact_attempts = 32767
    schedule.save()
    lead = _lead(schedule, attempts=32767, state="contacting")
    response = calls_client.post("/api/v1/calls", {"schedule_lead": str(lead.uuid)}, format="json")
    assert response.status_code == 409, response.content


@pytest.mark.django_db
def test_a_sale_paid_by_a_delivered_postback_stays_paid_after_an_unconversion(schedule):
    """Ringba kept call A's conversion; un-converting A does not free the sale for B."""
    from integrations.services.returns import Conversion, unconvert_call

    lead = _lead(schedule)
    first, second = _callback(lead), _callback(lead)
    _convert(first)
    factories.record_paid(PostbackDelivery.objects.get(call=first))
    first.refresh_from_db()
    unconvert_call(
        call_uuid=first.call_uuid,
        conversion=Conversion.OFFER,
        expected_version=first.version,
        cause="test",
    )

    with pytest.raises(Rejected) as refused:
        _convert(second)

    assert first.call_uuid in refused.value.errors[0]
