"""Sample and test leads never attach to real calls, so they never pay (case 11).

The partner page's sample curl sends ringba_call_uuid TEST-CURL-0001 from a
sample caller; when a real call from that number was in the window, the test
lead attached to it and Ringba got call_id=TEST-CURL-0001 on conversion. A
pixel whose ringba_call_uuid starts with TEST- (the curl's, the test fire's) is
a test: stored and answered, never matched, and it fires nothing.
"""

import json
import shlex
import subprocess
from decimal import Decimal

import pytest

from integrations.models import Call, Lead, PostbackDelivery, ScheduleLead
from integrations.partner_page.instructions import curl_example
from integrations.services import schedules
from integrations.services.calls import CallUpdate, record_call, update_call
from integrations.services.matching import reconcile_unmatched
from tests import factories
from tests.api.pixels import post_json

pytestmark = pytest.mark.django_db

SAMPLE_CALLER = "+18005551234"


def _curl_body(offer, source) -> dict:
    """The JSON body of the partner page's curl, read back the way a shell would."""
    words = shlex.split(curl_example(offer, source).command.replace("\\\n", " "))
    return json.loads(words[words.index("-d") + 1])


@pytest.mark.parametrize("call_first", [True, False], ids=["call-then-curl", "curl-then-call"])
def test_the_sample_curl_never_takes_a_real_call(client, ringba_setup, ringba_trigger, call_first):
    factories.MappingFactory(
        trigger=ringba_trigger, traffic_source=ringba_setup["source"], value="HOOK"
    )
    number = ringba_setup["number"].number
    body = _curl_body(ringba_setup["offer"], ringba_setup["source"])
    assert body["caller_id"] == SAMPLE_CALLER and body["ringba_call_uuid"].startswith("TEST-")
    if call_first:
        call, _ = record_call(number=number, caller_id=SAMPLE_CALLER)
        response = post_json(client, body)
    else:
        response = post_json(client, body)
        call, _ = record_call(number=number, caller_id=SAMPLE_CALLER)

    assert response.status_code == 201, response.content
    reconcile_unmatched(lookback_seconds=3600)
    update_call(
        call_uuid=call.call_uuid, update=CallUpdate(offer_converted=True, payout=Decimal("5"))
    )
    call = Call.objects.get(pk=call.pk)
    assert call.lead is None
    assert not PostbackDelivery.objects.filter(url__contains="TEST-CURL").exists()
    assert Lead.objects.get(ringba_call_uuid="TEST-CURL-0001").is_test
    assert response.json()["lead"]["test"] is True
    assert response.json()["lead"]["call_uuid"] is None
    assert any("test lead" in warning for warning in response.json()["warnings"])


def test_a_real_pixel_from_the_same_caller_still_attaches(client, ringba_setup, base_pixel):
    call, _ = record_call(number=ringba_setup["number"].number, caller_id=SAMPLE_CALLER)
    response = post_json(
        client, {**base_pixel, "caller_id": SAMPLE_CALLER, "ringba_call_uuid": "RGB-REAL"}
    )
    assert response.json()["lead"]["call_uuid"] == call.call_uuid
    assert response.json()["lead"]["test"] is False


def test_a_schedule_test_lead_is_never_handed_to_a_dialer(client, ringba_setup):
    schedule = factories.ScheduleFactory(
        offer=ringba_setup["offer"], traffic_sources=[ringba_setup["source"]]
    )
    response = post_json(
        client,
        {
            "lead_token": schedule.lead_token,
            "traffic_source_id": ringba_setup["source"].traffic_source_id,
            "caller_id": SAMPLE_CALLER,
            "ringba_call_uuid": "TEST-CURL-0001",
        },
    )
    assert response.status_code == 201, response.content
    assert ScheduleLead.objects.get().is_test
    assert schedules.claim_due(schedule=schedule, holder="dialer", limit=10) == []


@pytest.mark.parametrize("value", ["Men's health", "x'; touch pwned; echo '", '$(id) `id` \\ "q"'])
def test_the_curl_survives_values_a_shell_would_break_on(ringba_setup, tmp_path, value):
    """An apostrophe or a crafted value stays one argument, as typed (issue 25, item 8)."""
    offer = ringba_setup["offer"]
    factories.ContactFieldFactory(offer=offer, name="topic", required=True, acceptable_values=value)
    command = curl_example(offer, ringba_setup["source"]).command
    assert subprocess.run(["bash", "-n", "-c", command], check=False).returncode == 0
    # Run it as a shell would, with curl replaced by a function that prints its arguments.
    printed = subprocess.run(
        ["bash", "-c", 'curl() { printf "%s\\0" "$@"; }\n' + command],
        capture_output=True,
        check=True,
        cwd=tmp_path,
    ).stdout.decode()
    arguments = printed.split("\0")[:-1]
    body = json.loads(arguments[arguments.index("-d") + 1])
    assert body["topic"] == value
    assert list(tmp_path.iterdir()) == []  # nothing ran but the printing function
