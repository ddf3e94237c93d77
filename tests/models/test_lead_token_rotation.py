import pytest

from integrations.services.offer_cache import get_offer_config
from integrations.services.offers import rotate_lead_token
from tests import factories

pytestmark = pytest.mark.django_db


def test_new_offers_get_distinct_random_lead_tokens():
    tokens = {factories.OfferFactory().lead_token for _ in range(5)}
    assert len(tokens) == 5
    assert all(len(token) == 32 for token in tokens)


def test_rotation_replaces_the_token_and_forgets_the_cached_old_one(ringba_setup):
    offer = ringba_setup["offer"]
    old = offer.lead_token
    assert get_offer_config(old).offer_id == offer.pk  # now cached

    rotate_lead_token(offer)

    offer.refresh_from_db()
    assert offer.lead_token != old
    assert offer.lead_token_rotated_at is not None
    assert get_offer_config(old) is None
    assert get_offer_config(offer.lead_token).offer_id == offer.pk
