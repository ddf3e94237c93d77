"""Simultaneous conversions of one call emit one conversion and queue one postback.

The HTTP race test (tests/e2e) counts delivery rows, which a unique constraint
keeps at one whatever the code emits; this one counts what was emitted and
handed to the queue, from every competing connection.
"""

from decimal import Decimal

import pytest

from integrations.services.calls import CallUpdate, update_call
from tests import factories
from tests.races import run_rounds

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("postgres_only"),
]

ROUNDS = 15
COMPETITORS = 4


def test_simultaneous_conversions_of_one_call_emit_and_queue_once(
    ringba_setup, ringba_trigger, emitted
):
    factories.MappingFactory(
        trigger=ringba_trigger, traffic_source=ringba_setup["source"], value="HOOK"
    )
    calls = []
    for round_number in range(ROUNDS):
        lead = factories.LeadFactory(
            offer=ringba_setup["offer"],
            traffic_source=ringba_setup["source"],
            ringba_call_uuid=f"RGB-EMIT-{round_number}",
        )
        calls.append(factories.CallFactory(number=ringba_setup["number"], lead=lead))

    def convert(round_number):
        return update_call(
            call_uuid=calls[round_number].call_uuid,
            update=CallUpdate(offer_converted=True, payout=Decimal("12.50")),
        )

    results = run_rounds(ROUNDS, [convert] * COMPETITORS)

    assert not [r for round_ in results for r in round_ if isinstance(r, Exception)]
    assert [emitted.conversions(call) for call in calls] == [1] * ROUNDS
    assert len(emitted.due) == ROUNDS
