import pytest

from integrations.models import Event, TriggerTemplate
from integrations.rules.ringba import RINGBA_TEMPLATE_NAME, RINGBA_TEMPLATE_URL
from integrations.services.triggers import create_trigger_from_template

pytestmark = pytest.mark.django_db


def test_the_ringba_template_is_installed_by_the_data_migration(ringba_template):
    assert ringba_template.name == RINGBA_TEMPLATE_NAME
    assert ringba_template.event == Event.CALL_OFFER_CONVERTED
    assert ringba_template.http_method == "GET"
    assert (
        ringba_template.url_template
        == RINGBA_TEMPLATE_URL
        == (
            "https://webhook.ringba.com/hook/[ringba_webhook_token]?call_id=[ringba_call_uuid]"
            "&call_revenue=[payout]&sale_successful=true"
        )
    )
    assert ringba_template.conditions == [{"token": "ringba_call_uuid", "operator": "is populated"}]
    assert ringba_template.mapping_token_names == ["ringba_webhook_token"]
    # The Ringba webhook and Ringba IDE (0033) templates.
    assert set(TriggerTemplate.objects.values_list("slug", flat=True)) == {
        "ringba-webhook",
        "ringba-ide",
    }


def test_new_from_template_copies_it_into_an_active_global_trigger(ringba_template):
    trigger = create_trigger_from_template(template=ringba_template)
    assert trigger.active and trigger.offer is None
    assert trigger.template == ringba_template
    assert trigger.event == ringba_template.event
    assert trigger.conditions == ringba_template.conditions
    assert trigger.url_template == ringba_template.url_template


def test_new_from_template_points_at_the_configured_ringba_host(ringba_template, settings):
    settings.RINGBA_WEBHOOK_BASE_URL = "http://127.0.0.1:8025"
    settings.POSTBACK_ALLOWED_HOSTS = ["127.0.0.1"]
    trigger = create_trigger_from_template(template=ringba_template)
    assert trigger.url_template.startswith("http://127.0.0.1:8025/hook/[ringba_webhook_token]?")


def test_an_offers_copy_is_named_for_its_offer_not_global(ringba_template, settings):
    from tests import factories

    settings.POSTBACK_ALLOWED_HOSTS = ["webhook.ringba.com"]
    settings.RINGBA_WEBHOOK_BASE_URL = "https://webhook.ringba.com"
    offer = factories.OfferFactory(name="Final Expense")
    trigger = create_trigger_from_template(template=ringba_template, offer=offer)
    assert trigger.name == (
        "RINGBA WEBHOOK: Do a Postback for Ringba Traffic Sources if ringba_call_uuid is "
        "populated — Final Expense"
    )
    assert "GLOBAL" not in trigger.name and trigger.scope_label == "Offer: Final Expense"
