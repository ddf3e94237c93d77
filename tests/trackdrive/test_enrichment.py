"""Ringba IDE (Enrich Call Data): New From Template, and what a call's start sends."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.exceptions import ValidationError

from integrations.models import DeliveryStatus, Event, EventTrigger, PostbackDelivery
from integrations.rules.ringba import ENRICH_TEMPLATE_SLUG
from integrations.services.triggers import create_trigger_from_template
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def ide_template(ringba_template):
    from integrations.models import TriggerTemplate

    return TriggerTemplate.objects.get(slug=ENRICH_TEMPLATE_SLUG)


@pytest.fixture
def enrich_settings(settings):
    settings.RINGBA_ENRICH_BASE_URL = "https://display.ringba.com"
    settings.POSTBACK_ALLOWED_HOSTS = ["webhook.ringba.com", "display.ringba.com"]


def _offer_with_contact_fields(ringba_setup):
    offer = ringba_setup["offer"]
    factories.ContactFieldFactory(offer=offer, name="first_name")
    factories.ContactFieldFactory(offer=offer, name="zip_code")
    return offer


def _start_call(calls_client, ringba_setup, number=None, caller="7194448888"):
    number = number or ringba_setup["number"]
    response = calls_client.post(
        "/api/v1/calls", {"number": number.number, "caller_id": caller}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_the_template_asks_only_for_the_partners_ringba_number_id(
    ide_template, ringba_setup, enrich_settings
):
    offer = _offer_with_contact_fields(ringba_setup)
    trigger = create_trigger_from_template(
        template=ide_template,
        offer=offer,
        traffic_source=ringba_setup["source"],
        mapping_value="RN-123",
    )
    assert trigger.event == Event.CALL_STARTED and trigger.http_method == "GET"
    assert trigger.url_template == (
        "https://display.ringba.com/enrich/[ringba_number_id]"
        "?callerid=[caller_id]&trackdrive_call_uuid=[call_uuid]"
        "&first_name=[first_name]{}&zip_code=[zip_code]{}"
    )
    [mapping] = trigger.mappings.all()
    assert (mapping.token_name, mapping.traffic_source, mapping.value) == (
        "ringba_number_id",
        ringba_setup["source"],
        "RN-123",
    )


def test_a_call_start_enriches_its_partners_ringba_and_nobody_elses(
    ide_template, ringba_setup, enrich_settings, calls_client, base_pixel, client
):
    offer = _offer_with_contact_fields(ringba_setup)
    create_trigger_from_template(
        template=ide_template,
        offer=offer,
        traffic_source=ringba_setup["source"],
        mapping_value="RN-123",
    )
    client.post(
        "/api/v1/leads/capture",
        {**base_pixel, "caller_id": "+17194448888", "first_name": "Mary"},
        content_type="application/json",
    )
    call = _start_call(calls_client, ringba_setup)
    [delivery] = PostbackDelivery.objects.filter(call__call_uuid=call["call_uuid"])
    assert delivery.status == DeliveryStatus.PENDING and delivery.event == Event.CALL_STARTED
    parts = urlsplit(delivery.url)
    assert (parts.hostname, parts.path) == ("display.ringba.com", "/enrich/RN-123")
    assert parse_qs(parts.query, keep_blank_values=True) == {
        "callerid": ["+17194448888"],
        "trackdrive_call_uuid": [call["call_uuid"]],
        "first_name": ["Mary"],
        "zip_code": [""],  # the lead had none: sent empty, the call is still enriched
    }

    # Another partner on the same offer has no Ringba number id: skipped, never sent
    # to the first partner's Ringba.
    other_source = factories.TrafficSourceFactory()
    offer.traffic_sources.add(other_source)
    other_number = factories.NumberFactory(offer=offer, traffic_source=other_source)
    other = _start_call(calls_client, ringba_setup, number=other_number, caller="7194440000")
    [skipped] = PostbackDelivery.objects.filter(call__call_uuid=other["call_uuid"])
    assert skipped.status == DeliveryStatus.SKIPPED
    assert skipped.skip_reason == "missing token: ringba_number_id"


def test_the_enrich_host_follows_ringba_enrich_base_url(ide_template, ringba_setup, settings):
    settings.RINGBA_ENRICH_BASE_URL = "http://127.0.0.1:8025"
    settings.POSTBACK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.POSTBACK_ALLOW_PRIVATE_IPS = True
    trigger = create_trigger_from_template(template=ide_template)
    assert trigger.url_template.startswith("http://127.0.0.1:8025/enrich/[ringba_number_id]?")


def test_a_host_the_allow_list_refuses_is_refused_at_creation(ide_template, settings):
    settings.RINGBA_ENRICH_BASE_URL = "https://display.ringba.com"
    settings.POSTBACK_ALLOWED_HOSTS = ["webhook.ringba.com"]
    with pytest.raises(ValidationError):
        create_trigger_from_template(template=ide_template)
    assert not EventTrigger.objects.exists()


def test_the_default_allow_list_admits_the_ringba_hosts(monkeypatch):
    import importlib

    import portal.settings

    monkeypatch.delenv("POSTBACK_ALLOWED_HOSTS", raising=False)
    monkeypatch.delenv("RINGBA_WEBHOOK_BASE_URL", raising=False)
    monkeypatch.delenv("RINGBA_ENRICH_BASE_URL", raising=False)
    fresh = importlib.reload(portal.settings)
    assert fresh.POSTBACK_ALLOWED_HOSTS == [
        "webhook.ringba.com",
        "display.ringba.com",
        "api.ringba.com",  # returns and adjustments (issue 31)
    ]


def test_new_from_template_page_requires_the_partner_and_its_id(
    admin_client, ide_template, ringba_setup, enrich_settings
):
    url = "/admin/integrations/eventtrigger/new-from-template/"
    refused = admin_client.post(url, {"template": ide_template.pk})
    assert refused.status_code == 200
    assert "needs a traffic source and that partner&#x27;s Ringba number id" in (
        refused.content.decode()
    )
    created = admin_client.post(
        url,
        {
            "template": ide_template.pk,
            "offer": ringba_setup["offer"].pk,
            "traffic_source": ringba_setup["source"].pk,
            "mapping_value": " RN-9 ",
        },
    )
    assert created.status_code == 302
    trigger = EventTrigger.objects.get(template=ide_template)
    assert trigger.mappings.get().value == "RN-9"


def _partner_page(client, offer, source) -> str:
    from django.urls import reverse

    from integrations.partner_page.links import make_link_token

    response = client.get(reverse("partner-instructions", args=[make_link_token(offer, source)]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_partner_page_says_what_to_set_up_in_ringba_for_enrichment(
    client, ide_template, ringba_setup, enrich_settings
):
    offer, source = _offer_with_contact_fields(ringba_setup), ringba_setup["source"]
    assert 'id="enrich"' not in _partner_page(client, offer, source)  # no IDE trigger yet

    create_trigger_from_template(
        template=ide_template, offer=offer, traffic_source=source, mapping_value="RN-123"
    )
    html = _partner_page(client, offer, source)
    assert 'id="enrich"' in html and "<code>RN-123</code>" in html
    # callerid is Ringba's own system field: the partner creates the others (issue 32, 9).
    names = ["trackdrive_call_uuid", "first_name", "zip_code"]
    for position, name in enumerate(names, start=1):
        assert f'<code id="enrich-{position}">{name}</code>' in html
    assert '<code id="enrich-4">' not in html
    assert "Nothing to create for\n      <code>callerid</code>" in html
    assert "Inbound Data Enrichment URL" in html

    other = factories.TrafficSourceFactory()
    offer.traffic_sources.add(other)
    other_html = _partner_page(client, offer, other)
    assert "RN-123" not in other_html  # never another partner's id
    assert "Send it to your account" in other_html


def test_a_covered_offer_offers_to_add_the_partners_mapping_in_one_click(
    admin_client, ringba_setup, ringba_trigger
):
    """Issue 34, item 9: the values typed are kept, and one click adds the mapping."""
    from integrations.models import CustomFieldMapping

    url = "/admin/integrations/eventtrigger/new-from-template/"
    partner = factories.TrafficSourceFactory(name="New partner")
    typed = {
        "template": ringba_trigger.template_id,
        "offer": ringba_setup["offer"].pk,
        "traffic_source": partner.pk,
        "mapping_value": "partner-webhook-token",
    }
    refused = admin_client.post(url, typed).content.decode()
    assert "already covers" in refused
    assert 'value="partner-webhook-token"' in refused  # what was typed is kept
    assert f"Add this partner's mapping to trigger {ringba_trigger.pk}" in refused
    added = admin_client.post(url, {**typed, "add_mapping": "1"})
    assert added.status_code == 302
    assert added["Location"].endswith(f"/eventtrigger/{ringba_trigger.pk}/change/")
    mapping = CustomFieldMapping.objects.get(trigger=ringba_trigger, traffic_source=partner)
    assert (mapping.token_name, mapping.value) == ("ringba_webhook_token", "partner-webhook-token")
    assert EventTrigger.objects.filter(template=ringba_trigger.template).count() == 1
