"""Reconciliation with the partner's Ringba (issue 33): every label from a real-shaped log.

The partner's side is a call log in Ringba's shape (``call_logs``), served by the
stand-in's ``/v2/{accountId}/calllogs`` (the API source, paged) and written as the
CSV Ringba's call details report exports (the upload source); both must give the
same labels.
"""

import io
import json
import socket
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from integrations.models import Difference, ReconciliationRow, ReconciliationRun
from integrations.services.partner_call_log import PartnerLogError, read_api, read_csv
from integrations.services.reconciliation import reconcile

from .call_logs import EXPECTED, PERIOD, REPORT_HEADER, as_csv, labels, ms

pytestmark = pytest.mark.django_db


def test_each_label_from_the_partners_call_log_api(books, ringba):
    ringba.call_log.extend(books["log"])
    start, end = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 11, tzinfo=UTC)
    # Pages of 5: the log is read a page at a time, never whole.
    theirs = read_api(books["source"], start=start, end=end, page_size=5)
    run = reconcile(books["source"], theirs, origin="api", **PERIOD)
    assert run.error == ""
    assert labels(run) == EXPECTED
    pages = [json.loads(hit.body) for hit in ringba.api_hits() if hit.path.endswith("/calllogs")]
    assert [page["offset"] for page in pages] == [0, 5, 10]
    assert all(hit.authorized for hit in ringba.api_hits())
    assert pages[0]["valueColumns"][0] == {"column": "inboundCallId"}


def test_the_csv_and_the_api_give_the_same_result(books, ringba):
    ringba.call_log.extend(books["log"])
    start, end = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 11, tzinfo=UTC)
    by_api = reconcile(
        books["source"], read_api(books["source"], start=start, end=end), origin="api", **PERIOD
    )
    upload = io.BytesIO(as_csv(books["log"], header=REPORT_HEADER))
    by_csv = reconcile(books["source"], read_csv(upload), origin="csv", **PERIOD)
    assert labels(by_csv) == labels(by_api) == EXPECTED
    assert by_csv.counts == by_api.counts
    for run in (by_api, by_csv):
        assert (run.our_total, run.their_total) == (Decimal("100.50"), Decimal("63.00"))
        assert (run.our_conversions, run.their_conversions, run.their_rows) == (9, 8, 12)


def test_amounts_and_pairing_are_kept_on_each_row(books, ringba):
    upload = io.BytesIO(as_csv(books["log"], header=REPORT_HEADER))
    run = reconcile(books["source"], read_csv(upload), origin="csv", **PERIOD)
    rows = {row.ringba_call_id: row for row in run.rows.all()}
    assert (rows["RGB-F"].our_amount, rows["RGB-F"].their_amount) == (
        Decimal("20.00"),
        Decimal("15.00"),
    )
    assert rows["RGB-F"].call_id == books["ours"]["amount_differs"].pk
    assert (rows["RGB-X"].call_id, rows["RGB-X"].their_amount) == (None, Decimal("6.00"))
    assert rows["RGB-K"].matched_by == "caller" and rows["RGB-A"].matched_by == "id"
    assert rows["RGB-K"].call_id == books["ours"]["by_caller"].pk


def test_a_caller_outside_the_window_is_not_paired(books, ringba):
    log = [dict(r) for r in books["log"]]
    far = next(r for r in log if r["inboundCallId"] == "RGB-K")
    far["callDt"] += ms(datetime(1970, 1, 1, 0, 11, tzinfo=UTC))  # 3 + 11 minutes away
    run = reconcile(
        books["source"],
        read_csv(io.BytesIO(as_csv(log, header=REPORT_HEADER))),
        origin="csv",
        **PERIOD,
    )
    labels = [row.label for row in run.rows.filter(caller_id="+14155550111")]
    assert sorted(labels) == [Difference.NEVER_SENT, Difference.NOT_IN_PORTAL]


