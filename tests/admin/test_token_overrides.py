"""Which numbers' extra tokens beat a trigger's field mappings (issue 26, point 4)."""

import pytest

from integrations.admin.token_overrides import overrides_for_number, overrides_for_trigger
from integrations.models import CustomFieldMapping
from tests import factories

pytestmark = pytest.mark.django_db


def test_only_a_numbers_token_for_a_mapped_source_overrides(
    ringba_trigger, django_assert_num_queries
):
    sources = [factories.TrafficSourceFactory() for _ in range(3)]
    for index, source in enumerate(sources):
        CustomFieldMapping.objects.create(
            trigger=ringba_trigger,
            token_name="ringba_webhook_token",
            traffic_source=source,
            value=f"mapped{index}",
        )
    winner = factories.NumberFactory(traffic_source=sources[0])
    factories.NumberTokenFactory(number=winner, key="ringba_webhook_token", value="own")
    other_key = factories.NumberFactory(traffic_source=sources[1])
    factories.NumberTokenFactory(number=other_key, key="something_else", value="x")
    unmapped = factories.NumberFactory()  # its source has no mapping
    factories.NumberTokenFactory(number=unmapped, key="ringba_webhook_token", value="y")

    with django_assert_num_queries(2):
        found = overrides_for_trigger(ringba_trigger)
    assert [(o.number, o.number_value, o.mapping_value) for o in found] == [
        (winner.number, "own", "mapped0")
    ]
    [from_number] = overrides_for_number(winner)
    assert from_number.trigger_name == ringba_trigger.name
    assert overrides_for_number(unmapped) == []
