"""Lead-to-Call schedules end to end through the APIs (SPEC §12).

Every state change is tested where it happens: the Finalized pixel (queued), the
dialer's claim (contacting, with a lease), the reported callback (an attempt),
the worker's sweep (expired at the hour, exhausted after N attempts), opt-out,
the admin's requeue, and a converting callback (converted, one Ringba postback
with the original call id).
"""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from integrations.models import (
    Call,
    DeliveryStatus,
    Event,
    Lead,
    PostbackDelivery,
    ScheduleLead,
    ScheduleLeadState,
)
from integrations.services import schedules
from integrations.services.calls import CallUpdate, update_call
from tests import factories

pytestmark = pytest.mark.django_db

CAPTURE = "/api/v1/leads/capture"


@pytest.fixture
def schedule(ringba_setup):
    return factories.ScheduleFactory(
        offer=ringba_setup["offer"],
        traffic_sources=[ringba_setup["source"]],
        max_contact_attempts=2,
        retry_minutes=30,
        hours_to_expire=24,
    )


@pytest.fixture
def finalized_pixel(schedule, ringba_setup):
    return {
        "lead_token": schedule.lead_token,
        "traffic_source_id": str(ringba_setup["source"].traffic_source_id),
        "caller_id": "+13125550177",
        "ringba_call_uuid": "RGB-FIN-1",
        "first_name": "Unrouted",
    }


def capture(client, body):
    return client.post(CAPTURE, body, content_type="application/json")