@pytest.mark.parametrize(
    "header",
    [
        ["callDt", "inboundCallId", "inboundPhoneNumber", "hasConverted", "conversionAmount"],
        ["CALL DATE", "inbound_call_id", "caller id", "converted", "Conversion Amount"],
    ],
)
def test_csv_columns_are_found_by_api_id_or_report_name_in_any_case(books, ringba, header):
    upload = io.BytesIO(as_csv(books["log"], header=header))
    run = reconcile(books["source"], read_csv(upload), origin="csv", **PERIOD)
    assert labels(run) == EXPECTED


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "is empty"),
        (b"Date,Publisher\n2026-11-03,x\n", "no column for the conversion"),
        (
            b"Call Date,Inbound Call ID,Revenue\n2026-11-03 10:00:00,RGB-A,10\nyesterday,RGB-B,1\n",
            "line 3, column callDt: 'yesterday' is not a date",
        ),
        (
            b"Call Date,Inbound Call ID,Revenue\n2026-11-03 10:00:00,RGB-A,ten\n",
            "line 2, column conversionAmount: 'ten' is not an amount",
        ),
        (
            b"Call Date,Inbound Call ID,Converted\n2026-11-03 10:00:00,RGB-A,maybe\n",
            "line 2, column hasConverted: 'maybe' is not true or false",
        ),
        (b"Call Date,Inbound Call ID,Revenue\n\xff\xfe,x,1\n", "not UTF-8"),
    ],
)
def test_a_bad_file_names_the_row_and_column_and_imports_nothing(books, content, message):
    run = reconcile(
        books["source"], read_csv(io.BytesIO(content), name="log.csv"), origin="csv", **PERIOD
    )
    assert message in run.error
    assert run.error.startswith("log.csv")
    assert ReconciliationRow.objects.count() == 0
    assert ReconciliationRun.objects.get().counts == {}


def test_the_api_source_says_what_is_missing_or_refused(books, ringba, settings):
    source = books["source"]
    start, end = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 11, tzinfo=UTC)
    ringba.api_tokens[source.ringba_account_id] = "another-token"
    run = reconcile(source, read_api(source, start=start, end=end), origin="api", **PERIOD)
    assert "Ringba's call log answered 401" in run.error
    assert ReconciliationRow.objects.count() == 0
    source.ringba_account_id = ""
    source.save()
    with pytest.raises(PartnerLogError, match="no Ringba account id and API token"):
        next(read_api(source, start=start, end=end))


def test_a_private_address_is_refused_before_any_connection(books, settings, monkeypatch):
    attempted = []
    monkeypatch.setattr(socket.socket, "connect", lambda *args: attempted.append(args))
    monkeypatch.setattr(socket, "create_connection", lambda *args, **kw: attempted.append(args))
    settings.RINGBA_API_BASE_URL = "http://10.255.255.1/v2"
    settings.POSTBACK_ALLOWED_HOSTS = ["10.255.255.1"]
    settings.POSTBACK_ALLOW_PRIVATE_IPS = False
    start, end = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 11, tzinfo=UTC)
    run = reconcile(
        books["source"], read_api(books["source"], start=start, end=end), origin="api", **PERIOD
    )
    assert "private, loopback or link-local" in run.error
    assert attempted == []


def test_what_the_worker_paid_reconciles_to_matched_from_the_stand_ins_log(
    partner, ringba, calls_client
):
    """The demo's loop: conversions paid through the real worker, one returned after it."""
    from integrations.models import PostbackDelivery, RingbaAdjustment
    from integrations.services import adjustments, deliveries
    from tests import factories

    paid_ids = []
    for index in range(3):
        lead = factories.LeadFactory(
            offer=partner["offer"], traffic_source=partner["source"], ringba_call_uuid=f"W-{index}"
        )
        call = factories.CallFactory(number=partner["number"], lead=lead)
        response = calls_client.post(f"/api/v1/calls/{call.call_uuid}", {"offer_converted": "1"})
        assert response.status_code == 200, response.content
        for delivery in PostbackDelivery.objects.filter(call=call):
            deliveries.attempt_delivery(delivery_id=delivery.pk)
        paid_ids.append(call)
    returned = calls_client.post(
        f"/api/v1/calls/{paid_ids[0].call_uuid}",
        {"offer_converted": "false", "return_reason": "IVR hang-up"},
    )
    assert returned.status_code == 200, returned.content
    for adjustment in RingbaAdjustment.objects.all():
        adjustments.attempt_adjustment(adjustment_id=adjustment.pk)
    assert ringba.conversion_amounts == {"W-0": 0.0, "W-1": 12.5, "W-2": 12.5}

    today = datetime.now(UTC).date()
    start = datetime.combine(today, datetime.min.time(), tzinfo=UTC)
    end = start + timedelta(days=1)
    run = reconcile(
        partner["source"],
        read_api(partner["source"], start=start, end=end),
        origin="api",
        period_from=today,
        period_to=today,
    )
    assert run.error == ""
    assert run.counts == {"matched": 3}
    assert (run.our_total, run.their_total) == (Decimal("25.00"), Decimal("25.00"))
