"""lead_captured triggers: token precedence and the lead's own transaction (SPEC §6.3, §6.5)."""

import pytest
from django.db import OperationalError

from integrations.models import Event, Lead, PostbackDelivery
from tests import factories
from tests.api.pixels import post_json

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead_trigger(ringba_setup):
    trigger = factories.TriggerFactory(
        event=Event.LEAD_CAPTURED,
        conditions=[],
        url_template="https://webhook.ringba.com/lead/[affiliate]?c=[caller_id]",
    )
    factories.MappingFactory(
        trigger=trigger,
        token_name="affiliate",
        traffic_source=ringba_setup["source"],
        value="from-mapping",
    )
    return trigger


def test_field_mappings_outrank_pixel_fields(client, base_pixel, lead_trigger):
    post_json(client, {**base_pixel, "affiliate": "from-pixel", "caller_id": "+13125550144"})
    [delivery] = PostbackDelivery.objects.filter(trigger=lead_trigger)
    assert delivery.url == "https://webhook.ringba.com/lead/from-mapping?c=%2B13125550144"


def test_a_failure_while_firing_stores_nothing_and_says_so(
    client, base_pixel, lead_trigger, monkeypatch
):
    def broken(**kwargs):
        raise OperationalError("connection lost")

    monkeypatch.setattr("integrations.services.firing.fire_lead_event", broken)
    response = post_json(client, {**base_pixel, "ringba_call_uuid": "RGB-ROLLBACK"})

    assert response.status_code == 503
    assert "nothing was stored" in response.json()["errors"][0]
    assert not Lead.objects.filter(ringba_call_uuid="RGB-ROLLBACK").exists()
