"""Reconciliation where people meet it: the admin, the fixes, the command, the schedule."""

import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from integrations.models import (
    AdjustmentStatus,
    DeliveryStatus,
    Difference,
    Event,
    PostbackDelivery,
    ReconciliationRow,
    ReconciliationRun,
)
from integrations.services import adjustments, reconciliation
from integrations.services.partner_call_log import read_csv
from integrations.services.reconciliation import open_differences, reconcile
from integrations.services.reconciliation_fixes import (
    mark_reviewed,
    send_adjustment,
    send_missing_postback,
)
from tests import factories

from .call_logs import EXPECTED, PERIOD, REPORT_HEADER, as_csv

pytestmark = pytest.mark.django_db


def _upload(admin_client, books, content: bytes, **fields):
    return admin_client.post(
        reverse("admin:integrations_reconciliationrun_add"),
        {
            "traffic_source": books["source"].pk,
            "period_from": "2026-11-01",
            "period_to": "2026-11-10",
            "csv_file": io.BytesIO(content),
            **fields,
        },
        follow=True,
    )


def _csv_run(books) -> ReconciliationRun:
    upload = io.BytesIO(as_csv(books["log"], header=REPORT_HEADER))
    return reconcile(books["source"], read_csv(upload), origin="csv", **PERIOD)


# --- the admin ----------------------------------------------------------------------------


def test_an_uploaded_report_shows_totals_labels_and_rows(admin_client, books):
    content = as_csv(books["log"], header=REPORT_HEADER)
    page = _upload(admin_client, books, content)
    assert page.status_code == 200
    run = ReconciliationRun.objects.get()
    assert page.redirect_chain[-1][0] == reverse(
        "admin:integrations_reconciliationrun_change", args=[run.pk]
    )
    html = page.content.decode()
    assert "Reconciled: 9 difference(s) of 11 rows." in html
    assert "$100.50" in html and "$63.00" in html
    assert '<tr class="label-amount_differs">' in html
    assert run.file_name and run.run_by == "admin"

    rows = admin_client.get(
        reverse("admin:integrations_reconciliationrow_changelist"),
        {"run__id__exact": run.pk, "label__exact": "amount_differs"},
    ).content.decode()
    assert "RGB-F" in rows and "RGB-A" not in rows
    assert "send the adjustment" in rows

    exported = admin_client.get(
        reverse("admin:integrations_reconciliationrow_export"), {"run__id__exact": run.pk}
    )
    lines = b"".join(exported.streaming_content).decode().splitlines()
    assert lines[0].startswith("Inbound Call ID,Label,Caller ID,")
    assert len(lines) == 1 + 11
    assert any(line.startswith("RGB-F,amount_differs,") and "20.00,15.00" in line for line in lines)


def test_a_bad_upload_says_where_and_keeps_no_rows(admin_client, books):
    bad = b"Call Date,Inbound Call ID,Revenue\n2026-11-03 10:00:00,RGB-A,ten dollars\n"
    page = _upload(admin_client, books, bad).content.decode()
    assert "Not reconciled:" in page
    assert "line 2, column conversionAmount: &#x27;ten dollars&#x27; is not an amount" in page
    assert ReconciliationRow.objects.count() == 0


def test_the_api_source_needs_the_partners_token(admin_client, books):
    source = books["source"]
    source.ringba_account_id = ""
    source.save()
    page = admin_client.post(
        reverse("admin:integrations_reconciliationrun_add"),
        {"traffic_source": source.pk, "period_from": "2026-11-01", "period_to": "2026-11-10"},
    ).content.decode()
    assert "has no Ringba account id and API token: upload its call details report" in page
    assert ReconciliationRun.objects.count() == 0


def test_open_differences_on_the_dashboard_and_past_the_threshold_in_the_banner(
    admin_client, books, settings
):
    _csv_run(books)
    assert open_differences() == 9
    settings.RECONCILE_ALERT_THRESHOLD = 10
    home = admin_client.get(reverse("admin:index")).content.decode()
    assert 'id="open-differences"' in home and ">9</a>" in home
    assert "with partners' Ringba not reviewed" not in home
    settings.RECONCILE_ALERT_THRESHOLD = 9
    home = admin_client.get(reverse("admin:index")).content.decode()
    assert "9 differences with partners' Ringba not reviewed" in home


