"""A pixel that arrives after its call attaches to it (the lead side of SPEC §4.4)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.models import Call
from tests import factories

from .pixels import post_json

pytestmark = pytest.mark.django_db


@pytest.fixture
def pixel(base_pixel):
    return {**base_pixel, "ringba_call_uuid": "RGB-M1", "first_name": "Ann"}


def test_pixel_attaches_to_the_newest_unattached_call_of_the_caller(client, pixel, ringba_setup):
    number = ringba_setup["number"]
    older = factories.CallFactory(
        number=number, caller_id="+13125550101", started_at=timezone.now() - timedelta(minutes=10)
    )
    newer = factories.CallFactory(number=number, caller_id="+13125550101")
    factories.CallFactory(number=number, caller_id="+13125559999")  # another caller

    response = post_json(client, pixel)

    assert response.json()["lead"]["call_uuid"] == newer.call_uuid
    newer.refresh_from_db()
    older.refresh_from_db()
    assert newer.lead.ringba_call_uuid == "RGB-M1" and older.lead is None


def test_pixel_does_not_attach_outside_the_match_window(client, pixel, ringba_setup):
    factories.CallFactory(
        number=ringba_setup["number"],
        caller_id="+13125550101",
        started_at=timezone.now() - timedelta(days=2),
    )
    assert post_json(client, pixel).json()["lead"]["call_uuid"] is None


def test_pixel_does_not_take_a_call_that_already_has_a_lead(client, pixel, ringba_setup):
    lead = factories.LeadFactory(
        offer=ringba_setup["offer"], traffic_source=ringba_setup["source"], caller_id="+13125550101"
    )
    factories.CallFactory(number=ringba_setup["number"], caller_id="+13125550101", lead=lead)
    assert post_json(client, pixel).json()["lead"]["call_uuid"] is None


def test_pixel_does_not_attach_to_another_offers_call(client, pixel, ringba_setup):
    other_number = factories.NumberFactory(traffic_source=ringba_setup["source"])
    factories.CallFactory(number=other_number, caller_id="+13125550101")
    assert post_json(client, pixel).json()["lead"]["call_uuid"] is None
    assert Call.objects.filter(lead__isnull=False).count() == 0
