"""Every page of the console fits a 1280 x 800 window, in light and dark (issue 14, SPEC §9).

A page fits when neither the document nor any results table or inline scrolls
sideways; dark mode is readable when every button and code sample on the custom
pages has text at least 4.5:1 against its own background.
"""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from integrations.devtools.demo import seed_demo
from integrations.models import (
    ContactField,
    DeliveryStatus,
    PostbackAttempt,
    PostbackDelivery,
    RejectedPixel,
)
from integrations.partner_page.links import partner_url
from integrations.services import rollups, schedules
from integrations.services.calls import CallUpdate, update_call
from tests import factories
from tests.admin.test_pages import MODELS
from tests.shipped_data import reinstall_shipped_rows

from .conftest import login_as_account_manager

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.browser,
]

VIEWPORT = {"width": 1280, "height": 800}
# Saved to test-artifacts/screenshots for a person to look at (the test checks the rest).
SHOWN = {
    "offer form",
    "call list",
    "postbackdelivery form",
    "posting instructions",
    "home",
    "eventtrigger form",
    "schedule form",
    "schedulelead form",
    "schedule partner page",
}

# Horizontal overflow of the page, and of each scrolling box the admin draws.
OVERFLOW_JS = """
() => {
  const over = [];
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth + 1) over.push(`page ${root.scrollWidth}px`);
  for (const box of document.querySelectorAll('.results, .inline-group, .module, fieldset')) {
    if (box.scrollWidth > box.clientWidth + 1) {
      const name = box.id || box.className || box.tagName;
      over.push(`${name} ${box.scrollWidth}px in ${box.clientWidth}px`);
    }
  }
  return over;
}
"""

# Text against its nearest opaque background, for buttons and code on custom pages.
CONTRAST_JS = """
(selector) => {
  const rgb = (text) => (text.match(/[\\d.]+/g) || []).map(Number);
  const luminance = ([r, g, b]) => {
    const c = [r, g, b].map((v) => { v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const low = [];
  for (const el of document.querySelectorAll(selector)) {
    if (!el.offsetParent) continue;
    const a = luminance(rgb(getComputedStyle(el).color).slice(0, 3));
    const b = luminance(background(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const text = el.textContent.trim().slice(0, 20);
    if (ratio < 4.5) low.push(`${el.tagName}.${el.className} "${text}" ${ratio.toFixed(2)}:1`);
  }
  return low;
}
"""


@pytest.fixture
def console(live_server, settings):
    """The demo, plus one of everything, with long real-world values."""
    settings.PUBLIC_BASE_URL = live_server.url
    reinstall_shipped_rows()
    demo = seed_demo()
    offer = demo.offer
    ContactField.objects.create(
        offer=offer,
        name="member_identifier_with_a_long_name",
        display_name="Member identifier as printed on the card",
        pattern=r"^(?:MB|MX)-[0-9A-F]{6}(?:-[0-9A-F]{4})?$",
        acceptable_values="",
        description="Printed on the front of the member card, top right; ask the caller.",
        required=True,
    )
    lead = factories.LeadFactory(
        offer=offer,
        traffic_source=demo.source,
        ringba_call_uuid="RGB" + "A1B2C3D4E5F6" * 4,
        raw_body='{"lead_token": "abcd…", "notes": "' + "a very long note " * 40 + '"}',
    )
    call = factories.CallFactory(number=demo.numbers[0], lead=lead, caller_id="+13125550177")
    update_call(
        call_uuid=call.call_uuid,
        update=CallUpdate(offer_converted=True, ended_at=call.started_at + timedelta(minutes=3)),
    )
    delivery = PostbackDelivery.objects.filter(
        call=call
    ).first() or PostbackDelivery.objects.create(
        trigger=demo.trigger, call=call, event="call_offer_converted", status=DeliveryStatus.FAILED
    )
    PostbackAttempt.objects.create(
        delivery=delivery,
        started_at=timezone.now(),
        status_code=500,
        response_body="<html>" + "Internal Server Error " * 30 + "</html>",
        error="HTTP 500 from webhook.ringba.com: the receiver answered with an error page",
    )
    RejectedPixel.objects.create(
        offer=offer,
        traffic_source=demo.source,
        status_code=422,
        errors=["caller_id: is not a phone number (got 'anonymous caller from a payphone')"],
        raw_body='{"caller_id": "anonymous"}',
    )
    schedule_lead = factories.ScheduleLeadFactory(
        schedule=demo.schedule,
        traffic_source=demo.source,
        ringba_call_uuid="RGB" + "F6E5D4C3B2A1" * 4,
        tokens={"first_name": "Unrouted", "notes": "called twice, no answer " * 8},
    )
    with transaction.atomic():  # as inside the call's transaction
        schedules.count_call(schedule_lead.uuid, cause="calls API (a dialer with a long name)")
    return {
        "demo": demo,
        "call": call,
        "lead": lead,
        "delivery": delivery,
        "schedule_lead": schedule_lead,
    }


