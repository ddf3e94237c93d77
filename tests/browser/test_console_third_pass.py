"""The console's third pass (issue 34), in a real browser at 1280 px, light and dark.

Point 1: outcomes read at a glance — the calls list's badges and the deliveries
list's statuses are pills whose colours differ by outcome (the admin's link colour
used to win in light mode) with AA contrast against their own background.
Point 10: a new API key starts with no scope, is shown once on a GET after the POST,
and its header and public key have copy buttons.
"""

import pytest
from django.urls import reverse

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
    from django.contrib.auth.models import User

    from integrations.models import ApiClient

    User.objects.create_superuser("root", "root@example.com", "password")
    context = browser.new_context(
        viewport=VIEWPORT, color_scheme=scheme, permissions=["clipboard-read", "clipboard-write"]
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "root")
    page.fill("#id_password", "password")
    page.click("input[type=submit]")
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
