"""add_revenue / add_payout sent at once never lose an addition (PostgreSQL, real connections).

TrackDrive clients adjust amounts with add_revenue (a bonus, a refund); two arriving
together must both count. Each round converts a fresh call, then six requests add
to it at the same instant, one of them converting while the others add.
"""

from decimal import Decimal

import pytest

from integrations.models import Call
from integrations.rules.errors import Rejected
from integrations.services.calls import CallUpdate, update_call
from tests import factories
from tests.races import run_rounds

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.postgres,
    pytest.mark.usefixtures("postgres_only"),
]

ROUNDS = 20
ADDERS = 5


def test_simultaneous_additions_all_count_and_none_lands_before_the_conversion(ringba_setup):
    calls = [factories.CallFactory(number=ringba_setup["number"]) for _ in range(ROUNDS)]

    def convert(round_number):
        update_call(
            call_uuid=calls[round_number].call_uuid,
            update=CallUpdate(buyer_converted=True, revenue=Decimal("10.00")),
        )
        return "converted"

    def add(round_number):
        try:
            update_call(
                call_uuid=calls[round_number].call_uuid,
                update=CallUpdate(add_revenue=Decimal("1.25")),
            )
        except Rejected as exc:
            return exc.errors[0].split(":")[0]  # "add_revenue": arrived before converting
        return "added"

    rounds = run_rounds(ROUNDS, [convert] + [add] * ADDERS)

    for call, results in zip(calls, rounds, strict=True):
        assert results[0] == "converted", results
        added = results.count("added")
        assert added + results.count("add_revenue") == ADDERS, results
        call = Call.objects.get(pk=call.pk)
        assert call.revenue == Decimal("10.00") + Decimal("1.25") * added, (results, call.revenue)
        assert call.version == 2 + added  # created, converted, one write per addition
    # The race was real: in some round an addition lost to the conversion, in some it won.
    assert any("added" in results for results in rounds)
