"""Offer write paths that need more than a form save."""

import logging

from django.db import transaction
from django.utils import timezone

from ..models import Offer
from ..models.offers import generate_lead_token
from ..offer_cache import forget_offer

logger = logging.getLogger(__name__)


def rotate_lead_token(*, offer: Offer) -> Offer:
    """Give ``offer`` a new lead token; the old one and every shared partner link die.

    Partner links are signed over the token, so they stop verifying at once.
    """
    old_token = offer.lead_token
    with transaction.atomic():
        offer.lead_token = generate_lead_token()
        offer.lead_token_rotated_at = timezone.now()
        offer.save(update_fields=["lead_token", "lead_token_rotated_at", "updated_at"])
        transaction.on_commit(lambda: forget_offer(old_token))
    forget_offer(old_token)
    logger.info("rotated lead token of offer %s (was %s…)", offer.pk, old_token[:4])
    return offer
