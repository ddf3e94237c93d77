"""Reconciliation (issue 33) as an account manager meets it, in a real browser at 1280 px.

Upload the partner's call details report, read both totals and the counts per
label, open one label's rows, and send the fix; in light and dark.
"""

import pytest
from django.urls import reverse

from integrations.models import RingbaAdjustment
from tests.money.call_logs import REPORT_HEADER, as_csv, make_books
from tests.shipped_data import reinstall_shipped_rows

from .conftest import login_as_account_manager
from .test_fits_1280 import CONTRAST_JS, OVERFLOW_JS, VIEWPORT

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.browser,
]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_upload_read_and_fix_a_difference(
    browser, live_server, ringba_setup, ringba_trigger, tmp_path, scheme, screenshot
):
    reinstall_shipped_rows()  # the account managers' group, after an earlier test's flush
    books = make_books(ringba_setup, ringba_trigger)
    report = tmp_path / "ringba-call-details.csv"
    report.write_bytes(as_csv(books["log"], header=REPORT_HEADER))
    context = browser.new_context(viewport=VIEWPORT, color_scheme=scheme)
    page = context.new_page()
    login_as_account_manager(page, live_server.url)

    page.goto(f"{live_server.url}{reverse('admin:integrations_reconciliationrun_changelist')}")
    page.click("text=Add reconciliation run")
    page.select_option("#id_traffic_source", str(books["source"].pk))
    page.fill("#id_period_from", "2026-11-01")
    page.fill("#id_period_to", "2026-11-10")
    page.set_input_files("#id_csv_file", str(report))
    with page.expect_navigation():
        page.click("input[value=Reconcile]")

    assert "Reconciled: 9 difference(s) of 11 rows." in page.inner_text(".messagelist")
    totals = page.inner_text("table.reconciliation-totals")
    assert "$100.50" in totals and "$63.00" in totals
    assert page.inner_text("tr.label-matched td:last-child") == "2"
    assert page.evaluate(OVERFLOW_JS) == []
    assert page.evaluate(CONTRAST_JS, "table.reconciliation-labels a") == []
    screenshot(page, f"reconciliation-run-{scheme}")

    with page.expect_navigation():
        page.click("tr.label-amount_differs a")
    row = page.locator("#result_list tbody tr", has_text="RGB-F")
    assert page.locator("#result_list tbody tr").count() == 1
    assert "20.00" in row.inner_text() and "15.00" in row.inner_text()
    assert row.locator("td.field-fix").inner_text() == "send the adjustment"
    row.locator("input.action-select").check()
    page.select_option("select[name=action]", "send_adjustments")
    with page.expect_navigation():
        page.click("button[name=index]")
    assert "sets Ringba from 15.00 to 20.00" in page.inner_text(".messagelist")
    assert RingbaAdjustment.objects.get().to_amount == 20
    assert page.evaluate(OVERFLOW_JS) == []
    screenshot(page, f"reconciliation-rows-{scheme}")
    context.close()
