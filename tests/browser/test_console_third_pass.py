"""The console's third pass (issue 34), in a real browser at 1280 px, light and dark.

Point 1: outcomes read at a glance — the calls list's badges and the deliveries
list's statuses are pills whose colours differ by outcome (the admin's link colour
used to win in light mode) with AA contrast against their own background.
Point 2: the calls list says what Ringba was paid (payment, adjustments) apart from
the enrichment, flags a call paid at Ringba but not converted here, one line a call.
Points 6-7 (banners, dashboard on a bad day): tests/admin/test_banners.py and below.
Point 10: a new API key starts with no scope, is shown once on a GET after the POST,
and its header and public key have copy buttons.
"""

import pytest
from django.urls import reverse

from .conftest import login_as_superuser
from .test_console_second_pass import _signed_in
from .test_console_second_pass import calls as calls
from .test_fits_1280 import CONTRAST_JS, OVERFLOW_JS, VIEWPORT
from .test_fits_1280 import console as console

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.browser,
]

COLOURS_JS = """
(selector) => Object.fromEntries([...document.querySelectorAll(selector)].map((el) => {
  const style = getComputedStyle(el);
  return [el.textContent.trim(), [style.color, style.backgroundColor]];
}))
"""
LINK_COLOUR_JS = """
() => { const a = document.querySelector('#result_list a[href]:not(.outcome)');
        return getComputedStyle(a).color; }
"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_outcomes_are_pills_that_differ_by_outcome(browser, live_server, calls, scheme, screenshot):
    context, page = _signed_in(browser, live_server, scheme)
    page.goto(f"{live_server.url}{reverse('admin:integrations_call_changelist')}")
    badges = page.evaluate(COLOURS_JS, "a.outcome")
    assert {"delivered", "failed", "retrying"} <= set(badges)
    assert len({tuple(colours) for colours in badges.values()}) == len(badges)  # one each
    link = page.evaluate(LINK_COLOUR_JS)
    assert link not in {colours[0] for colours in badges.values()}  # not link blue
    assert page.evaluate(CONTRAST_JS, "a.outcome") == []
    screenshot(page, f"third-pass-calls-outcomes-{scheme}")

    page.goto(f"{live_server.url}{reverse('admin:integrations_postbackdelivery_changelist')}")
    statuses = page.evaluate(COLOURS_JS, "td.field-status_shown .outcome")
    assert {"Delivered", "Failed"} <= set(statuses)
    assert statuses["Delivered"] != statuses["Failed"]
    assert page.evaluate(CONTRAST_JS, "td.field-status_shown .outcome") == []
    assert page.evaluate(OVERFLOW_JS) == []
    screenshot(page, f"third-pass-deliveries-statuses-{scheme}")
    context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_new_api_key_is_chosen_shown_once_and_copied(browser, live_server, console, scheme):
    """Point 10: no scope pre-ticked, the key page is a GET (a reload shows nothing and
    creates nothing), copy buttons for the header and the public key."""

    from integrations.models import ApiClient

    context = browser.new_context(
        viewport=VIEWPORT, color_scheme=scheme, permissions=["clipboard-read", "clipboard-write"]
    )
    page = context.new_page()
    login_as_superuser(page, live_server.url)
    page.goto(f"{live_server.url}{reverse('admin:integrations_apiclient_add')}")
    assert not any(
        page.is_checked(f"#id_{name}")
        for name in ("may_use_calls", "may_read_stats", "may_work_schedules")
    )
    page.fill("#id_name", f"Copy dialer {scheme}")
    page.click("input[name=_save]")
    assert "Choose what the key may use" in page.inner_text("#content")
    page.check("#id_may_use_calls")
    page.click("input[name=_save]")
    assert "/keys/" in page.url
    key = page.inner_text("#api-key-1")
    page.click("button[data-copy-target=api-header-1]")
    assert page.evaluate("navigator.clipboard.readText()") == f"Authorization: Token {key}"
    page.click("button[data-copy-target=api-public-1]")
    public = ApiClient.objects.get(name=f"Copy dialer {scheme}").public_key
    assert page.evaluate("navigator.clipboard.readText()") == public
    assert page.evaluate(OVERFLOW_JS) == []
    page.reload()
    assert key not in page.content()
    assert "shown once and are not kept" in page.inner_text(".messagelist")
    assert ApiClient.objects.filter(name=f"Copy dialer {scheme}").count() == 1
    context.close()


SVG_RATIO_JS = """
() => [...document.querySelectorAll('#dashboard .chart svg')].map((svg) => {
  const box = svg.viewBox.baseVal, shown = svg.getBoundingClientRect();
  return [box.width / box.height, shown.width / shown.height];
})
"""
HEADER_HEIGHTS_JS = """
() => [...document.querySelectorAll('table.failing-hosts th')].map(
  (th) => Math.round(th.getBoundingClientRect().height))
