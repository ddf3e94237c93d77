"""The seed article, walked in a real browser: the account manager, then the partner."""

import pytest
from django.urls import reverse

from integrations.devtools.demo import seed_demo
from integrations.models import CustomFieldMapping, EventTrigger, NumberToken, TriggerTemplate
from integrations.rules.ringba import RINGBA_TEMPLATE_SLUG
from tests import factories
from tests.shipped_data import reinstall_shipped_rows

from .conftest import login_as_account_manager

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.browser,
]

WEBHOOK_URL = (
    "https://webhook.ringba.com/hook/PastedToken123?call_id=[callUUID]"
    "&call_revenue=[conversionAmount]&sale_successful=true"
)


@pytest.fixture
def demo(live_server, settings):
    settings.PUBLIC_BASE_URL = live_server.url
    reinstall_shipped_rows()
    data = seed_demo()
    # A second partner on the offer, so the account manager has to pick the Ringba one.
    data.offer.traffic_sources.add(factories.TrafficSourceFactory(name="Other Partner"))
    return data


def test_account_manager_then_partner(browser, live_server, demo, screenshot):
    base = live_server.url
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    login_as_account_manager(page, base)

    # Open the demo offer and press Posting Instructions.
    page.get_by_role("link", name="Offers", exact=True).click()
    page.get_by_role("link", name=demo.offer.name, exact=True).click()
    page.click("#posting-instructions")
    page.wait_for_selector("#id_traffic_source")
    assert page.locator("#value-lead-token").count() == 0  # nothing shown before the pick

    # Pick the Ringba source.
    page.select_option("#id_traffic_source", str(demo.source.pk))
    page.wait_for_selector("#value-lead-token")
    assert page.inner_text("#value-lead-token") == demo.offer.lead_token
    assert page.inner_text("#value-traffic-source-id") == str(demo.source.traffic_source_id)
    screenshot(page, "posting-instructions-admin")

    # Copy the lead token.
    button = page.locator("button[data-copy-target=value-lead-token]")
    button.click()
    page.wait_for_function(
        "document.querySelector('button[data-copy-target=value-lead-token]')"
        ".getAttribute('data-copied') !== null"
    )
    assert button.get_attribute("data-copied") == demo.offer.lead_token
    assert page.evaluate("navigator.clipboard.readText()") == demo.offer.lead_token
    share_url = page.inner_text("#value-share-url")

    # Event Triggers → New From Template → the Ringba template → Create.
    page.goto(f"{base}{reverse('admin:integrations_eventtrigger_changelist')}")
    page.click("text=New From Template")
    template = TriggerTemplate.objects.get(slug=RINGBA_TEMPLATE_SLUG)
    assert "RINGBA WEBHOOK" in page.inner_text("#id_template")
    page.select_option("#id_template", str(template.pk))
    page.click("#new-from-template input[type=submit]")
    # The demo's global trigger already covers every offer: a copy would double
    # every postback, so the console refuses and names it.
    page.wait_for_selector("text=already covers some offers")
    assert demo.trigger.name in page.inner_text("#new-from-template")
    EventTrigger.objects.filter(pk=demo.trigger.pk).update(active=False)
    page.select_option("#id_template", str(template.pk))
    page.click("#new-from-template input[type=submit]")
    page.wait_for_selector("text=Add a ringba_webhook_token mapping")
    trigger = EventTrigger.objects.order_by("-pk").first()
    assert page.url.endswith(f"/eventtrigger/{trigger.pk}/change/")

    # A field mapping for the traffic source, pasting the whole Ringba webhook URL.
    row = "#mappings-0"
    assert page.input_value(f"{row} input[name$=token_name]") == "ringba_webhook_token"
    page.select_option(f"{row} select[name$=traffic_source]", str(demo.source.pk))
    page.fill(f"{row} input[name$=value]", WEBHOOK_URL)
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    assert page.input_value("#id_mappings-0-value") == "PastedToken123"
    assert CustomFieldMapping.objects.get(trigger=trigger).value == "PastedToken123"
    screenshot(page, "trigger-with-mapping")

    # An extra token on a number.
    number = demo.numbers[1]
    page.goto(f"{base}{reverse('admin:integrations_number_change', args=[number.pk])}")
    page.fill("#id_extra_tokens-0-key", "ringba_webhook_token")
    page.fill("#id_extra_tokens-0-value", WEBHOOK_URL.replace("PastedToken123", "NumTok9"))
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    assert NumberToken.objects.get(number=number).value == "NumTok9"
    context.close()

    # The partner opens the shared link in a fresh browser: same values, no login.
    partner = browser.new_context()
    partner_page = partner.new_page()
    response = partner_page.goto(share_url)
    assert response.status == 200
    assert partner_page.inner_text("#value-lead-token") == demo.offer.lead_token
    assert partner_page.inner_text("#value-traffic-source-id") == str(demo.source.traffic_source_id)
    assert "Other Partner" not in partner_page.content()
    screenshot(partner_page, "posting-instructions-partner")
    partner_page.set_viewport_size({"width": 390, "height": 844})
    screenshot(partner_page, "posting-instructions-partner-phone")

    # A tampered link shows the plain 404 page.
    response = partner_page.goto(share_url[:-3] + "xyz/")
    assert response.status == 404
    assert "This link is not valid" in partner_page.inner_text("body")
    partner.close()
