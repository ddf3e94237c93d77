"""Property: no input, however odd, makes the capture API answer 5xx."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .pixels import CAPTURE_URL

pytestmark = pytest.mark.django_db

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=40)
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
) | st.text(max_size=12)

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
@given(caller=st.text(max_size=30), uuid=st.text(max_size=30))
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
