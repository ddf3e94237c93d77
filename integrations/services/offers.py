"""Offer write paths that need more than a form save."""

import logging

from django.db import transaction
from django.utils import timezone

from ..models.offers import LeadTokenOwner, generate_lead_token
from .offer_cache import forget_offer

logger = logging.getLogger(__name__)


def rotate_lead_token(owner: LeadTokenOwner) -> LeadTokenOwner:
    """Give an offer or schedule a new lead token; the old one and every shared partner
    link die.

    Partner links are signed over the token, so they stop verifying at once.
    """
    old_token = owner.lead_token
    with transaction.atomic():
        owner.lead_token = generate_lead_token()
        owner.lead_token_rotated_at = timezone.now()
        owner.save(update_fields=["lead_token", "lead_token_rotated_at", "updated_at"])
        transaction.on_commit(lambda: forget_offer(old_token))
    forget_offer(old_token)
    logger.info(
        "rotated lead token of %s %s (was %s…)", owner._meta.model_name, owner.pk, old_token[:4]
    )
    return owner
