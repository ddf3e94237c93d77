"""A partner's Ringba API token: stored encrypted, never read back except to send.

The admin's traffic source form writes it (write-only); ``adjustments`` decrypts
it for the one request that needs it. Changes are logged by who made them, never
with the token.
"""

from django.db import transaction

from ..infra.secrets_at_rest import encrypt
from ..models import PartnerRingbaToken, TrafficSource


def set_ringba_token(*, source: TrafficSource, token: str, who: str) -> PartnerRingbaToken:
    """Store ``token`` (stripped) for ``source``, replacing any earlier one."""
    token = token.strip()
    if not token:
        raise ValueError("the Ringba API token is empty")
    with transaction.atomic():
        stored, _ = PartnerRingbaToken.objects.update_or_create(
            traffic_source=source,
            defaults={"ciphertext": encrypt(token), "last_four": token[-4:], "set_by": who[:150]},
        )
    return stored


def clear_ringba_token(*, source: TrafficSource) -> bool:
    """Forget the partner's token; return whether there was one."""
    deleted, _ = PartnerRingbaToken.objects.filter(traffic_source=source).delete()
    return bool(deleted)
