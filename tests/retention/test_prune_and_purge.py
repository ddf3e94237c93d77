"""Data ages out in bounded batches; one caller's personal data can be purged (issue 17)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from integrations.models import (
    Call,
    DeliveryStatus,
    Lead,
    PostbackAttempt,
    PostbackDelivery,
    ScheduleLead,
    ScheduleLeadState,
)
from integrations.services.retention import PURGED, prune, purge_caller
from tests import factories

pytestmark = pytest.mark.django_db

OLD = timezone.now() - timedelta(days=500)
CALLER = "+13125550177"


def _delivery(call, trigger, status, *, attempt_age_days: int, **fields):
    delivery = PostbackDelivery.objects.create(
        trigger=trigger,
        call=call,
        event=trigger.event,
        status=status,
        url=f"https://webhook.ringba.com/hook/t?call_id=R&caller={CALLER}",
        **fields,
    )
    PostbackAttempt.objects.create(
        delivery=delivery,
        number=1,
        started_at=timezone.now() - timedelta(days=attempt_age_days),
        status_code=200,
        response_body=f"ok {CALLER}",
    )
    return delivery


@pytest.fixture
def trigger(db):
    return factories.TriggerFactory()


def test_old_rows_go_recent_rows_and_live_deliveries_stay(ringba_setup, trigger):
    number = ringba_setup["number"]
    lead_kwargs = {"offer": ringba_setup["offer"], "traffic_source": ringba_setup["source"]}
    old_lead = factories.LeadFactory(**lead_kwargs, received_at=OLD)
    old_call = factories.CallFactory(number=number, started_at=OLD, lead=old_lead)
    still_due = factories.CallFactory(number=number, started_at=OLD)
    _delivery(still_due, trigger, DeliveryStatus.RETRYING, attempt_age_days=500)
    recent_call = factories.CallFactory(number=number)
    delivered = _delivery(recent_call, trigger, DeliveryStatus.DELIVERED, attempt_age_days=40)
    recent_failed = factories.CallFactory(number=number)
    failed = _delivery(recent_failed, trigger, DeliveryStatus.FAILED, attempt_age_days=40)
    orphan_old_lead = factories.LeadFactory(**lead_kwargs, received_at=OLD)
    recent_lead = factories.LeadFactory(**lead_kwargs)

    report = prune(batch_size=1)

    assert not Call.objects.filter(pk=old_call.pk).exists()
    assert Call.objects.filter(pk=still_due.pk).exists()  # a live delivery needs it
    assert Call.objects.filter(pk__in=[recent_call.pk, recent_failed.pk]).count() == 2
    assert not Lead.objects.filter(pk__in=[old_lead.pk, orphan_old_lead.pk]).exists()
    assert Lead.objects.filter(pk=recent_lead.pk).exists()
    delivered.refresh_from_db()
    assert delivered.status == DeliveryStatus.DELIVERED and not delivered.attempts.exists()
    assert failed.attempts.count() == 1  # failed attempts stay for the account manager
    assert report.deleted == {"attempts of delivered postbacks": 1, "calls": 1, "leads": 2}


def test_pruning_works_in_bounded_batches(ringba_setup):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(5):
        factories.LeadFactory(
            offer=ringba_setup["offer"], traffic_source=ringba_setup["source"], received_at=OLD
        )
    with CaptureQueriesContext(connection) as queries:
        report = prune(batch_size=2)
    deletes = [q["sql"] for q in queries if q["sql"].startswith('DELETE FROM "integrations_lead"')]
    assert report.deleted == {"leads": 5}
    assert len(deletes) == 3  # 2 + 2 + 1 rows, each batch its own short statement


def test_the_prune_command_reports_what_it_did(ringba_setup, capsys):
    factories.LeadFactory(
        offer=ringba_setup["offer"], traffic_source=ringba_setup["source"], received_at=OLD
    )
    call_command("prune")
    assert "deleted 1 leads" in capsys.readouterr().out
    call_command("prune")
    assert "Nothing past its retention." in capsys.readouterr().out


def test_purging_a_caller_removes_personal_data_and_keeps_the_totals(ringba_setup, trigger):
    lead = factories.LeadFactory(
        offer=ringba_setup["offer"],
        traffic_source=ringba_setup["source"],
        caller_id=CALLER,
        tokens={"first_name": "Ann", "email": "ann@example.com"},
        raw_body=f'{{"caller_id": "{CALLER}", "first_name": "Ann"}}',
        source_ip="203.0.113.9",
        user_agent="Ringba",
    )
    call = factories.CallFactory(
        number=ringba_setup["number"],
        caller_id=CALLER,
        lead=lead,
        offer_converted=True,
        payout=Decimal("12.50"),
        post_call_tokens={"note": "Ann called back"},
    )
    delivery = _delivery(call, trigger, DeliveryStatus.DELIVERED, attempt_age_days=1)
    other = factories.CallFactory(number=ringba_setup["number"], caller_id="+13125550999")

    call_command("purge_caller", "(312) 555-0177")

    lead.refresh_from_db()
    call.refresh_from_db()
    delivery.refresh_from_db()
    assert (lead.caller_id, lead.tokens, lead.raw_body, lead.source_ip, lead.user_agent) == (
        PURGED,
        {},
        "",
        None,
        "",
    )
    assert call.caller_id == PURGED and call.post_call_tokens == {}
    assert call.offer_converted and call.payout == Decimal("12.50")  # the totals stay
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.url == "https://webhook.ringba.com/[purged]"
    assert delivery.attempts.get().response_body == ""
    other.refresh_from_db()
    assert other.caller_id == "+13125550999"
    assert purge_caller(caller_id=CALLER) == {
        "attempts": 0,
        "deliveries": 0,
        "calls": 0,
        "leads": 0,
        "schedule leads": 0,
        "rejected pixels": 0,
    }


def test_schedule_leads_age_out_once_closed_and_without_calls(ringba_setup):
    schedule = factories.ScheduleFactory(offer=ringba_setup["offer"])
    source = ringba_setup["source"]
    old_closed = factories.ScheduleLeadFactory(
        schedule=schedule, traffic_source=source, received_at=OLD, state="expired"
    )
    old_open = factories.ScheduleLeadFactory(
        schedule=schedule, traffic_source=source, received_at=OLD
    )
    old_called = factories.ScheduleLeadFactory(
        schedule=schedule, traffic_source=source, received_at=timezone.now(), state="converted"
    )
    factories.CallFactory(
        number=None, offer=schedule.offer, traffic_source=source, schedule_lead=old_called
    )
    old_called.received_at = OLD
    old_called.save(update_fields=["received_at"])
    report = prune()
    assert report.deleted.get("schedule leads") == 1
    remaining = set(ScheduleLead.objects.values_list("pk", flat=True))
    assert remaining == {old_open.pk, old_called.pk}
    assert old_closed.pk not in remaining


def test_purging_a_caller_opts_out_and_scrubs_their_schedule_leads(ringba_setup):
    schedule = factories.ScheduleFactory(offer=ringba_setup["offer"])
    lead = factories.ScheduleLeadFactory(
        schedule=schedule,
        traffic_source=ringba_setup["source"],
        caller_id=CALLER,
        tokens={"first_name": "Pat", "ringba_call_uuid": "RGB-9"},
        raw_body=f'{{"caller_id": "{CALLER}"}}',
    )
    counts = purge_caller(caller_id=CALLER)
    assert counts["schedule leads"] == 1
    lead.refresh_from_db()
    assert lead.state == ScheduleLeadState.OPTED_OUT  # never called again
    assert (lead.caller_id, lead.tokens, lead.raw_body) == (PURGED, {}, "")
    assert lead.transitions.last().cause == "personal data purged (purge_caller)"


def _text_of_every_row() -> str:
    """Every text and JSON value of every row of every table the portal keeps."""
    from django.apps import apps
    from django.db import models

    texts = []
    for model in apps.get_models(include_auto_created=True):
        fields = [
            field.attname
            for field in model._meta.concrete_fields
            if isinstance(field, models.CharField | models.TextField | models.JSONField)
        ]
        if fields:
            for row in model.objects.values_list(*fields):
                texts.append(repr(row))
    return "\n".join(texts)


def test_a_purged_number_is_in_no_table_not_even_the_why_panel(ringba_setup, ringba_trigger):
    """The delivery's explanation kept the caller's number (issue 25, item 7)."""
    from integrations.models import DestinationHealth
    from integrations.services.calls import CallUpdate, update_call

    factories.MappingFactory(
        trigger=ringba_trigger, traffic_source=ringba_setup["source"], value="HOOK"
    )
    caller_trigger = factories.TriggerFactory(
        url_template="https://webhook.ringba.com/hook/c?who=[caller_id]&short=[caller_id_short]",
        conditions=[{"token": "caller_id", "operator": "is populated"}],
    )
    lead = factories.LeadFactory(
        offer=ringba_setup["offer"],
        traffic_source=ringba_setup["source"],
        caller_id=CALLER,
        ringba_call_uuid="RGB-PURGE",
    )
    call = factories.CallFactory(number=ringba_setup["number"], caller_id=CALLER, lead=lead)
    update_call(
        call_uuid=call.call_uuid, update=CallUpdate(offer_converted=True, payout=Decimal("5"))
    )
    failure = f"Connection refused for /hook/c?who={CALLER}"
    caller_trigger.refresh_from_db()
    type(caller_trigger).objects.filter(pk=caller_trigger.pk).update(last_error=failure)
    DestinationHealth.objects.create(host="webhook.ringba.com:443", last_error=failure)
    assert CALLER in _text_of_every_row()

    purge_caller(caller_id=CALLER)

    everything = _text_of_every_row()
    for written in (CALLER, CALLER.lstrip("+"), "3125550177", "(312) 555-0177"):
        assert written not in everything, written
