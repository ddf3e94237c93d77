"""Property: no input, however odd, makes either API answer 5xx."""

import json
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import factories

from .pixels import CAPTURE_URL

pytestmark = pytest.mark.django_db

# Text as hostile clients send it: any code point including lone surrogates (JSON
# escapes them as \ud800, which json.loads turns back into real ones), NUL,
# non-ASCII digits and direction overrides.
hostile_text = st.text(
    st.characters(exclude_categories=())
    | st.sampled_from(["\x00", "\ud800", "\udfff", "\u00b2", "\u0661", "\uff11", "\u202e"]),
    max_size=40,
)
extreme_dates = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
).map(lambda moment: moment.isoformat())

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), hostile_text
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
field_names = st.sampled_from(
    [
        "lead_token",
        "traffic_source_id",
        "caller_id",
        "ringba_call_uuid",
        "data",
        "first_name",
        "payout",
    ]
) | st.text(st.characters(exclude_categories=()), max_size=12)

FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(body=st.dictionaries(field_names, values, max_size=8), use_real_token=st.booleans())
def test_random_json_objects_never_cause_a_5xx(client, ringba_setup, body, use_real_token):
    if use_real_token:
        body["lead_token"] = ringba_setup["offer"].lead_token
    response = client.generic(
        "POST", CAPTURE_URL, json.dumps(body).encode(), content_type="application/json"
    )
    assert response.status_code < 500, response.content
    assert response["Content-Type"] == "application/json"


@FUZZ
@given(
    raw=st.binary(max_size=200),
    content_type=st.sampled_from(
        ["application/json", "text/plain", "application/x-www-form-urlencoded", "", "text/html"]
    ),
)
def test_random_bytes_never_cause_a_5xx(client, ringba_setup, raw, content_type):
    response = client.generic("POST", CAPTURE_URL, raw, content_type=content_type)
    assert response.status_code < 500, response.content


@FUZZ
@given(caller=hostile_text, uuid=hostile_text)
def test_random_strings_in_fields_never_cause_a_5xx(client, ringba_setup, caller, uuid):
    body = {
        "lead_token": ringba_setup["offer"].lead_token,
        "traffic_source_id": str(ringba_setup["source"].traffic_source_id),
        "caller_id": caller,
        "ringba_call_uuid": uuid,
    }
    response = client.generic(
        "POST", CAPTURE_URL, json.dumps(body).encode(), content_type="application/json"
    )
    assert response.status_code < 500, response.content


@FUZZ
@given(
    source=hostile_text | st.integers().map(str),
    token=hostile_text,
)
def test_random_sources_and_tokens_never_cause_a_5xx(client, ringba_setup, source, token):
    for lead_token in (token, ringba_setup["offer"].lead_token):
        body = {"lead_token": lead_token, "traffic_source_id": source, "caller_id": "3125550101"}
        response = client.generic(
            "POST", CAPTURE_URL, json.dumps(body).encode(), content_type="application/json"
        )
        assert response.status_code < 500, response.content


@FUZZ
@given(
    started_at=extreme_dates | hostile_text,
    caller=hostile_text,
    call_uuid=hostile_text,
)
def test_random_calls_never_cause_a_5xx(calls_client, ringba_setup, started_at, caller, call_uuid):
    body = {
        "number": ringba_setup["number"].number,
        "caller_id": caller,
        "started_at": started_at,
        "call_uuid": call_uuid,
    }
    response = calls_client.generic(
        "POST", "/api/v1/calls", json.dumps(body).encode(), content_type="application/json"
    )
    assert response.status_code < 500, response.content


@FUZZ
@given(
    ended_at=extreme_dates | hostile_text,
    duration=st.integers() | hostile_text,
    tokens=st.dictionaries(hostile_text, scalars, max_size=4),
    payout=hostile_text | st.floats(allow_nan=True, allow_infinity=True).map(str),
)
def test_random_call_updates_never_cause_a_5xx(
    calls_client, ringba_setup, ended_at, duration, tokens, payout
):
    call = factories.CallFactory(number=ringba_setup["number"])
    body = {
        "ended_at": ended_at,
        "duration": duration,
        "post_call_tokens": tokens,
        "offer_converted": True,
        "payout": payout,
    }
    response = calls_client.generic(
        "POST",
        f"/api/v1/calls/update_call/{call.call_uuid}",
        json.dumps(body).encode(),
        content_type="application/json",
    )
    assert response.status_code < 500, response.content