"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_dashboard_on_a_bad_day(browser, live_server, calls, scheme, screenshot, monkeypatch):
    """Point 7: money at stake, an offer whose trigger fails is not "ready", the failing
    hosts' headers on one line, charts scaled (not stretched) with gridlines and $."""
    from django.utils import timezone

    from integrations.models import DUE_STATUSES, DestinationHealth, EventTrigger, PostbackDelivery

    monkeypatch.setattr("integrations.admin.dashboard.LIVE_EVERY_SECONDS", 0)
    trigger = calls["delivery"].trigger
    EventTrigger.objects.filter(pk=trigger.pk).update(
        consecutive_failures=18, failing_since=timezone.now()
    )
    # The pending postback goes to the failing host: the host's problem is still current.
    PostbackDelivery.objects.filter(status__in=DUE_STATUSES).update(
        url="http://127.0.0.1:8799/hook/x"
    )
    DestinationHealth.objects.create(
        host="127.0.0.1:8799",
        consecutive_failures=25,
        failing_since=timezone.now(),
        last_error="Connection refused by 127.0.0.1:8799",
    )
    context, page = _signed_in(browser, live_server, scheme)
    page.goto(f"{live_server.url}{reverse('admin:index')}?days=7")

    stake = page.inner_text("#at-stake")
    assert stake == "2 conversions, $25.00 not yet reported to Ringba"  # failed + pending
    assert page.inner_text("#total-payout").startswith("$")
    ready = page.locator("#offer-checklist tr", has_text=console_offer_name(calls)).inner_text()
    assert "conversion postbacks failing 18 times" in ready and "✔ ready" not in ready
    heights = page.evaluate(HEADER_HEIGHTS_JS)  # "Host" is one line: so is every header
    assert len(heights) == 4 and len(set(heights)) == 1
    for viewbox, shown in page.evaluate(SVG_RATIO_JS):
        assert abs(viewbox - shown) < 0.02  # scaled as a whole
    assert page.locator("#dashboard .chart-grid").count() >= 9  # three per chart
    assert "payout ($)" in page.locator("#dashboard .chart-axis-name").all_text_contents()
    assert page.evaluate(CONTRAST_JS, "#at-stake a, table.failing-hosts th") == []
    assert page.evaluate(OVERFLOW_JS) == []
    screenshot(page, f"third-pass-dashboard-{scheme}")
    with page.expect_navigation():
        page.click("#at-stake a")
    assert page.locator("#result_list tbody tr").count() >= 1
    assert "Failed" in page.inner_text("#result_list")
    context.close()


def console_offer_name(calls) -> str:
    return calls["delivery"].call.offer.name


