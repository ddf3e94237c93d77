"""CSV export of leads, calls and deliveries, exactly as filtered, streamed (issue 15)."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from integrations.admin.csv_export import safe_cell
from integrations.models import DeliveryStatus, PostbackAttempt, PostbackDelivery
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager_client(client):
    client.force_login(factories.account_manager())
    return client


def _export(client, model: str, **params) -> list[dict]:
    response = client.get(reverse(f"admin:integrations_{model}_export"), params)
    assert response.status_code == 200
    assert response.streaming and response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def _listed(client, model: str, **params) -> list:
    response = client.get(reverse(f"admin:integrations_{model}_changelist"), params)
    return list(response.context["cl"].result_list)


@pytest.fixture
def calls(ringba_setup, ringba_trigger):
    made = []
    for index in range(6):
        lead = factories.LeadFactory(
            offer=ringba_setup["offer"],
            traffic_source=ringba_setup["source"],
            ringba_call_uuid=f"RGB-{index}",
            caller_id=f"+1312555010{index}",
        )
        call = factories.CallFactory(
            number=ringba_setup["number"],
            lead=lead,
            caller_id=lead.caller_id,
            offer_converted=index % 2 == 0,
            payout=Decimal("12.50") if index % 2 == 0 else None,
        )
        if call.offer_converted:
            delivery = PostbackDelivery.objects.create(
                trigger=ringba_trigger,
                call=call,
                event="call_offer_converted",
                status=DeliveryStatus.FAILED if index == 4 else DeliveryStatus.DELIVERED,
                attempt_count=1,
            )
            PostbackAttempt.objects.create(
                delivery=delivery,
                started_at=call.started_at,
                status_code=500 if index == 4 else 200,
            )
        made.append(call)
    return made


def test_the_export_holds_exactly_the_filtered_rows(manager_client, calls):
    filters = {"offer_converted__exact": "1"}
    rows = _export(manager_client, "call", **filters)
    listed = _listed(manager_client, "call", **filters)
    assert [row["call_uuid"] for row in rows] == [call.call_uuid for call in listed]
    assert len(rows) == 3


def test_calls_carry_what_is_reconciled_against_ringba(manager_client, calls):
    rows = {row["ringba_call_uuid"]: row for row in _export(manager_client, "call")}
    assert rows["RGB-0"]["payout"] == "12.50" and rows["RGB-0"]["postback_status"] == "delivered"
    assert rows["RGB-4"]["postback_status"] == "failed" and rows["RGB-4"]["last_response"] == "500"
    assert rows["RGB-1"]["offer_converted"] == "False" and rows["RGB-1"]["postback_status"] == ""
    assert rows["RGB-3"]["caller_id"] == "+13125550103"  # a plain number stays as it is


def test_search_and_deliveries_export_as_filtered(manager_client, calls):
    rows = _export(manager_client, "postbackdelivery", status__exact="failed")
    assert [row["ringba_call_uuid"] for row in rows] == ["RGB-4"]
    assert rows[0]["last_response"] == "500"
    leads = _export(manager_client, "lead", q="(312) 555-0102")
    assert [row["ringba_call_uuid"] for row in leads] == ["RGB-2"]


def test_the_export_reads_rows_in_a_fixed_number_of_queries(manager_client, calls):
    with CaptureQueriesContext(connection) as few:
        _export(manager_client, "call")
    factories.CallFactory.create_batch(20, number=calls[0].number)
    with CaptureQueriesContext(connection) as many:
        assert len(_export(manager_client, "call")) == 26
    assert len(many) == len(few)


def test_the_list_has_the_export_button_with_its_filters(manager_client, calls):
    page = manager_client.get(
        reverse("admin:integrations_call_changelist"), {"offer_converted__exact": "1"}
    ).text
    assert reverse("admin:integrations_call_export") + "?offer_converted__exact=1" in page


def test_export_needs_a_login(client):
    response = client.get(reverse("admin:integrations_call_export"))
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("+13125550100", "+13125550100"),
        ("-12.50", "-12.50"),
        ("plain", "plain"),
        (None, ""),
    ],
)
def test_cells_a_spreadsheet_would_run_are_written_as_text(value, written):
    assert safe_cell(value) == written


def test_a_schedule_callback_call_is_exported_not_the_end_of_the_file(manager_client, calls):
    """Its number is empty: the export used to stop there, after answering 200 (issue 25)."""
    schedule = factories.ScheduleFactory(offer=calls[0].offer)
    lead = factories.ScheduleLeadFactory(schedule=schedule, traffic_source=calls[0].traffic_source)
    factories.CallFactory(
        number=None,
        offer=calls[0].offer,
        traffic_source=calls[0].traffic_source,
        schedule_lead=lead,
        started_at=calls[-1].started_at + timedelta(seconds=1),
    )
    rows = _export(manager_client, "call")
    assert len(rows) == len(calls) + 1
    assert [row["number"] for row in rows].count("") == 1


@pytest.mark.parametrize("model", ["call", "lead", "postbackdelivery"])
@pytest.mark.parametrize(
    "params",
    [
        {"p": "-1"},
        {"offer__id__exact": "abc"},
        {"trigger__id__exact": "x"},
        {"q": "a\x00b"},
        {"status__exact": "a\x00b"},
        {"caller_id": "a\x00b"},
    ],
)
def test_hand_edited_filters_answer_like_the_list_page(manager_client, calls, model, params):
    listed = manager_client.get(reverse(f"admin:integrations_{model}_changelist"), params)
    exported = manager_client.get(reverse(f"admin:integrations_{model}_export"), params)
    assert exported.status_code < 500
    if listed.status_code == 302:  # Django's "?e=1": the filters are not valid
        assert exported.status_code == 302 and "e=1" in exported["Location"]


def test_an_export_that_fails_midway_says_so_in_the_file(manager_client, calls, monkeypatch):
    from integrations.admin.calls import CallAdmin

    columns = list(CallAdmin.csv_columns)
    broken = ("broken", lambda call: 1 / 0 if call.pk == calls[2].pk else "ok")
    monkeypatch.setattr(CallAdmin, "csv_columns", (*columns, broken))
    response = manager_client.get(reverse("admin:integrations_call_export"))
    text = b"".join(response.streaming_content).decode()
    assert text.rstrip().splitlines()[-1].startswith("# EXPORT FAILED")
    assert "incomplete" in text.rstrip().splitlines()[-1]


def test_the_leads_export_has_a_column_per_contact_field(manager_client, ringba_setup):
    offer = ringba_setup["offer"]
    factories.ContactFieldFactory(offer=offer, name="first_name")
    factories.ContactFieldFactory(offer=offer, name="zip_code")
    factories.LeadFactory(
        offer=offer,
        traffic_source=ringba_setup["source"],
        tokens={"first_name": "Mary", "zip_code": "=90210"},
    )
    [row] = _export(manager_client, "lead")
    assert row["first_name"] == "Mary"
    assert row["zip_code"] == "'=90210"  # written as text, never run as a formula


def test_rejected_pixels_export_as_filtered(manager_client, ringba_setup):
    from integrations.models import RejectedPixel

    for status in (422, 403):
        RejectedPixel.objects.create(
            offer=ringba_setup["offer"],
            traffic_source=ringba_setup["source"],
            status_code=status,
            errors=[f"caller_id: refused with {status}"],
            caller_id="+13125550100",
        )
    rows = _export(manager_client, "rejectedpixel", status_code=422)
    assert [(row["status_code"], row["errors"]) for row in rows] == [
        ("422", "caller_id: refused with 422")
    ]
    assert rows[0]["offer"] == ringba_setup["offer"].name
