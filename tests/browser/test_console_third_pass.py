"""The console's third pass (issue 34), in a real browser at 1280 px, light and dark.

Point 1: outcomes read at a glance — the calls list's badges and the deliveries
list's statuses are pills whose colours differ by outcome (the admin's link colour
used to win in light mode) with AA contrast against their own background.
"""

import pytest
from django.urls import reverse

from .test_console_second_pass import _signed_in
from .test_console_second_pass import calls as calls
from .test_fits_1280 import CONTRAST_JS, OVERFLOW_JS
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
