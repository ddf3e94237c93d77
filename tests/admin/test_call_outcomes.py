"""The calls list: each call's postback outcome, a converted column, and the outcome filter."""

import pytest
from django.urls import reverse

from integrations.models import DeliveryStatus, PostbackDelivery
from integrations.services.calls import CallUpdate, update_call
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def calls(ringba_setup, ringba_trigger):
    factories.NumberTokenFactory(number=ringba_setup["number"], value="tok")
    made = {}
    for name, status in (
        ("delivered", DeliveryStatus.DELIVERED),
        ("failed", DeliveryStatus.FAILED),
    ):
        call = factories.CallFactory(
            number=ringba_setup["number"],
            lead=factories.LeadFactory(
                offer=ringba_setup["offer"],
                traffic_source=ringba_setup["source"],
                ringba_call_uuid=f"RGB-{name}",
            ),
        )
        update_call(call_uuid=call.call_uuid, update=CallUpdate(offer_converted=True))
        PostbackDelivery.objects.filter(call=call).update(status=status)
        made[name] = call
    made["none"] = factories.CallFactory(number=ringba_setup["number"])
    return made


@pytest.mark.parametrize(
    ("value", "expected"),
    [("delivered", {"delivered"}), ("failed", {"failed"}), ("none", {"none"})],
)
def test_the_outcome_filter(admin_client, calls, value, expected):
    response = admin_client.get(reverse("admin:integrations_call_changelist"), {"postback": value})
    shown = {call.pk for call in response.context["cl"].result_list}
    assert shown == {calls[name].pk for name in expected}


def test_the_outcome_badge_links_to_the_postback(
    admin_client, calls, django_assert_max_num_queries
):
    with django_assert_max_num_queries(20):
        html = admin_client.get(reverse("admin:integrations_call_changelist")).content.decode()
    delivery = PostbackDelivery.objects.get(call=calls["failed"])
    url = reverse("admin:integrations_postbackdelivery_change", args=[delivery.pk])
    assert f'<a class="outcome outcome-failed" href="{url}"' in html
    assert "offer 12.50" in html