ROW_LINES_JS = """
() => [...document.querySelectorAll('#result_list tbody tr')].map((tr) => {
  const cell = tr.querySelector('td.field-caller_id');
  const line = parseFloat(getComputedStyle(cell).lineHeight) || 18;
  const padding = parseFloat(getComputedStyle(cell).paddingTop)
    + parseFloat(getComputedStyle(cell).paddingBottom);
  return Math.round((tr.getBoundingClientRect().height - padding) / line);
})
"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_calls_list_says_what_ringba_was_paid_apart_from_the_enrichment(
    browser, live_server, calls, scheme, screenshot
):
    """Point 2: one column for what Ringba was paid (from the payment and adjustments),
    one for the enrichment; a call paid at Ringba but not converted here is flagged;
    each call is one line at 1280 px."""
    from decimal import Decimal

    from integrations.devtools.reconciliation_showcase import record_paid
    from integrations.models import Call, DeliveryStatus, Event, PostbackDelivery

    delivered = calls["delivered"]
    record_paid(PostbackDelivery.objects.get(call=delivered), amount="12.50")
    returned = calls["failing"]
    record_paid(PostbackDelivery.objects.get(call=returned), amount="12.50")
    Call.objects.filter(pk=returned.pk).update(offer_converted=False, payout=None)
    PostbackDelivery.objects.create(
        trigger=calls["delivery"].trigger,
        call=calls["short"],
        event=Event.CALL_STARTED,
        status=DeliveryStatus.SKIPPED,
        skip_reason="expired — not sent",
    )
    Call.objects.filter(pk=calls["short"].pk).update(payout=Decimal("0"))

    context, page = _signed_in(browser, live_server, scheme)
    page.goto(f"{live_server.url}{reverse('admin:integrations_call_changelist')}")

    def cell(caller, column):
        row = page.locator("#result_list tr", has_text=caller)
        return row.locator(f"td.field-{column}").inner_text()

    assert cell("+13125550101", "paid_at_ringba") == "paid 12.50"
    assert cell("+13125550102", "paid_at_ringba") == "still paid 12.50"  # returned here
    assert cell("+13125550103", "paid_at_ringba") == "—"
    assert cell("+13125550103", "enrichment") == "not sent"
    assert page.evaluate(CONTRAST_JS, "td.field-paid_at_ringba .outcome") == []
    screenshot(page, f"third-pass-calls-list-{scheme}")
    assert set(page.evaluate(ROW_LINES_JS)) == {1}
    assert page.evaluate(OVERFLOW_JS) == []
    context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_delivery_page_has_its_fixes_and_its_attempts(
    browser, live_server, calls, scheme, screenshot
):
    """Point 5: Re-send / Rebuild / Retry now on the delivery's own page; each attempt's
    request and answer; the raw error once."""
    from integrations.models import DeliveryStatus, PostbackDelivery

    failed = calls["delivery"]
    context, page = _signed_in(browser, live_server, scheme)
    url = reverse("admin:integrations_postbackdelivery_change", args=[failed.pk])
    page.goto(f"{live_server.url}{url}")
    assert page.is_visible("#resend") and page.is_visible("#rebuild")
    assert not page.is_visible("#retry-now")
    assert page.locator("text=Connection refused by 127.0.0.1:8799 — connection").count() == 1
    assert page.evaluate(OVERFLOW_JS) == []
    screenshot(page, f"third-pass-delivery-page-{scheme}")
    with page.expect_navigation():
        page.click("#resend")
    assert "Queued 1 delivery(ies) for a new attempt." in page.inner_text(".messagelist")
    assert PostbackDelivery.objects.get(pk=failed.pk).status == DeliveryStatus.RETRYING
    context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_call_page_reads_in_order(browser, live_server, calls, scheme, screenshot):
    """Point 4: the call's timeline (attempts and their answers in words) comes before the
    token JSON, which is folded."""
    context, page = _signed_in(browser, live_server, scheme)
    url = reverse("admin:integrations_call_change", args=[calls["failing"].pk])
    page.goto(f"{live_server.url}{url}")
    timeline = page.inner_text("table.call-timeline")
    assert "call started" in timeline
    assert "postback, attempt" in timeline and "Connection refused by 127.0.0.1:8799" in timeline
    assert "HTTPConnectionPool" not in page.inner_text("#content")  # words, not urllib3's
    assert page.inner_text(".field-timeline label").startswith("Timeline")
    top_of = "(selector) => document.querySelector(selector).getBoundingClientRect().top"
    assert page.evaluate(top_of, "table.call-timeline") < page.evaluate(
        top_of, ".field-tokens_pretty"
    )
    assert not page.is_visible(".field-tokens_pretty pre")  # folded until opened
    assert page.evaluate(OVERFLOW_JS) == []
    assert page.evaluate(CONTRAST_JS, "table.call-timeline td") == []
    screenshot(page, f"third-pass-call-page-{scheme}")
    context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_rest_of_a_bad_day_at_1280(browser, live_server, calls, scheme, screenshot):
    """Points 3 (history and its reasons), 4 (no red ✗ for ordinary flags), 6 (a host's
    banner, acknowledged), 8 (rebuild old → new), 9 (New From Template adds a mapping),
    11 (hours per weekday, zones with their time now) and 12 (the partner page's copy
    buttons and the token on file), each read in the browser."""
    from django.utils import timezone

    from integrations.models import DestinationHealth, PostbackDelivery, TrafficSource

    demo = calls["delivery"].call.offer
    PostbackDelivery.objects.filter(status__in=["pending", "retrying"]).update(
        url="http://127.0.0.1:8799/hook/x"
    )
    DestinationHealth.objects.create(
        host="127.0.0.1:8799", consecutive_failures=25, failing_since=timezone.now()
    )
    context, page = _signed_in(browser, live_server, scheme)
    base = live_server.url

    # 6: the host's line, acknowledged from the banner, stays away.
    page.goto(f"{base}{reverse('admin:index')}")
    with page.expect_navigation():
        page.click("button.acknowledge-host")
    assert "Acknowledged" in page.inner_text(".messagelist")
    assert "Postbacks to 127.0.0.1:8799" not in page.inner_text("#content-start, body")

    # 3: an offer's save with a reason, on its history page.
    offer_url = reverse("admin:integrations_offer_change", args=[demo.pk])
    page.goto(f"{base}{offer_url}")
    page.fill("#id_change_reason", f"partner asked ({scheme})")
    with page.expect_navigation():
        page.click("input[name=_continue]")
    page.goto(f"{base}{reverse('admin:integrations_offer_history', args=[demo.pk])}")
    assert f"partner asked ({scheme})" in page.inner_text("#content")
    assert page.evaluate(OVERFLOW_JS) == []

    # 4: the call page shows no red ✗ for its ordinary flags.
    call_url = reverse("admin:integrations_call_change", args=[calls["failing"].pk])
    page.goto(f"{base}{call_url}")
    assert page.locator(".inline-group img[alt='False']").count() == 0

    # 8: the rebuild's confirmation shows what each postback will send.
    page.goto(f"{base}{reverse('admin:integrations_postbackdelivery_changelist')}")
    page.locator("#result_list input.action-select").first.check()
    page.select_option("select[name=action]", "rebuild_and_send")
    with page.expect_navigation():
        page.click("button[name=index]")
    assert "WILL BE BUILT AS" in page.inner_text("table.rebuild-preview").upper()
    assert "not sent: condition not met" in page.inner_text("table.rebuild-preview")
    assert page.evaluate(OVERFLOW_JS) == []

    # 9: a covered offer: one click adds the new partner's mapping.
    partner = TrafficSource.objects.create(name=f"Partner {scheme}")
    page.goto(f"{base}{reverse('admin:integrations_eventtrigger_new_from_template')}")
    page.select_option("#id_template", label=calls["delivery"].trigger.template.name)
    page.select_option("#id_offer", str(demo.pk))
    page.select_option("#id_traffic_source", str(partner.pk))
    page.fill("#id_mapping_value", "partner-token-9")
    with page.expect_navigation():
        page.click("#new-from-template input[type=submit]")
    assert page.input_value("#id_mapping_value") == "partner-token-9"
    with page.expect_navigation():
        page.click("#add-mapping")
    assert f"Added {partner.name}" in page.inner_text(".messagelist")

    # 11: a schedule's hours per weekday and zones with their local time.
    page.goto(f"{base}{reverse('admin:integrations_schedule_add')}")
    assert " now" in page.inner_text("#id_time_zone option[value='America/New_York']")
    assert page.get_attribute("#id_contact_start", "type") == "time"
    assert page.is_visible("#id_hours_by_day")
    assert page.evaluate(OVERFLOW_JS) == []

    # 12: the partner page: copy buttons on field tags, the webhook token on file.
    source = calls["delivery"].call.traffic_source
    url = reverse("admin:integrations_offer_posting_instructions", args=[demo.pk])
    page.goto(f"{base}{url}?traffic_source={source.pk}")
    assert page.locator("button[data-copy-target^=field-tag-]").count() >= 1
    assert page.is_visible("#webhook-on-file")
    assert page.evaluate(CONTRAST_JS, "#webhook-on-file, .pi-copy") == []
    assert page.evaluate(OVERFLOW_JS) == []
    screenshot(page, f"third-pass-partner-page-{scheme}")
    context.close()
