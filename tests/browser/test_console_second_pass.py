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

from .conftest import login_as_account_manager, login_as_superuser
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


def _signed_in(browser, live_server, scheme: str):
    """A 1280 px window in ``scheme``, signed in as a new account manager."""
    context = browser.new_context(viewport=VIEWPORT, color_scheme=scheme)
    page = context.new_page()
    login_as_account_manager(page, live_server.url)
    return context, page


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
    context, page = _signed_in(browser, live_server, scheme)
    page.goto(f"{live_server.url}{reverse('admin:integrations_call_changelist')}")

    row = page.locator("#result_list tr", has_text="+13125550102")
    badge = row.locator("a.outcome")
    assert badge.inner_text() == "failed" and "outcome-failed" in badge.get_attribute("class")
    assert row.locator("td.field-converted").inner_text() == "offer 12.50"
    green = page.locator("#result_list tr", has_text="+13125550101").locator("a.outcome")
    assert green.inner_text() == "delivered"
    assert (
        page.locator("#result_list tr", has_text="+13125550103")
        .locator("td.field-paid_at_ringba")
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
    context, page = _signed_in(browser, live_server, scheme)
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


# Fill of each chart bar against the page behind the chart (non-text contrast, 3:1).
BAR_CONTRAST_JS = """
() => {
  const rgb = (text) => (text.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const c = [r, g, b].map((v) => { v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  let el = document.querySelector('#dashboard'), back = [255, 255, 255];
  for (; el; el = el.parentElement) {
    const c = rgb(getComputedStyle(el).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) { back = c.slice(0, 3); break; }
  }
  const low = [];
  for (const css of ['chart-a', 'chart-b', 'chart-c', 'chart-bad']) {
    const bar = document.querySelector(`rect.${css}`);
    if (!bar) continue;
    const a = lum(rgb(getComputedStyle(bar).fill).slice(0, 3)), b = lum(back);
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 3) low.push(`${css} ${ratio.toFixed(2)}:1`);
  }
  return low;
}
"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_dashboard_says_when_it_counted_and_names_its_axes(
    browser, live_server, calls, scheme, screenshot, monkeypatch
):
    monkeypatch.setattr("integrations.admin.dashboard.LIVE_EVERY_SECONDS", 0)
    context, page = _signed_in(browser, live_server, scheme)
    page.goto(f"{live_server.url}{reverse('admin:index')}?days=7")
    assert page.inner_text("#dashboard-counted").startswith("Counted at ")
    # The current hour was counted as the page opened: today's calls are there.
    assert int(page.inner_text("#total-calls")) >= 4
    names = page.locator("#dashboard .chart-axis-name").all_text_contents()
    assert names.count("day") == 3 and "count" in names and "payout ($)" in names
    assert page.evaluate(BAR_CONTRAST_JS) == []
    assert page.evaluate(CONTRAST_JS, ".chart-key, .chart-axis, .dashboard-counted") == []
    assert page.evaluate(OVERFLOW_JS) == []
    screenshot(page, f"dashboard-{scheme}")
    # A favicon on every console page.
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert page.request.get(f"{live_server.url}{icon}").status == 200
    context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_api_keys_say_their_scopes_and_rotate_after_confirming(
    browser, live_server, console, scheme, settings
):

    context = browser.new_context(viewport=VIEWPORT, color_scheme=scheme)
    page = context.new_page()
    login_as_superuser(page, live_server.url)
    page.goto(f"{live_server.url}{reverse('admin:integrations_apiclient_add')}")
    page.fill("#id_name", f"Acme dialer {scheme}")
    assert not page.is_checked("#id_may_read_stats")  # a new key may use nothing yet
    page.check("#id_may_use_calls")
    page.check("#id_may_work_schedules")
    page.click("input[name=_save]")
    assert "calls, schedules" in page.inner_text(".api-key-shown")
    assert page.evaluate(OVERFLOW_JS) == []
    page.goto(f"{live_server.url}{reverse('admin:integrations_apiclient_changelist')}")
    page.click(f"text=Acme dialer {scheme}")
    page.click("text=Rotate key…")
    assert "the old key stops working at once" in page.inner_text("#content")
    page.click("input[value='Yes, rotate']")
    assert page.locator(".api-key-shown code").first.inner_text()
    context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_trigger_page_names_the_numbers_that_override_its_mapping(
    browser, live_server, console, scheme
):
    demo = console["demo"]  # number 0 has its own ringba_webhook_token; the source a mapping
    context, page = _signed_in(browser, live_server, scheme)
    page.goto(
        f"{live_server.url}"
        f"{reverse('admin:integrations_eventtrigger_change', args=[demo.trigger.pk])}"
    )
    table = page.inner_text(".field-effective_tokens")
    assert demo.numbers[0].number in table and "demo-number-webhook-token" in table
    page.click("input[name=_continue]")
    warning = page.inner_text(".messagelist")
    assert "wins over the trigger's field mapping" in warning
    assert demo.numbers[0].number in warning
    assert page.evaluate(OVERFLOW_JS) == []

    # New From Template when a trigger already covers the scope: a link to it.
    page.goto(f"{live_server.url}{reverse('admin:integrations_eventtrigger_new_from_template')}")
    page.select_option("#id_template", label=demo.trigger.template.name)
    page.click("input[value=Create]")
    page.click(f".errorlist a:text('{demo.trigger.name[:20]}')")
    assert page.url.endswith(
        reverse("admin:integrations_eventtrigger_change", args=[demo.trigger.pk])
    )
    context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_leads_and_rejected_pixels_export_and_one_date_filter(browser, live_server, calls, scheme):
    context, page = _signed_in(browser, live_server, scheme)
    page.goto(f"{live_server.url}{reverse('admin:integrations_call_changelist')}")
    filters = page.locator("#changelist-filter summary").all_inner_texts()
    started = [title.strip() for title in filters if "started at" in title.lower()]
    assert started == ["By started at"]
    for model in ("lead", "rejectedpixel"):
        page.goto(f"{live_server.url}{reverse(f'admin:integrations_{model}_changelist')}")
        with page.expect_download() as download:
            page.click("text=Export CSV")
        with open(download.value.path()) as exported:
            header = exported.readline()
        if model == "lead":
            assert "member_identifier_with_a_long_name" in header  # a contact field
        else:
            assert header.startswith("received_at,status_code,offer,")
    # Deliveries found by the caller's number in any format.
    page.goto(
        f"{live_server.url}{reverse('admin:integrations_postbackdelivery_changelist')}"
        "?q=(312) 555-0102"
    )
    assert page.locator("#result_list tbody tr").count() == 1
    context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_schedule_time_zones_and_history_read_right(browser, live_server, console, scheme):
    demo = console["demo"]
    context, page = _signed_in(browser, live_server, scheme)
    url = reverse("admin:integrations_schedule_change", args=[demo.schedule.pk])
    page.goto(f"{live_server.url}{url}")
    groups = page.locator("#id_time_zone optgroup").evaluate_all("gs => gs.map(g => g.label)")
    assert groups[0].startswith("US") and groups[1] == "All time zones"
    assert page.locator("#id_time_zone option[value=EST]").count() == 0
    assert page.evaluate(OVERFLOW_JS) == []
    history = reverse("admin:integrations_schedule_history", args=[demo.schedule.pk])
    page.goto(f"{live_server.url}{history}")
    reasons = page.evaluate(
        """() => {
          const heads = [...document.querySelectorAll('#change-history thead th')];
          const at = heads.findIndex((th) => th.textContent.trim() === 'Change reason');
          return [...document.querySelectorAll('#change-history tbody tr')]
            .map((tr) => tr.children[at].textContent.trim());
        }"""
    )
    assert reasons and "None" not in reasons and "—" in reasons
    context.close()


UNNAMED_INPUTS_JS = """
() => [...document.querySelectorAll('#content input, #content select, #content textarea')]
  .filter((el) => el.offsetParent && !['hidden', 'submit', 'button', 'reset'].includes(el.type))
  .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                  && !el.getAttribute('aria-labelledby') && !el.title)
  .map((el) => el.name || el.id || el.outerHTML.slice(0, 60))
