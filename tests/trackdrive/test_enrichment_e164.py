"""Enrichment carries the caller's own E.164 number (issue 32, item 5).

The IDE template sent ``callerid=%2B1[caller_id_short]``: a UK caller +442079460123
reached Ringba as +12079460123 — a different, valid-looking US number — so the data
attached to a stranger's call. The template now sends ``[caller_id]`` (E.164, its
``+`` percent-encoded), migration 0039 rewrites triggers made from the old template,
and a hand-made URL that still prefixes ``+1`` is warned about when saved.
"""

import importlib
from urllib.parse import parse_qs, urlsplit

import pytest
from django.apps import apps
from django.urls import reverse

from integrations.models import EventTrigger, PostbackDelivery, TriggerTemplate
from integrations.rules.ringba import ENRICH_TEMPLATE_SLUG, prefixes_us_country_code
from integrations.services.triggers import create_trigger_from_template
from tests import factories

pytestmark = pytest.mark.django_db

OLD_URL = (
    "https://display.ringba.com/enrich/[ringba_number_id]"
    "?callerid=%2B1[caller_id_short]&trackdrive_call_uuid=[call_uuid]"
)


@pytest.fixture
def ide(ringba_template, settings):
    settings.RINGBA_ENRICH_BASE_URL = "https://display.ringba.com"
    settings.POSTBACK_ALLOWED_HOSTS = ["webhook.ringba.com", "display.ringba.com"]
    return TriggerTemplate.objects.get(slug=ENRICH_TEMPLATE_SLUG)


def _enrichment_of_a_call_from(caller, calls_client, ringba_setup):
    response = calls_client.post(
        "/api/v1/calls",
        {"number": ringba_setup["number"].number, "caller_id": caller},
        format="json",
    )
    assert response.status_code == 201, response.content
    delivery = PostbackDelivery.objects.get(call__call_uuid=response.json()["call_uuid"])
    return parse_qs(urlsplit(delivery.url).query)


@pytest.mark.parametrize(
    "caller", ["+442079460123", "+33142685300", "+61291234567", "+13125550101"]
)
def test_the_enrichment_sends_the_callers_own_e164(ide, ringba_setup, calls_client, caller):
    create_trigger_from_template(
        template=ide, traffic_source=ringba_setup["source"], mapping_value="RN-1"
    )
    query = _enrichment_of_a_call_from(caller, calls_client, ringba_setup)
    assert query["callerid"] == [caller]


def test_the_migration_rewrites_triggers_made_from_the_old_template(ide, ringba_setup):
    old = factories.TriggerFactory(
        template=ide, url_template=OLD_URL, event=ide.event, http_method="GET"
    )
    localized = factories.TriggerFactory(
        template=ide,
        url_template=OLD_URL.replace("https://display.ringba.com", "http://127.0.0.1:8025")
        + "&zip_code=[zip_code]{}",
        event=ide.event,
    )
    hand_made = factories.TriggerFactory(url_template="https://example.com/x?n=[caller_id]")
    TriggerTemplate.objects.filter(pk=ide.pk).update(url_template=OLD_URL)

    migration = importlib.import_module("integrations.migrations.0039_enrichment_in_e164")
    migration.send_callers_own_number(apps, None)

    for trigger in (old, localized):
        trigger.refresh_from_db()
        assert "callerid=[caller_id]&" in trigger.url_template
        assert "caller_id_short" not in trigger.url_template
    assert localized.url_template.endswith("&zip_code=[zip_code]{}")
    hand_made.refresh_from_db()
    assert hand_made.url_template == "https://example.com/x?n=[caller_id]"
    assert "callerid=[caller_id]&" in TriggerTemplate.objects.get(pk=ide.pk).url_template


@pytest.mark.parametrize(
    ("url", "warned"),
    [
        ("https://display.ringba.com/enrich/x?callerid=%2B1[caller_id_short]", True),
        ("https://display.ringba.com/enrich/x?callerid=+1[caller_id_short]", True),
        ("https://display.ringba.com/enrich/x?callerid=1[caller_id_short]", True),
        ("https://display.ringba.com/enrich/x?callerid=[caller_id]", False),
        ("https://example.com/x?phone=[caller_id_short]", False),
    ],
)
def test_a_url_that_prefixes_the_us_country_code_is_recognised(url, warned):
    assert prefixes_us_country_code(url) is warned


def test_the_trigger_page_warns_about_such_a_url(admin_client, ide, ringba_setup):
    trigger = create_trigger_from_template(
        template=ide, traffic_source=ringba_setup["source"], mapping_value="RN-1"
    )
    url = reverse("admin:integrations_eventtrigger_change", args=[trigger.pk])
    assert "becomes a different number" not in admin_client.get(url).text
    EventTrigger.objects.filter(pk=trigger.pk).update(url_template=OLD_URL)
    page = admin_client.get(url).text
    assert "becomes a different number" in page and "[caller_id]" in page