def test_only_each_partners_latest_run_counts(books):
    first = _csv_run(books)
    mark_reviewed(first.rows.filter(label=Difference.NOT_IN_PORTAL), who="t", note="known")
    assert open_differences() == 8
    _csv_run(books)  # a newer run: the review of the older one no longer hides anything
    assert open_differences() == 9


# --- the fixes ----------------------------------------------------------------------------


def test_the_adjustment_sets_ringba_to_the_calls_amount(books, ringba):
    ringba.conversion_amounts.update({"RGB-F": 15.0, "RGB-H": 7.0, "RGB-G": 0.0})
    run = _csv_run(books)
    for call_id, expected in (("RGB-F", 20.0), ("RGB-H", 0.0), ("RGB-G", 11.0)):
        row = run.rows.get(ringba_call_id=call_id)
        done, message = send_adjustment(row, who="admin (maria)")
        assert done, message
        adjustment = row.call.ringba_adjustments.get(status=AdjustmentStatus.PENDING)
        assert adjustment.from_amount == row.their_amount
        adjustments.attempt_adjustment(adjustment_id=adjustment.pk)
        adjustment.refresh_from_db()
        assert adjustment.status == AdjustmentStatus.ADJUSTED, adjustment.last_error
        assert ringba.conversion_amounts[call_id] == expected
        row.refresh_from_db()
        assert row.reviewed_by == "admin (maria)" and "adjustment #" in row.note
    # Twice is not two requests: the row is reviewed, and Ringba now holds the amount.
    done, _ = send_adjustment(run.rows.get(ringba_call_id="RGB-F"), who="admin")
    assert not done and len(ringba.api_hits()) == 3


def test_an_adjustment_needs_a_payment_and_the_right_label(books):
    run = _csv_run(books)
    done, message = send_adjustment(run.rows.get(ringba_call_id="RGB-X"), who="a")
    assert not done and "no adjustment fixes this label" in message
    done, message = send_adjustment(run.rows.get(ringba_call_id="RGB-A"), who="a")
    assert not done


def test_the_missing_postback_is_sent_again(books, ringba_trigger):
    run = _csv_run(books)
    row = run.rows.get(ringba_call_id="RGB-B")
    done, message = send_missing_postback(row, who="a")
    assert not done and "no failed conversion postback" in message
    failed = PostbackDelivery.objects.create(
        trigger=ringba_trigger,
        call=books["ours"]["never_sent"],
        event=Event.CALL_OFFER_CONVERTED,
        status=DeliveryStatus.FAILED,
    )
    done, message = send_missing_postback(row, who="admin (maria)")
    assert done, message
    failed.refresh_from_db()
    assert failed.status == DeliveryStatus.RETRYING


def test_rows_are_reviewed_with_a_note_from_the_list(admin_client, books):
    run = _csv_run(books)
    rows = run.rows.filter(label__in=[Difference.NOT_IN_PORTAL, Difference.TOO_LATE])
    response = admin_client.post(
        reverse("admin:integrations_reconciliationrow_changelist") + f"?run__id__exact={run.pk}",
        {
            "action": "review",
            "_selected_action": [str(pk) for pk in rows.values_list("pk", flat=True)],
            "note": "partner confirmed on the call",
        },
        follow=True,
    )
    assert "2 row(s) marked reviewed." in response.content.decode()
    assert {row.note for row in rows.all()} == {"partner confirmed on the call"}
    assert open_differences() == 7


# --- the command --------------------------------------------------------------------------


def test_the_command_prints_counts_and_rows_as_json(books, tmp_path, capsys):
    path = tmp_path / "ringba-calls.csv"
    path.write_bytes(as_csv(books["log"], header=REPORT_HEADER))
    call_command(
        "reconcile_ringba",
        "--traffic-source",
        str(books["source"].traffic_source_id),
        "--csv",
        str(path),
        "--json",
    )
    printed = json.loads(capsys.readouterr().out)
    # No period given: the file's own days (Oct 31 … Nov 6), so RGB-Z counts too.
    assert printed["period"] == ["2026-10-31", "2026-11-06"]
    assert printed["counts"]["not_in_portal"] == 2
    assert set(printed["counts"]) == set(Difference.values)
    by_id = {row["ringba_call_id"]: row for row in printed["rows"]}
    assert by_id["RGB-F"] == {
        "ringba_call_id": "RGB-F",
        "label": "amount_differs",
        "our_amount": "20.00",
        "their_amount": "15.00",
        "call_id": books["ours"]["amount_differs"].pk,
    }