def _pages(console) -> list[tuple[str, str]]:
    demo = console["demo"]
    pages = []
    for model in MODELS:
        pages.append((f"{model} list", reverse(f"admin:integrations_{model}_changelist")))
    objects = {
        "offer": demo.offer,
        "trafficsource": demo.source,
        "number": demo.numbers[0],
        "lead": console["lead"],
        "call": console["call"],
        "eventtrigger": demo.trigger,
        "postbackdelivery": console["delivery"],
        "triggertemplate": demo.trigger.template,
        "rejectedpixel": RejectedPixel.objects.first(),
        "schedule": demo.schedule,
        "schedulelead": console["schedule_lead"],
    }
    for model, obj in objects.items():
        pages.append(
            (f"{model} form", reverse(f"admin:integrations_{model}_change", args=[obj.pk]))
        )
    for model in ("offer", "trafficsource", "number", "eventtrigger", "schedule"):
        pages.append((f"{model} add", reverse(f"admin:integrations_{model}_add")))
    pages.append(("schedule partner page", urlsplit(partner_url(demo.schedule, demo.source)).path))
    pages.append(
        (
            "posting instructions",
            reverse("admin:integrations_offer_posting_instructions", args=[demo.offer.pk])
            + f"?traffic_source={demo.source.pk}",
        )
    )
    pages.append(("home", reverse("admin:index")))
    return pages


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_fits_1280_pixels(browser, live_server, console, scheme, screenshot):
    context = browser.new_context(viewport=VIEWPORT, color_scheme=scheme)
    page = context.new_page()
    login_as_account_manager(page, live_server.url)
    overflowing = {}
    for name, url in _pages(console):
        response = page.goto(f"{live_server.url}{url}")
        assert response.status == 200, (name, response.status)
        found = page.evaluate(OVERFLOW_JS)
        if name in SHOWN:
            screenshot(page, f"1280-{scheme}-{name.replace(' ', '-')}")
        if found:
            overflowing[name] = found
            screenshot(page, f"overflow-{scheme}-{name.replace(' ', '-')}")
    context.close()
    print("OVERFLOW", scheme, overflowing)
    assert overflowing == {}


def test_custom_pages_are_readable_in_dark_mode(browser, live_server, console):
    context = browser.new_context(viewport=VIEWPORT, color_scheme="dark")
    page = context.new_page()
    login_as_account_manager(page, live_server.url)
    demo = console["demo"]
    low = {}
    for name, url in [
        (
            "posting instructions",
            reverse("admin:integrations_offer_posting_instructions", args=[demo.offer.pk])
            + f"?traffic_source={demo.source.pk}",
        ),
        (
            "delivery why",
            reverse("admin:integrations_postbackdelivery_change", args=[console["delivery"].pk]),
        ),
        ("offer form", reverse("admin:integrations_offer_change", args=[demo.offer.pk])),
        ("partner page", urlsplit(partner_url(demo.offer, demo.source)).path),
        ("schedule partner page", urlsplit(partner_url(demo.schedule, demo.source)).path),
        ("schedule form", reverse("admin:integrations_schedule_change", args=[demo.schedule.pk])),
    ]:
        assert page.goto(f"{live_server.url}{url}").status == 200, name
        found = page.evaluate(CONTRAST_JS, "button, code, pre, .why-panel td, td, th")
        if found:
            low[name] = found[:8]
    context.close()
    print("LOW", low)
    assert low == {}


def test_the_dashboard_in_a_browser(browser, live_server, console, screenshot):
    """A week of calls, as the account manager first sees them; saved for docs/images."""
    demo = console["demo"]
    now = timezone.now()
    midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    for days_ago in range(7):
        for index in range(days_ago + 2):
            call = factories.CallFactory(number=demo.numbers[0])
            # On its day even just after midnight (the period starts at a midnight).
            call.started_at = max(
                now - timedelta(days=days_ago, minutes=index),
                midnight - timedelta(days=days_ago),
            )
            call.offer_converted = index % 2 == 0
            call.payout = demo.offer.payout if call.offer_converted else None
            call.save()
    rollups.refresh(timezone.now() - timedelta(days=8), timezone.now() + timedelta(hours=1))
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    login_as_account_manager(page, live_server.url)
    page.goto(f"{live_server.url}{reverse('admin:index')}?days=7")
    calls = int(page.inner_text("#total-calls"))
    assert calls == 1 + sum(days_ago + 2 for days_ago in range(7))
    assert page.locator("#dashboard svg").count() == 3
    screenshot(page, "dashboard")
    context.close()
