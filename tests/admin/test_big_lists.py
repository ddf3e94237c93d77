"""The big admin lists stay index-served at a million rows (issue 14, SPEC §9).

Timings are bench/admin_pages.py's; here are the properties that make them: every
list, filter, ordering and search the admin offers on leads, calls and deliveries
can be answered from an index (PostgreSQL, sequential scans disabled, must not fall
back to one), counts are capped, and searches still find what they should.
"""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from integrations.admin import big_tables
from integrations.models import DeliveryStatus, Event, PostbackAttempt, PostbackDelivery
from integrations.services.triggers import create_trigger_from_template
from tests import factories

pytestmark = pytest.mark.django_db

BIG_TABLES = (
    "integrations_lead",
    "integrations_call",
    "integrations_postbackdelivery",
    "integrations_rejectedpixel",
    "integrations_schedulelead",
)


@pytest.fixture
def manager_client(client):
    client.force_login(factories.account_manager())
    return client


@pytest.fixture
def rows(ringba_template):
    trigger = create_trigger_from_template(template=ringba_template)
    lead = factories.LeadFactory(caller_id="+13125550100", ringba_call_uuid="RGB-WANTED")
    number = factories.NumberFactory(
        number="+18005550123", offer=lead.offer, traffic_source=lead.traffic_source
    )
    call = factories.CallFactory(number=number, caller_id="+13125550100", lead=lead)
    delivery = PostbackDelivery.objects.create(
        trigger=trigger, call=call, event=Event.CALL_OFFER_CONVERTED, status=DeliveryStatus.FAILED
    )
    PostbackAttempt.objects.create(delivery=delivery, started_at=timezone.now(), status_code=500)
    other_call = factories.CallFactory(caller_id="+13125550199")
    PostbackDelivery.objects.create(
        trigger=trigger, call=other_call, event=Event.CALL_OFFER_CONVERTED
    )
    factories.LeadFactory(caller_id="+13125550199")
    schedule = factories.ScheduleFactory(offer=lead.offer, traffic_sources=[lead.traffic_source])
    factories.ScheduleLeadFactory(
        schedule=schedule,
        traffic_source=lead.traffic_source,
        caller_id="+13125550100",
        ringba_call_uuid="RGB-WANTED",
    )
    return {
        "lead": lead,
        "call": call,
        "delivery": delivery,
        "number": number,
        "schedule": schedule,
    }


def _listed(client, model: str, **params) -> list:
    response = client.get(reverse(f"admin:integrations_{model}_changelist"), params)
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def test_calls_are_found_by_their_leads_ringba_call_uuid(manager_client, rows):
    assert _listed(manager_client, "call", q="RGB-WANTED") == [rows["call"]]


def test_leads_are_found_by_uuid_and_a_non_uuid_term_is_no_error(manager_client, rows):
    assert _listed(manager_client, "lead", q=str(rows["lead"].uuid)) == [rows["lead"]]
    assert _listed(manager_client, "lead", q="RGB-WANTED") == [rows["lead"]]
    assert _listed(manager_client, "lead", q="not-a-uuid") == []


@pytest.mark.parametrize("term", ["call_uuid", "RGB-WANTED", "delivery_id"])
def test_deliveries_are_found_by_call_uuid_ringba_call_uuid_or_id(manager_client, rows, term):
    typed = {"call_uuid": rows["call"].call_uuid, "delivery_id": str(rows["delivery"].pk)}
    assert _listed(manager_client, "postbackdelivery", q=typed.get(term, term)) == [
        rows["delivery"]
    ]


def test_list_figures_are_per_row_on_the_visible_page(manager_client, rows):
    listed = _listed(manager_client, "postbackdelivery", status__exact="failed")
    assert [delivery._attempts for delivery in listed] == [1]
    calls = {call.pk: call._conversion_status for call in _listed(manager_client, "call")}
    assert calls[rows["call"].pk] == rows["delivery"].status


def test_offers_and_sources_show_their_last_pixel_not_a_count(manager_client, rows):
    quiet = factories.OfferFactory()
    last_pixel = {offer.pk: offer._last_pixel for offer in _listed(manager_client, "offer")}
    rows["lead"].refresh_from_db()
    assert last_pixel[rows["lead"].offer_id] == rows["lead"].received_at
    assert last_pixel[quiet.pk] is None
    sources = {s.pk: s for s in _listed(manager_client, "trafficsource")}
    wanted = sources[rows["lead"].traffic_source_id]
    assert wanted._last_pixel == rows["lead"].received_at
    assert wanted._last_call == rows["call"].started_at
    page = manager_client.get(reverse("admin:integrations_offer_changelist"))
    assert "never" in page.text