def claim(calls_client, schedule, **body):
    response = calls_client.post(
        f"/api/v1/schedules/{schedule.pk}/claim", body or {"limit": 10}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def report_call(calls_client, lead_uuid, **extra):
    return calls_client.post(
        "/api/v1/calls", {"schedule_lead": str(lead_uuid), **extra}, format="json"
    )


@pytest.fixture
def queued(client, finalized_pixel):
    response = capture(client, finalized_pixel)
    assert response.status_code == 201, response.content
    return ScheduleLead.objects.get(uuid=response.json()["schedule_lead"]["uuid"])


# --- The Finalized pixel --------------------------------------------------------------


def test_a_schedule_token_stores_a_queued_schedule_lead(client, finalized_pixel, schedule):
    response = capture(client, finalized_pixel)
    assert response.status_code == 201
    body = response.json()
    assert "lead" not in body
    assert body["status"] == "accepted"
    assert body["schedule_lead"]["state"] == "queued"
    assert body["schedule_lead"]["schedule_id"] == schedule.pk
    lead = ScheduleLead.objects.get()
    assert lead.tokens["ringba_call_uuid"] == "RGB-FIN-1"
    assert lead.expires_at - lead.received_at == timedelta(hours=24)
    assert [(t.from_state, t.to_state, t.cause) for t in lead.transitions.all()] == [
        ("", "queued", "pixel")
    ]
    assert Lead.objects.count() == 0  # not a direct lead of the offer


def test_a_repeat_of_the_same_ringba_call_merges(client, finalized_pixel):
    assert capture(client, finalized_pixel).status_code == 201
    again = capture(client, {**finalized_pixel, "last_name": "Later"})
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    lead = ScheduleLead.objects.get()
    assert lead.tokens["first_name"] == "Unrouted" and lead.tokens["last_name"] == "Later"


def test_a_schedule_pixel_never_attaches_to_a_direct_call(client, finalized_pixel, ringba_setup):
    direct = factories.CallFactory(number=ringba_setup["number"], caller_id="+13125550177")
    assert capture(client, finalized_pixel).status_code == 201
    direct.refresh_from_db()
    assert direct.lead_id is None


def test_a_direct_pixel_never_attaches_to_a_schedule_callback(
    client, queued, calls_client, ringba_setup
):
    callback = report_call(calls_client, queued.uuid)
    assert callback.status_code == 201
    direct_pixel = {
        "lead_token": ringba_setup["offer"].lead_token,
        "traffic_source_id": str(ringba_setup["source"].traffic_source_id),
        "caller_id": "+13125550177",
        "ringba_call_uuid": "RGB-DIRECT",
    }
    response = capture(client, direct_pixel)
    assert response.status_code == 201
    assert response.json()["lead"]["call_uuid"] is None
    assert Call.objects.get(call_uuid=callback.json()["call_uuid"]).lead_id is None


def test_a_schedule_checks_its_own_contact_fields_and_sources(
    client, finalized_pixel, schedule, ringba_setup
):
    schedule.offer.enforce_contact_field_validations = True
    schedule.offer.save()
    schedule.contact_fields.create(name="zip_code", required=True, pattern=r"\d{5}")
    missing = capture(client, finalized_pixel)
    assert missing.status_code == 422
    assert any(error.startswith("zip_code:") for error in missing.json()["errors"])
    other_source = factories.TrafficSourceFactory()
    refused = capture(
        client,
        {
            **finalized_pixel,
            "zip_code": "60601",
            "traffic_source_id": str(other_source.traffic_source_id),
        },
    )
    assert refused.status_code == 422
    assert "is not enabled" in refused.json()["errors"][0]


def test_an_inactive_schedule_refuses_its_token(client, finalized_pixel, schedule):
    schedule.active = False
    schedule.save()
    assert capture(client, finalized_pixel).status_code == 401


# --- The dialer's claim --------------------------------------------------------------


def test_a_claim_leases_due_leads_once_until_the_lease_lapses(calls_client, queued, schedule):
    first = claim(calls_client, schedule)
    assert first["window_open"] is True
    [claimed] = first["leads"]
    assert claimed["uuid"] == str(queued.uuid)
    assert claimed["tokens"]["ringba_call_uuid"] == "RGB-FIN-1"
    queued.refresh_from_db()
    assert queued.state == ScheduleLeadState.CONTACTING and queued.lease_expires_at
    assert claim(calls_client, schedule)["leads"] == []  # leased to the first dialer

    # The lease lapses without a call: due again, and no attempt was counted.
    ScheduleLead.objects.update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    [again] = claim(calls_client, schedule)["leads"]
    assert again["uuid"] == str(queued.uuid) and again["attempts"] == 0


def test_outside_the_contact_window_nothing_is_due(calls_client, queued, schedule):
    today = timezone.now().isoweekday()
    schedule.contact_days = "".join(str(day) for day in range(1, 8) if day != today)
    schedule.save()
    answer = claim(calls_client, schedule)
    assert answer["leads"] == [] and answer["window_open"] is False
    assert answer["next_opening"] is not None


def test_claiming_needs_calls_api_credentials(api_client, schedule):
    response = api_client.post(f"/api/v1/schedules/{schedule.pk}/claim", {}, format="json")
    assert response.status_code == 401


# --- Callbacks, attempts, exhaustion ---------------------------------------------------


def test_a_reported_callback_counts_an_attempt_and_carries_the_pixel(
    calls_client, queued, schedule, ringba_setup
):
    [claimed] = claim(calls_client, schedule)["leads"]
    response = report_call(calls_client, queued.uuid, claim=claimed["claim"])
    assert response.status_code == 201, response.content
    call = response.json()
    assert call["number"] is None
    assert call["caller_id"] == "+13125550177"
    assert call["offer_id"] == schedule.offer_id
    assert call["traffic_source_id"] == ringba_setup["source"].traffic_source_id
    assert call["tokens"]["ringba_call_uuid"] == "RGB-FIN-1"
    assert call["schedule_lead"] == {
        "uuid": str(queued.uuid),
        "schedule_id": schedule.pk,
        "state": "contacting",
        "attempts": 1,
    }
    queued.refresh_from_db()
    assert queued.lease_expires_at is None
    assert queued.next_attempt_at > timezone.now() + timedelta(minutes=29)
    assert claim(calls_client, schedule)["leads"] == []  # the retry spacing


def test_exhausted_after_the_last_attempt_and_its_retry_spacing(calls_client, queued):
    for _ in range(2):  # max_contact_attempts
        assert report_call(calls_client, queued.uuid).status_code == 201
    later = timezone.now() + timedelta(minutes=29)
    assert schedules.sweep(later)["exhausted"] == 0  # its last call may still convert
    assert schedules.sweep(later + timedelta(minutes=2))["exhausted"] == 1
    queued.refresh_from_db()
    assert queued.state == ScheduleLeadState.EXHAUSTED and queued.attempts == 2
    assert queued.transitions.last().cause.startswith("worker: every contact attempt")
    refused = report_call(calls_client, queued.uuid)
    assert refused.status_code == 409
    assert refused.json()["errors"] == [
        f"schedule_lead: {queued.uuid} is exhausted; it takes no more calls"
    ]


def test_a_repeated_report_with_the_same_call_uuid_counts_once(calls_client, queued):
    first = report_call(calls_client, queued.uuid, call_uuid="DIALER-1")
    again = report_call(calls_client, queued.uuid, call_uuid="DIALER-1")
    assert (first.status_code, again.status_code) == (201, 200)
    queued.refresh_from_db()
    assert queued.attempts == 1


def test_an_unknown_schedule_lead_is_404(calls_client, schedule):
    response = report_call(calls_client, "0190a0b0-0000-7000-8000-000000000000")
    assert response.status_code == 404


# --- Expiry, opt-out, requeue ------------------------------------------------------------


def test_a_lead_expires_at_the_hour(queued, schedule):
    trigger = factories.TriggerFactory(
        event=Event.SCHEDULE_LEAD_EXPIRED,
        conditions=[],
        url_template="https://webhook.ringba.com/hook/x?lead=[schedule_lead_uuid]",
    )
    received = queued.received_at
    assert schedules.sweep(received + timedelta(hours=23, minutes=59))["expired"] == 0
    assert schedules.sweep(received + timedelta(hours=24))["expired"] == 1
    assert schedules.sweep(received + timedelta(hours=25))["expired"] == 0
    queued.refresh_from_db()
    assert queued.state == ScheduleLeadState.EXPIRED
    [delivery] = PostbackDelivery.objects.filter(trigger=trigger)
    assert delivery.schedule_lead_id == queued.pk
    assert delivery.url.endswith(f"lead={queued.uuid}")


def test_opt_out_stops_every_call(calls_client, queued, schedule):
    response = calls_client.post(f"/api/v1/schedules/leads/{queued.uuid}/opt_out")
    assert response.status_code == 200
    assert response.json()["state"] == "opted_out"
    assert calls_client.post(f"/api/v1/schedules/leads/{queued.uuid}/opt_out").status_code == 200
    assert claim(calls_client, schedule)["leads"] == []
    assert report_call(calls_client, queued.uuid).status_code == 409
    assert schedules.sweep(timezone.now() + timedelta(days=2))["expired"] == 0


def test_requeue_gives_a_fresh_round_but_never_to_an_opt_out(calls_client, queued):
    for _ in range(2):
        report_call(calls_client, queued.uuid)
    schedules.sweep(timezone.now() + timedelta(hours=1))
    queued.refresh_from_db()
    assert queued.state == ScheduleLeadState.EXHAUSTED
    assert schedules.requeue(queued, cause="admin: requeued by am") is True
    queued.refresh_from_db()
    assert (queued.state, queued.attempts) == (ScheduleLeadState.QUEUED, 0)
    schedules.opt_out(queued.uuid, cause="test")
    assert schedules.requeue(queued, cause="admin") is False


# --- Conversion and the Ringba postback -------------------------------------------------


def test_a_converting_callback_pays_the_original_ringba_call_once(
    calls_client, queued, ringba_setup, ringba_trigger, emitted, django_capture_on_commit_callbacks
):
    factories.MappingFactory(
        trigger=ringba_trigger, traffic_source=ringba_setup["source"], value="PARTNER-HOOK"
    )
    converted_trigger = factories.TriggerFactory(
        event=Event.SCHEDULE_LEAD_CONVERTED,
        conditions=[],
        url_template="https://webhook.ringba.com/hook/y?lead=[schedule_lead_uuid]",
    )
    call_uuid = report_call(calls_client, queued.uuid).json()["call_uuid"]
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):  # a retried conversion fires nothing more
            update_call(
                call_uuid=call_uuid,
                update=CallUpdate(offer_converted=True, payout=Decimal("12.50")),
            )
    [postback] = PostbackDelivery.objects.filter(call__call_uuid=call_uuid)
    assert emitted.conversions(postback.call) == 1
    assert len(emitted.due) == 2  # the Ringba postback and the schedule_lead_converted one
    assert postback.status == DeliveryStatus.PENDING
    assert postback.url == (
        "https://webhook.ringba.com/hook/PARTNER-HOOK?call_id=RGB-FIN-1"
        "&call_revenue=12.50&sale_successful=true"
    )
    queued.refresh_from_db()
    assert queued.state == ScheduleLeadState.CONVERTED
    assert queued.transitions.last().cause == "calls API"
    assert PostbackDelivery.objects.filter(trigger=converted_trigger).count() == 1


