"""Idempotency by ringba_call_uuid and the offer's duplicate policies (SPEC §4.5)."""

import pytest

from integrations.models import DuplicatePolicy, Lead
from tests import factories

from .pixels import post_json

pytestmark = pytest.mark.django_db


@pytest.fixture
def pixel(base_pixel):
    return base_pixel


def test_repeat_pixel_with_same_uuid_merges_into_one_lead(client, pixel):
    first = post_json(client, {**pixel, "ringba_call_uuid": "RGB1", "first_name": "Ann"})
    second = post_json(
        client, {**pixel, "ringba_call_uuid": "RGB1", "last_name": "Lee", "first_name": "Anne"}
    )
    assert first.status_code == 201 and first.json()["status"] == "accepted"
    assert second.status_code == 200 and second.json()["status"] == "duplicate"
    assert second.json()["lead"]["id"] == first.json()["lead"]["id"]
    lead = Lead.objects.get()
    assert lead.tokens == {"ringba_call_uuid": "RGB1", "first_name": "Anne", "last_name": "Lee"}
    assert lead.updated_at >= lead.received_at


def test_same_uuid_on_another_offer_is_another_lead(client, pixel, ringba_setup):
    other = factories.OfferFactory(traffic_sources=[ringba_setup["source"]])
    post_json(client, {**pixel, "ringba_call_uuid": "RGB1"})
    response = post_json(
        client, {**pixel, "ringba_call_uuid": "RGB1", "lead_token": other.lead_token}
    )
    assert response.status_code == 201
    assert Lead.objects.count() == 2


def _set_policy(offer, policy):
    offer.duplicate_policy = policy
    offer.save()


def test_allow_policy_stores_a_new_lead_for_the_same_caller(client, pixel, ringba_setup):
    _set_policy(ringba_setup["offer"], DuplicatePolicy.ALLOW)
    assert post_json(client, pixel).status_code == 201
    assert post_json(client, pixel).status_code == 201
    assert Lead.objects.count() == 2


def test_update_policy_merges_into_the_newest_lead(client, pixel, ringba_setup):
    _set_policy(ringba_setup["offer"], DuplicatePolicy.UPDATE)
    first = post_json(client, {**pixel, "first_name": "Ann"})
    second = post_json(client, {**pixel, "zip": "60601"})
    assert second.status_code == 200 and second.json()["status"] == "duplicate"
    assert second.json()["lead"]["id"] == first.json()["lead"]["id"]
    assert Lead.objects.get().tokens == {"first_name": "Ann", "zip": "60601"}


def test_reject_policy_answers_409_and_stores_nothing(client, pixel, ringba_setup):
    _set_policy(ringba_setup["offer"], DuplicatePolicy.REJECT)
    assert post_json(client, pixel).status_code == 201
    response = post_json(client, pixel)
    assert response.status_code == 409
    assert response.json()["errors"][0].startswith(
        "caller_id: +13125550101 already sent a lead to this offer within the last 24 h"
    )
    assert Lead.objects.count() == 1


def test_policies_only_look_inside_the_match_window(client, pixel, ringba_setup):
    from datetime import timedelta

    from django.utils import timezone

    _set_policy(ringba_setup["offer"], DuplicatePolicy.REJECT)
    post_json(client, pixel)
    Lead.objects.update(received_at=timezone.now() - timedelta(days=2))
    assert post_json(client, pixel).status_code == 201


def test_a_different_caller_is_never_a_duplicate(client, pixel, ringba_setup):
    _set_policy(ringba_setup["offer"], DuplicatePolicy.REJECT)
    post_json(client, pixel)
    assert post_json(client, {**pixel, "caller_id": "+13125550102"}).status_code == 201
