"""TrackDrive's GET /api/v1/calls/stats/: its documented groupings, figures and URL."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings

from tests import factories

pytestmark = pytest.mark.django_db

UTC = ZoneInfo("UTC")
T0 = datetime(2024, 3, 28, 15, 0, tzinfo=UTC)
# TrackDrive's documented example, byte for byte: spaces and "+" left unencoded, as
# curl sends them (a "+" in a query string reads as a space).
DOCUMENTED = (
    "/api/v1/calls/stats/?group_by=status&created_at_from=2024-03-28 15:16:49 UTC"
    "&created_at_to=2024-03-29 03:16:49 +0000&stat=count"
)


@pytest.fixture
def calls(ringba_setup):
    """Five calls by hand: when, ended or not, who converted, for how much."""

    def call(minutes, *, ended=True, offer=False, buyer=None, number=None):
        started = T0 + timedelta(minutes=minutes)
        return factories.CallFactory(
            number=number or ringba_setup["number"],
            started_at=started,
            ended_at=started + timedelta(minutes=2) if ended else None,
            offer_converted=offer,
            payout=Decimal("12.50") if offer else None,
            buyer_converted=buyer is not None,
            revenue=buyer,
        )

    return [
        call(17, offer=True, buyer=Decimal("30.00")),  # 15:17
        call(19, buyer=Decimal("20.50")),  # 15:19, same five minutes
        call(23),  # 15:23
        call(60 * 10, ended=False),  # 01:00 the next day, still talking
        call(60 * 13),  # 04:00 the next day: after the period
    ]


def _get(client, path, **query):
    response = client.get(path, query)
    return response.status_code, response.json()


def test_the_documented_example_runs_as_written(calls_client, calls):
    response = calls_client.get(DOCUMENTED)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["stats"] == [
        {"group": "completed", "value": 3},  # 15:17, 15:19, 15:23; 04:00 is after the period
        {"group": "in-progress", "value": 1},
    ]
    assert body["total"] == 4
    assert (body["group_by"], body["stat"]) == ("status", "count")
    assert body["created_at_from"] == "2024-03-28T15:16:49+00:00"
    assert body["created_at_to"] == "2024-03-29T03:16:49+00:00"


def test_with_and_without_the_trailing_slash(calls_client, calls):
    with_slash = calls_client.get(DOCUMENTED).json()
    without = calls_client.get(DOCUMENTED.replace("stats/?", "stats?")).json()
    assert with_slash == without


PERIOD = {
    "created_at_from": "2024-03-28 00:00:00 +0000",
    "created_at_to": "2024-03-29 03:30:00 +0000",
}


@pytest.mark.parametrize(
    "group_by, stat, expected, total",
    [
        ("buyer_converted", "count", [("false", 2), ("true", 2)], 4),
        ("offer_converted", "count", [("false", 3), ("true", 1)], 4),
        ("buyer_converted", "revenue", [("false", "0.00"), ("true", "50.50")], "50.50"),
        ("offer_converted", "revenue", [("false", "20.50"), ("true", "30.00")], "50.50"),
        ("created_at_day", "count", [("2024-03-28", 3), ("2024-03-29", 1)], 4),
        ("created_at_week", "revenue", [("2024-03-25", "50.50")], "50.50"),
        ("created_at_month", "count", [("2024-03", 4)], 4),
    ],
)
def test_each_grouping_and_figure(calls_client, calls, group_by, stat, expected, total):
    status, body = _get(
        calls_client, "/api/v1/calls/stats/", group_by=group_by, stat=stat, **PERIOD
    )
    assert status == 200, body
    assert [(row["group"], row["value"]) for row in body["stats"]] == expected
    assert body["total"] == total


def test_five_minute_slices_list_every_slice_empty_ones_included(calls_client, calls):
    status, body = _get(
        calls_client,
        "/api/v1/calls/stats/",
        group_by="created_at_five_minutes",
        stat="count",
        created_at_from="2024-03-28 15:10:00 +0000",
        created_at_to="2024-03-28 15:29:59 +0000",
    )
    assert status == 200, body
    assert [(row["group"], row["value"]) for row in body["stats"]] == [
        ("2024-03-28T15:10:00+00:00", 0),
        ("2024-03-28T15:15:00+00:00", 2),
        ("2024-03-28T15:20:00+00:00", 1),
        ("2024-03-28T15:25:00+00:00", 0),
    ]


@override_settings(TIME_ZONE="America/New_York")
def test_days_are_cut_in_the_portals_time_zone(calls_client, calls):
    # 01:00 UTC on the 29th is 21:00 on the 28th in New York: the same day as the rest.
    status, body = _get(
        calls_client, "/api/v1/calls/stats/", group_by="created_at_day", stat="count", **PERIOD
    )
    assert status == 200, body
    assert [(row["group"], row["value"]) for row in body["stats"]] == [
        ("2024-03-27", 0),  # the period starts at 20:00 on the 27th, New York time
        ("2024-03-28", 4),
    ]
    assert body["time_zone"] == "America/New_York"


@pytest.mark.parametrize(
    "flags, expected",
    [
        ({"offer_converted": "1"}, 1),
        ({"buyer_converted": "yes"}, 2),
        ({"either_converted": "on"}, 2),
        ({"either_converted": "off"}, 2),
        ({"in_progress": "true"}, 1),
        ({"in_progress": "0", "buyer_converted": "no"}, 1),
    ],
)
def test_documented_filters_narrow_the_calls(calls_client, calls, flags, expected):
    status, body = _get(
        calls_client, "/api/v1/calls/stats/", group_by="status", stat="count", **PERIOD, **flags
    )
    assert status == 200, body
    assert body["total"] == expected


def test_a_partner_filter_by_its_public_id(calls_client, calls, ringba_setup):
    other = factories.TrafficSourceFactory()
    factories.CallFactory(
        number=factories.NumberFactory(offer=ringba_setup["offer"], traffic_source=other),
        started_at=T0 + timedelta(minutes=30),
    )
    query = {"group_by": "status", "stat": "count", **PERIOD}
    assert _get(calls_client, "/api/v1/calls/stats/", **query)[1]["total"] == 5
    mine = ringba_setup["source"].traffic_source_id
    assert (
        _get(calls_client, "/api/v1/calls/stats/", **query, traffic_source_id=mine)[1]["total"] == 4
    )


@pytest.mark.parametrize(
    "query, error",
    [
        ({"stat": "profit"}, "stat: 'profit' is not available: profit is revenue minus cost"),
        ({"stat": "cost"}, "stat: 'cost' is not available: the portal records no cost"),
        ({"stat": "payout"}, "stat: 'payout' is a figure of GET /api/v1/stats"),
        ({"group_by": "offer"}, "group_by: 'offer' is a grouping of GET /api/v1/stats"),
        ({"group_by": "created_at_hour"}, "group_by: 'created_at_hour' is not one of"),
        ({"has_recording": "1"}, "has_recording: not supported"),
        ({"offer_repeat_caller": "true"}, "offer_repeat_caller: not supported"),
        ({"page": "2"}, "page:"),
        ({"created_at_from": "yesterday"}, "created_at_from: 'yesterday' is not a date"),
        (
            {"created_at_from": "2024-03-30", "created_at_to": "2024-03-29"},
            "created_at_from: must not be after created_at_to",
        ),
        (
            {"group_by": "created_at_five_minutes", "created_at_from": "2024-03-01"},
            "created_at_to: with group_by=created_at_five_minutes, at most 7 days",
        ),
        ({"traffic_source_id": "999999"}, "traffic_source_id: no traffic source"),
    ],
)
def test_what_cannot_be_answered_is_named_in_a_422(calls_client, calls, query, error):
    full = {"group_by": "status", "stat": "count", **PERIOD} | query
    status, body = _get(calls_client, "/api/v1/calls/stats/", **full)
    assert status == 422, body
    assert any(message.startswith(error) for message in body["errors"]), body


@pytest.mark.parametrize("missing", ["group_by", "stat", "created_at_from", "created_at_to"])
def test_the_documented_required_parameters_are_required(calls_client, calls, missing):
    query = {"group_by": "status", "stat": "count", **PERIOD}
    del query[missing]
    status, body = _get(calls_client, "/api/v1/calls/stats/", **query)
    assert status == 422
    assert any(message.startswith(f"{missing}:") for message in body["errors"]), body


def test_the_answer_is_one_aggregate_whatever_the_number_of_calls(
    calls_client, calls, django_assert_max_num_queries
):
    # Authentication and the client's scope, then one grouped query.
    with django_assert_max_num_queries(6):
        calls_client.get(DOCUMENTED)
    query = {"group_by": "created_at_five_minutes", "stat": "revenue"}
    query |= {"created_at_from": "2024-03-28", "created_at_to": "2024-03-29"}
    with django_assert_max_num_queries(6):
        assert calls_client.get("/api/v1/calls/stats/", query).status_code == 200


def test_calls_stats_needs_credentials(api_client):
    assert api_client.get(DOCUMENTED).status_code == 401