def test_due_is_announced_once_per_due_period(calls_client, queued):
    due_trigger = factories.TriggerFactory(
        event=Event.SCHEDULE_LEAD_DUE,
        conditions=[],
        url_template="https://webhook.ringba.com/hook/dial?lead=[schedule_lead_uuid]"
        "&attempt=[schedule_lead_attempts]",
    )
    assert schedules.sweep()["announced_due"] == 1
    assert schedules.sweep()["announced_due"] == 0
    report_call(calls_client, queued.uuid)
    ScheduleLead.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert schedules.sweep()["announced_due"] == 1
    urls = sorted(
        PostbackDelivery.objects.filter(trigger=due_trigger).values_list("url", flat=True)
    )
    assert [url.rsplit("&", 1)[1] for url in urls] == ["attempt=0", "attempt=1"]


# --- The console ---------------------------------------------------------------------------


def test_an_account_manager_sets_up_a_schedule_in_the_admin(client, ringba_setup):
    client.force_login(factories.account_manager())
    response = client.post(
        "/admin/integrations/schedule/add/",
        {
            "name": "Weekday callbacks",
            "active": "on",
            "offer": ringba_setup["offer"].pk,
            "traffic_sources": [ringba_setup["source"].pk],
            "hours_to_expire": 48,
            "max_contact_attempts": 4,
            "retry_minutes": 90,
            "contact_days": ["1", "2", "3", "4", "5"],
            "contact_start": "09:00",
            "contact_end": "18:30",
            "time_zone": "America/Chicago",
            "contact_fields-TOTAL_FORMS": 0,
            "contact_fields-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    schedule = ringba_setup["offer"].schedules.get()
    assert schedule.contact_days == "12345"
    assert list(schedule.traffic_sources.all()) == [ringba_setup["source"]]
    assert len(schedule.lead_token) == 32


def test_the_lead_queue_actions_requeue_and_opt_out(client, calls_client, queued):
    for _ in range(2):
        report_call(calls_client, queued.uuid)
    schedules.sweep(timezone.now() + timedelta(hours=1))
    client.force_login(factories.account_manager())
    url = "/admin/integrations/schedulelead/"
    listing = client.get(url, {"open": "no"})
    assert listing.status_code == 200 and "Exhausted" in listing.content.decode()
    client.post(url, {"action": "requeue", "_selected_action": [queued.pk]})
    queued.refresh_from_db()
    assert queued.state == ScheduleLeadState.QUEUED
    assert queued.transitions.last().cause.startswith("admin: requeued by ")
    client.post(url, {"action": "opt_out", "_selected_action": [queued.pk]})
    queued.refresh_from_db()
    assert queued.state == ScheduleLeadState.OPTED_OUT
    page = client.get(f"{url}{queued.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()  # read-only


@pytest.mark.parametrize("term", ["uuid", "RGB-FIN-1", "(312) 555-0177", "not-a-uuid"])
def test_the_lead_queue_finds_a_lead_by_uuid_ringba_id_or_number(client, queued, term):
    client.force_login(factories.account_manager())
    typed = {"uuid": str(queued.uuid)}.get(term, term)
    response = client.get("/admin/integrations/schedulelead/", {"q": typed})
    assert response.status_code == 200
    found = list(response.context["cl"].result_list)
    assert found == ([] if term == "not-a-uuid" else [queued])


def test_the_lead_queue_exports_to_csv_as_filtered(client, calls_client, queued, schedule):
    other = factories.ScheduleLeadFactory(schedule=schedule, traffic_source=queued.traffic_source)
    schedules.opt_out(other.uuid, cause="test")
    client.force_login(factories.account_manager())
    response = client.get("/admin/integrations/schedulelead/export.csv", {"open": "yes"})
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row["schedule_lead_uuid"] for row in rows] == [str(queued.uuid)]
    assert rows[0]["ringba_call_uuid"] == "RGB-FIN-1"
    assert rows[0]["state"] == "queued" and rows[0]["offer"] == schedule.offer.name
