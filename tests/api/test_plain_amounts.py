"""Amounts and counts are written as people write them (issue 31, defect 5).

``Decimal("1_000")`` is 1000, ``Decimal("٣")`` is 3 and a full-width five is 5: DRF's
fields took them as amounts. Only ASCII digits, one optional sign and one ``.``.
"""

import pytest

from tests import factories

pytestmark = pytest.mark.django_db

ODD = ["1_000", "\u0663", "\uff15", "1e3", "\u0661\u0662.\u0665\u0660", "1.2.3", "--5", " 5 5 "]


@pytest.fixture
def call(ringba_setup):
    return factories.CallFactory(number=ringba_setup["number"])


@pytest.mark.parametrize("field", ["payout", "revenue"])
@pytest.mark.parametrize("text", ODD)
def test_an_amount_no_person_typed_is_refused_with_the_fix(calls_client, call, field, text):
    converted = "offer_converted" if field == "payout" else "buyer_converted"
    response = calls_client.post(
        f"/api/v1/calls/{call.call_uuid}", {converted: "true", field: text}
    )
    assert response.status_code == 422, response.content
    assert "digits 0-9" in response.content.decode()
    call.refresh_from_db()
    assert not call.offer_converted and not call.buyer_converted


@pytest.mark.parametrize("field", ["add_payout", "add_revenue"])
def test_an_addition_in_other_digits_is_refused(calls_client, call, field):
    response = calls_client.post(
        f"/api/v1/calls/{call.call_uuid}",
        {"offer_converted": "true", "buyer_converted": "true", field: "\uff15"},
    )
    assert response.status_code == 422, response.content
    assert field in response.content.decode()


@pytest.mark.parametrize("text", ["12.50", "12", "+3", "0.5", ".5", "10."])
def test_plain_amounts_still_work(calls_client, call, text):
    response = calls_client.post(
        f"/api/v1/calls/{call.call_uuid}", {"offer_converted": "true", "payout": text}
    )
    assert response.status_code == 200, response.content


def test_a_json_number_still_works(calls_client, call):
    response = calls_client.post(
        f"/api/v1/calls/{call.call_uuid}",
        {"offer_converted": True, "payout": 12.5},
        format="json",
    )
    assert response.status_code == 200 and response.json()["payout"] == "12.50"


@pytest.mark.parametrize("text", ["1_440", "\uff16\uff10"])
def test_call_timeframe_in_other_digits_is_refused(calls_client, ringba_setup, text):
    token = ringba_setup["offer"].lead_token
    response = calls_client.post(
        f"/api/v1/calls/update_by_caller_id/13125550000?offer_token={token}"
        f"&call_timeframe={text}&offer_converted=true"
    )
    assert response.status_code == 422, response.content
    assert "call_timeframe" in response.content.decode()