def test_a_date_range_filters_the_leads(manager_client, rows):
    old = factories.LeadFactory()
    old.received_at = timezone.now() - timedelta(days=40)
    old.save(update_fields=["received_at"])
    since = (timezone.localdate() - timedelta(days=7)).isoformat()
    listed = _listed(manager_client, "lead", received_at__range__gte=since)
    assert old not in listed and rows["lead"] in listed
    assert old in _listed(manager_client, "lead")


def test_no_list_has_a_date_hierarchy_or_facets_over_a_big_table():
    from django.contrib import admin

    from integrations.models import Call, Lead

    for model in (Lead, Call, PostbackDelivery):
        model_admin = admin.site._registry[model]
        assert model_admin.date_hierarchy is None, model
        assert model_admin.show_facets == admin.ShowFacets.NEVER, model


def test_a_long_list_is_counted_up_to_the_cap_then_estimated(manager_client, rows, monkeypatch):
    monkeypatch.setattr(big_tables, "EXACT_COUNT_UP_TO", 3)
    factories.LeadFactory.create_batch(5)
    response = manager_client.get(reverse("admin:integrations_lead_changelist"))
    paginator = response.context["cl"].paginator
    if connection.vendor == "postgresql":
        assert paginator.estimated and paginator.count >= 4
        assert "about" in response.text
    else:
        assert not paginator.estimated and paginator.count == 7
    monkeypatch.setattr(big_tables, "EXACT_COUNT_UP_TO", 100)
    response = manager_client.get(reverse("admin:integrations_lead_changelist"))
    assert not response.context["cl"].paginator.estimated
    assert response.context["cl"].result_count == 7
    assert "about" not in response.text


LIST_PAGES = [
    ("lead", {}),
    ("lead", {"p": "2"}),
    ("lead", {"q": "(312) 555-0100"}),
    ("lead", {"q": "RGB-WANTED"}),
    ("lead", {"offer__id__exact": "{offer}"}),
    ("lead", {"traffic_source__id__exact": "{source}"}),
    ("lead", {"received_at__range__gte": "2026-01-01"}),
    ("call", {}),
    ("call", {"q": "3125550100"}),
    ("call", {"q": "RGB-WANTED"}),
    ("call", {"q": "(800) 555-0123"}),
    ("call", {"offer__id__exact": "{offer}"}),
    ("call", {"started_at__range__gte": "2026-01-01"}),
    ("postbackdelivery", {}),
    ("postbackdelivery", {"status__exact": "failed"}),
    ("postbackdelivery", {"q": "RGB-WANTED"}),
    ("postbackdelivery", {"q": "{call_uuid}"}),
    ("offer", {}),
    ("trafficsource", {}),
    ("rejectedpixel", {}),
    ("rejectedpixel", {"offer__id__exact": "{offer}"}),
    ("rejectedpixel", {"q": "(312) 555-0100"}),
    ("schedulelead", {}),
    ("schedulelead", {"open": "yes"}),
    ("schedulelead", {"state__exact": "queued"}),
    ("schedulelead", {"schedule__id__exact": "{schedule}"}),
    ("schedulelead", {"q": "(312) 555-0100"}),
    ("schedulelead", {"q": "RGB-WANTED"}),
    ("schedulelead", {"received_at__range__gte": "2026-01-01"}),
]


FILLER_ROWS = 3000
ROWS_READ_AT_MOST = 500  # a page of 100, the next page's offset, a capped count of 50


