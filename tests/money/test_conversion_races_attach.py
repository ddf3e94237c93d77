"""A conversion that holds the call while a pixel attaches still pays (SPEC §14).

The interleaving: the calls API converts call C and holds its row lock; the
Ringba trigger is skipped because C has no lead yet. A pixel for C's caller
reads C as unconverted and its attach waits on that lock. When the conversion
commits, the attach goes through and must announce the conversion, so the
skipped postback is re-planned with the lead's ringba_call_uuid.
"""

from decimal import Decimal

import pytest
from django.test import Client

from integrations.models import Call, DeliveryStatus, PostbackDelivery
from integrations.services.calls import CallUpdate, record_call, update_call
from tests import factories
from tests.api.pixels import post_json

from .interleave import hold_open

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.postgres,
    pytest.mark.usefixtures("postgres_only"),
]

CALLER = "+13125550177"
ROUNDS = 3


def _convert(call_uuid):
    return lambda: update_call(
        call_uuid=call_uuid, update=CallUpdate(offer_converted=True, payout=Decimal("12.50"))
    )


@pytest.mark.parametrize("lead_triggers", [False, True], ids=["one-statement", "orm-path"])
def test_a_pixel_attaching_behind_a_conversion_announces_it(
    ringba_setup, ringba_trigger, base_pixel, lead_triggers
):
    factories.MappingFactory(
        trigger=ringba_trigger, traffic_source=ringba_setup["source"], value="HOOK"
    )
    if lead_triggers:
        # A lead_captured trigger moves capture off the one-statement path onto
        # matching.match_lead, which has the same wait to survive.
        factories.TriggerFactory(
            event="lead_captured", url_template="https://webhook.ringba.com/hook/x"
        )
    for round_number in range(ROUNDS):
        caller = f"+1312555{round_number:04d}"
        call, _ = record_call(number=ringba_setup["number"].number, caller_id=caller)
        thread, outcome = hold_open(_convert(call.call_uuid))

        response = post_json(
            Client(),
            {**base_pixel, "caller_id": caller, "ringba_call_uuid": f"RGB-W{round_number}"},
        )
        thread.join(timeout=20)

        assert "error" not in outcome, outcome
        assert outcome["waited"], "the pixel never waited on the conversion's lock"
        assert response.status_code == 201, response.content
        call = Call.objects.get(pk=call.pk)
        assert call.lead is not None and call.offer_converted
        [delivery] = PostbackDelivery.objects.filter(call=call, trigger=ringba_trigger)
        assert delivery.status == DeliveryStatus.PENDING, delivery.skip_reason
        assert f"call_id=RGB-W{round_number}&call_revenue=12.50" in delivery.url
