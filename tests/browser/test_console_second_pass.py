"""The console's second pass (issue 26), in a real browser at 1280 px, light and dark.

Points covered here: 1 (the calls list shows each call's postback outcome, coloured
and linked, a converted column and an outcome filter), 2 (a call that did not convert
says why), 3 (errors as a short human summary, the technical text in a tooltip) and
5 (the deliveries list keeps its columns readable).
"""

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations.models import DeliveryStatus, PostbackAttempt, PostbackDelivery
from integrations.services.calls import CallUpdate, update_call
from tests import factories

from .conftest import login_as_account_manager
from .test_fits_1280 import CONTRAST_JS, OVERFLOW_JS, VIEWPORT
from .test_fits_1280 import console as console

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.browser,
]

TECHNICAL = (
    "Connection refused by 127.0.0.1:8799 — connection error: HTTPConnectionPool("
    "host='127.0.0.1', port=8799): Max retries exceeded with url: /hook/x (Caused by "
    "NewConnectionError('<urllib3.connection.HTTPConnection object at 0x7f>: Failed to "
    "establish a new connection: [Errno 111] Connection refused'))"
)


@pytest.fixture
def calls(console):
    """Calls with every outcome: delivered, failed (a raw exception), none, short."""
    demo = console["demo"]
    delivered = factories.CallFactory(number=demo.numbers[0], caller_id="+13125550101")
    update_call(call_uuid=delivered.call_uuid, update=CallUpdate(offer_converted=True))
    PostbackDelivery.objects.filter(call=delivered).update(status=DeliveryStatus.DELIVERED)
    failing = factories.CallFactory(number=demo.numbers[0], caller_id="+13125550102")
    update_call(call_uuid=failing.call_uuid, update=CallUpdate(offer_converted=True))
    delivery = PostbackDelivery.objects.get(call=failing)
    PostbackDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.FAILED, last_error=TECHNICAL[:500]
    )
    PostbackAttempt.objects.create(
        delivery=delivery, started_at=timezone.now(), error=TECHNICAL[:500]
    )
    short = factories.CallFactory(number=demo.numbers[0], caller_id="+13125550103")
    update_call(call_uuid=short.call_uuid, update=CallUpdate(duration=30))  # rule: 90 s
    return {"delivered": delivered, "failing": failing, "short": short, "delivery": delivery}


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_calls_list_shows_outcomes_and_the_call_page_says_why(
    browser, live_server, calls, scheme, screenshot
):
    context = browser.new_context(viewport=VIEWPORT, color_scheme=scheme)
    page = context.new_page()
    login_as_account_manager(page, live_server.url)
    page.goto(f"{live_server.url}{reverse('admin:integrations_call_changelist')}")

    row = page.locator("#result_list tr", has_text="+13125550102")
    badge = row.locator("a.outcome")
    assert badge.inner_text() == "failed" and "outcome-failed" in badge.get_attribute("class")
    assert row.locator("td.field-converted").inner_text() == "offer 12.50"
    green = page.locator("#result_list tr", has_text="+13125550101").locator("a.outcome")
    assert green.inner_text() == "delivered"
    assert (
        page.locator("#result_list tr", has_text="+13125550103")
        .locator("td.field-postback")
        .inner_text()
        == "—"
    )
    assert page.evaluate(CONTRAST_JS, "a.outcome") == []  # AA in this scheme
    assert page.evaluate(OVERFLOW_JS) == []
    screenshot(page, f"calls-list-outcomes-{scheme}")

    # The filter keeps the failing call only.
    with page.expect_navigation():
        page.click("#changelist-filter a[href*='postback=failed']")
    assert page.locator("#result_list tbody tr").count() == 1
    assert "+13125550102" in page.inner_text("#result_list")

    # The badge opens the postback.
    page.goto(f"{live_server.url}{reverse('admin:integrations_call_changelist')}")
    page.locator("#result_list tr", has_text="+13125550102").locator("a.outcome").click()
    assert page.url.endswith(
        reverse("admin:integrations_postbackdelivery_change", args=[calls["delivery"].pk])
    )

    # A call that did not convert says why.
    page.goto(
        f"{live_server.url}{reverse('admin:integrations_call_change', args=[calls['short'].pk])}"
    )
    why = page.inner_text(".field-conversion_causes")
    assert "the offer's duration rule: 30 s < 90 s" in why
    assert "no buyer conversion reported" in why
    context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_errors_read_as_a_summary_with_the_detail_in_a_tooltip(
    browser, live_server, calls, scheme, screenshot
):
    context = browser.new_context(viewport=VIEWPORT, color_scheme=scheme)
    page = context.new_page()
    login_as_account_manager(page, live_server.url)
    page.goto(f"{live_server.url}{reverse('admin:integrations_postbackdelivery_changelist')}")
    cell = page.locator("#result_list tr", has_text="Connection refused").locator(
        "td.field-last_error_short span"
    )
    assert cell.inner_text() == "Connection refused by 127.0.0.1:8799"  # 36 characters
    assert cell.get_attribute("title").startswith("Connection refused by 127.0.0.1:8799 — ")
    trigger = page.locator("td.field-trigger_short a").first
    assert len(trigger.inner_text()) <= 25 and trigger.get_attribute("title")
    # Statuses never wrap mid-word, and the list fits.
    heights = page.evaluate(
        "() => [...document.querySelectorAll('td.field-status_shown')]"
        ".map(td => td.getBoundingClientRect().height)"
    )
    row_heights = page.evaluate(
        "() => [...document.querySelectorAll('#result_list tbody tr')]"
        ".map(tr => tr.getBoundingClientRect().height)"
    )
    assert heights and all(h <= r for h, r in zip(heights, row_heights, strict=True))
    screenshot(page, f"deliveries-list-{scheme}")
    assert page.evaluate(OVERFLOW_JS) == []
    context.close()