def _fill(rows) -> None:
    """FILLER_ROWS more leads, calls and deliveries on the same offer, none matching."""
    lead, trigger = rows["lead"], rows["delivery"].trigger
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO integrations_lead (uuid, offer_id, traffic_source_id, caller_id,
                ringba_call_uuid, tokens, warnings, raw_body, raw_query, content_type,
                user_agent, received_at, updated_at)
            SELECT gen_random_uuid(), %s, %s, '+1773' || lpad(g::text, 7, '0'),
                'FILL-' || g, '{}', '[]', '', '', '', '', now() - g * interval '1 minute', now()
            FROM generate_series(1, %s) AS g
            """,
            [lead.offer_id, lead.traffic_source_id, FILLER_ROWS],
        )
        cursor.execute(
            """
            INSERT INTO integrations_call (call_uuid, caller_id, started_at, post_call_tokens,
                buyer_converted, offer_converted, buyer_converted_by, offer_converted_by,
                created_at, updated_at, number_id, offer_id, traffic_source_id)
            SELECT 'FILL-CALL-' || g, '+1773' || lpad(g::text, 7, '0'),
                now() - g * interval '1 minute', '{}', false, g %% 10 = 0, '', '', now(), now(),
                %s, %s, %s
            FROM generate_series(1, %s) AS g
            """,
            [rows["number"].pk, lead.offer_id, lead.traffic_source_id, FILLER_ROWS],
        )
        cursor.execute(
            """
            INSERT INTO integrations_postbackdelivery (trigger_id, event, call_id, is_test,
                status, skip_reason, http_method, url, request_key, attempt_count,
                claim_token, task_id, last_error, explanation, created_at, updated_at)
            SELECT %s, 'call_offer_converted', id, false,
                CASE WHEN id %% 10 = 0 THEN 'failed' ELSE 'delivered' END, '', 'GET', '',
                md5(call_uuid), 1, '', '', '', '{}', started_at, started_at
            FROM integrations_call WHERE call_uuid LIKE 'FILL-CALL-%%'
            """,
            [trigger.pk],
        )
        cursor.execute(
            """
            INSERT INTO integrations_schedulelead (uuid, schedule_id, traffic_source_id,
                caller_id, ringba_call_uuid, tokens, warnings, raw_body, raw_query,
                content_type, user_agent, state, attempts, received_at, expires_at,
                next_attempt_at, lease_holder, updated_at)
            SELECT gen_random_uuid(), %s, %s, '+1773' || lpad(g::text, 7, '0'), 'FILL-S-' || g,
                '{}', '[]', '', '', '', '', 'queued', 0, now() - g * interval '1 minute',
                now() + interval '1 day', now(), '', now()
            FROM generate_series(1, %s) AS g
            """,
            [rows["schedule"].pk, lead.traffic_source_id, FILLER_ROWS],
        )
        cursor.execute(
            "ANALYZE integrations_lead, integrations_call, integrations_postbackdelivery, "
            "integrations_schedulelead"
        )


def _rows_read(plan: dict) -> list[tuple[str, int]]:
    """Each scan of a big table in an EXPLAIN ANALYZE plan, with the rows it read."""
    found = []
    if plan.get("Relation Name") in BIG_TABLES:
        read = plan["Actual Rows"] + plan.get("Rows Removed by Filter", 0)
        read += plan.get("Rows Removed by Index Recheck", 0)
        found.append(
            (f"{plan['Node Type']} on {plan['Relation Name']}", read * plan["Actual Loops"])
        )
    for child in plan.get("Plans", []):
        found += _rows_read(child)
    return found


@pytest.mark.usefixtures("postgres_only")
@pytest.mark.parametrize(("model", "params"), LIST_PAGES)
def test_every_list_search_and_filter_reads_a_page_not_the_table(
    manager_client, rows, model, params, monkeypatch
):
    """With FILLER_ROWS in each big table, no query of a list page reads most of them.

    Sequential scans are disabled so that the planner takes an index whenever one
    can answer the query; a page that still reads thousands of rows (a sequential
    scan, a full index walk behind a filter, a DISTINCT over a column, a count over
    everything) would read millions at a million rows.
    """
    monkeypatch.setattr(big_tables, "EXACT_COUNT_UP_TO", 50)
    _fill(rows)
    values = {
        "offer": rows["lead"].offer_id,
        "source": rows["lead"].traffic_source_id,
        "call_uuid": rows["call"].call_uuid,
        "schedule": rows["schedule"].pk,
    }
    params = {key: value.format(**values) for key, value in params.items()}
    url = reverse(f"admin:integrations_{model}_changelist")
    with CaptureQueriesContext(connection) as captured:
        assert manager_client.get(url, params).status_code == 200
    heavy = []
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        try:
            for query in captured.captured_queries:
                sql = query["sql"]
                if not sql.startswith("SELECT") or not any(t in sql for t in BIG_TABLES):
                    continue
                cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
                plan = cursor.fetchone()[0]
                plan = plan if isinstance(plan, list) else json.loads(plan)
                heavy += [
                    (scan, read, sql[:160])
                    for scan, read in _rows_read(plan[0]["Plan"])
                    if read > ROWS_READ_AT_MOST
                ]
        finally:
            cursor.execute("RESET enable_seqscan")
    assert heavy == []