def test_the_command_from_the_api_matches_the_csv(books, ringba, tmp_path, capsys):
    ringba.call_log.extend(books["log"])
    source_id = str(books["source"].traffic_source_id)
    period = ["--from", "2026-11-01", "--to", "2026-11-10", "--json"]
    call_command("reconcile_ringba", "--traffic-source", source_id, *period)
    by_api = json.loads(capsys.readouterr().out)
    path = tmp_path / "log.csv"
    path.write_bytes(as_csv(books["log"], header=REPORT_HEADER))
    call_command("reconcile_ringba", "--traffic-source", source_id, "--csv", str(path), *period)
    by_csv = json.loads(capsys.readouterr().out)
    assert by_api["counts"] == by_csv["counts"]
    assert {r["ringba_call_id"]: r["label"] for r in by_api["rows"]} == EXPECTED


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--traffic-source", "999"], "no traffic source with public id 999"),
        (["--from", "yesterday"], "'yesterday' is not a date"),
        (["--from", "2026-11-10", "--to", "2026-11-01"], "--to is before --from"),
        (["--csv", "/nonexistent/file.csv"], "No such file or directory"),
    ],
)
def test_the_command_says_what_is_wrong(books, arguments, message):
    base = ["--traffic-source", str(books["source"].traffic_source_id)]
    if arguments[0] == "--traffic-source":
        base = []
    with pytest.raises(CommandError, match=message):
        call_command("reconcile_ringba", *base, *arguments)


# --- the schedule -------------------------------------------------------------------------


def test_the_schedule_runs_each_partner_with_a_token_once_a_period(books, ringba, settings):
    settings.RECONCILE_EVERY_HOURS = 24
    settings.RECONCILE_ALERT_THRESHOLD = 3
    factories.account_manager(email="maria@example.com")
    ringba.call_log.extend(
        {**record, "callDt": record["callDt"] + _shift_to_now()} for record in books["log"]
    )
    _shift_ours_to_now(books)
    assert reconciliation.partners_due() == [books["source"]]
    [run] = reconciliation.run_scheduled()
    assert run.scheduled and run.run_by == "schedule"
    assert run.period_to == timezone.now().astimezone(UTC).date()
    assert (run.period_to - run.period_from).days == settings.RECONCILE_DAYS - 1
    assert run.counts[Difference.AMOUNT_DIFFERS] == 1
    assert reconciliation.partners_due() == []
    assert reconciliation.run_scheduled() == []
    [alert] = [m for m in mail.outbox if m.subject == "Differences with partners' Ringba"]
    assert "open" in alert.body and alert.to == ["maria@example.com"]


def test_the_schedule_is_off_at_zero_hours(books, settings):
    settings.RECONCILE_EVERY_HOURS = 0
    assert reconciliation.partners_due() == []


def _shift_to_now() -> int:
    return (
        int(
            (timezone.now() - timedelta(days=1) - datetime(2026, 11, 3, tzinfo=UTC)).total_seconds()
        )
        * 1000
    )


def _shift_ours_to_now(books) -> None:
    shift = timedelta(milliseconds=_shift_to_now())
    for call in books["ours"].values():
        call.started_at += shift
        if call.offer_converted_at:
            call.offer_converted_at += shift
        call.save(update_fields=["started_at", "offer_converted_at"])


def test_amounts_are_decimal_strings_in_the_json(books, tmp_path, capsys):
    path = tmp_path / "ringba.csv"
    path.write_bytes(as_csv(books["log"], header=REPORT_HEADER))
    source_id = str(books["source"].traffic_source_id)
    call_command("reconcile_ringba", "--traffic-source", source_id, "--csv", str(path), "--json")
    rows = json.loads(capsys.readouterr().out)["rows"]
    not_ours = next(row for row in rows if row["ringba_call_id"] == "RGB-X")
    assert (not_ours["our_amount"], not_ours["their_amount"]) == (None, "6.00")
    assert Decimal(next(r for r in rows if r["ringba_call_id"] == "RGB-A")["our_amount"]) == 10