"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_inline_and_date_range_inputs_have_names(browser, live_server, console, scheme):
    demo = console["demo"]
    context, page = _signed_in(browser, live_server, scheme)
    for url in (
        reverse("admin:integrations_eventtrigger_change", args=[demo.trigger.pk]),
        reverse("admin:integrations_number_change", args=[demo.numbers[0].pk]),
        reverse("admin:integrations_call_changelist"),
    ):
        page.goto(f"{live_server.url}{url}")
        page.wait_for_load_state("load")
        unnamed = [
            name
            for name in page.evaluate(UNNAMED_INPUTS_JS)
            if "action-select" not in name and name != "_selected_action"
        ]
        assert unnamed == [], (url, unnamed)
    assert page.get_attribute("#changelist-filter input[placeholder]", "aria-label") == (
        "From date (started at)"
    )
    context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_schedule_contact_window_is_laid_out_in_aligned_rows(
    browser, live_server, console, scheme
):
    demo = console["demo"]
    context, page = _signed_in(browser, live_server, scheme)
    url = reverse("admin:integrations_schedule_change", args=[demo.schedule.pk])
    page.goto(f"{live_server.url}{url}")

    def top(selector):
        return round(page.locator(selector).bounding_box()["y"])

    days, start, end, zone = (
        top(selector)
        for selector in (
            "label[for=id_contact_days_0]",
            "label[for=id_contact_start]",
            "label[for=id_contact_end]",
            "label[for=id_time_zone]",
        )
    )
    assert days < start == end < zone, (days, start, end, zone)
    assert page.evaluate(OVERFLOW_JS) == []
    context.close()
