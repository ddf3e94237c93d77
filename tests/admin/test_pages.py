"""Every admin page an account manager uses loads, with a bounded number of queries."""

import pytest
from django.urls import reverse

from integrations.models import (
    DeliveryStatus,
    PostbackAttempt,
    PostbackDelivery,
    RejectedPixel,
)
from integrations.services import schedules
from integrations.services.triggers import create_trigger_from_template
from tests import factories

pytestmark = pytest.mark.django_db

MODELS = [
    "offer",
    "trafficsource",
    "number",
    "lead",
    "call",
    "eventtrigger",
    "postbackdelivery",
    "triggertemplate",
    "rejectedpixel",
    "schedule",
    "schedulelead",
]


def _populate(rows: int, ringba_template):
    """Create ``rows`` of everything, so N+1 queries would show as growth."""
    trigger = ringba_template.triggers.first() or create_trigger_from_template(
        template=ringba_template
    )
    for index in range(rows):
        source = factories.TrafficSourceFactory()
        offer = factories.OfferFactory(traffic_sources=[source])
        number = factories.NumberFactory(offer=offer, traffic_source=source)
        factories.NumberTokenFactory(number=number)
        factories.ContactFieldFactory(offer=offer)
        lead = factories.LeadFactory(offer=offer, traffic_source=source)
        call = factories.CallFactory(number=number, lead=lead)
        factories.MappingFactory(trigger=trigger, traffic_source=source, value=f"tok{index}")
        delivery = PostbackDelivery.objects.create(
            trigger=trigger,
            call=call,
            event=trigger.event,
            status=DeliveryStatus.FAILED,
            url="https://webhook.ringba.com/hook/x",
            attempt_count=1,
        )
        PostbackAttempt.objects.create(
            delivery=delivery, started_at=call.started_at, status_code=404
        )
        RejectedPixel.objects.create(
            offer=offer, traffic_source=source, status_code=422, errors=["caller_id: x"]
        )
        schedule = factories.ScheduleFactory(offer=offer, traffic_sources=[source])
        schedule.contact_fields.create(name="first_name")
        schedule_lead = factories.ScheduleLeadFactory(schedule=schedule, traffic_source=source)
        schedules.count_call(schedule_lead.uuid, cause="test")
        factories.CallFactory(
            number=None, offer=offer, traffic_source=source, schedule_lead=schedule_lead
        )
    return trigger


@pytest.fixture
def manager_client(client):
    client.force_login(factories.account_manager())
    return client


def _query_count(django_assert_max_num_queries, client, url, limit):
    with django_assert_max_num_queries(limit):
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response


@pytest.mark.parametrize("model", MODELS)
def test_changelists_load_with_queries_independent_of_row_count(
    manager_client, ringba_template, model
):
    url = reverse(f"admin:integrations_{model}_changelist")
    _populate(2, ringba_template)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert manager_client.get(url).status_code == 200
    _populate(8, ringba_template)
    with CaptureQueriesContext(connection) as many:
        assert manager_client.get(url).status_code == 200
    assert len(many) == len(few), f"{model} list grows with rows: {len(few)} → {len(many)}"
    assert len(many) <= 20


@pytest.mark.parametrize("model", MODELS)
def test_change_forms_load_for_an_account_manager(
    manager_client, ringba_template, model, django_assert_max_num_queries
):
    trigger = _populate(3, ringba_template)
    from integrations import models as m

    model_class = {
        "offer": m.Offer,
        "trafficsource": m.TrafficSource,
        "number": m.Number,
        "lead": m.Lead,
        "call": m.Call,
        "eventtrigger": m.EventTrigger,
        "postbackdelivery": m.PostbackDelivery,
        "triggertemplate": m.TriggerTemplate,
        "rejectedpixel": m.RejectedPixel,
        "schedule": m.Schedule,
        "schedulelead": m.ScheduleLead,
    }[model]
    obj = trigger if model == "eventtrigger" else model_class.objects.first()
    url = reverse(f"admin:integrations_{model}_change", args=[obj.pk])
    _query_count(django_assert_max_num_queries, manager_client, url, 40)


def test_add_forms_load_for_configurable_models(manager_client):
    for model in ["offer", "trafficsource", "number", "eventtrigger", "schedule"]:
        response = manager_client.get(reverse(f"admin:integrations_{model}_add"))
        assert response.status_code == 200, model


def test_anonymous_users_are_sent_to_the_login_page(client):
    for model in MODELS:
        response = client.get(reverse(f"admin:integrations_{model}_changelist"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


def test_account_managers_cannot_delete_audit_data(manager_client, ringba_template):
    _populate(1, ringba_template)
    from integrations.models import Lead

    lead = Lead.objects.first()
    response = manager_client.get(reverse("admin:integrations_lead_delete", args=[lead.pk]))
    assert response.status_code == 403
