"""Turn a trigger's Standard Webhooks signing on, rotate its secret, finish, or stop.

Rotation keeps the old secret signing beside the new one (two signatures per
request) until the account manager finishes it, once the receiver has the new one.
Secrets are stored encrypted; a new one is returned in clear once, to be shown.
Each change is one UPDATE under the trigger's row lock, so two people rotating at
once cannot lose a secret the receiver was given.
"""

from dataclasses import dataclass

from django.db import transaction

from ..infra.secrets_at_rest import encrypt
from ..models import EventTrigger
from ..outbound.signing import new_secret


@dataclass(frozen=True)
class Rotated:
    """A rotation made: the trigger, and its new secret in clear (shown once, then never)."""

    trigger: EventTrigger
    new_secret: str


def rotate(trigger_id: int) -> Rotated:
    """Start signing, or start a rotation: the current secret becomes the previous one.

    A second rotation before the first is finished replaces only the new secret:
    the previous one is the secret the receiver holds, and dropping it would make
    every webhook fail verification until the receiver caught up.
    """
    secret = new_secret()
    with transaction.atomic():
        trigger = EventTrigger.objects.select_for_update().get(pk=trigger_id)
        if not trigger.previous_signing_secret:
            trigger.previous_signing_secret = trigger.signing_secret
        trigger.signing_secret = encrypt(secret)
        trigger.save(update_fields=["signing_secret", "previous_signing_secret", "updated_at"])
    return Rotated(trigger, secret)


def finish_rotation(trigger_id: int) -> bool:
    """Stop signing with the previous secret; False when there was none."""
    return bool(
        EventTrigger.objects.filter(pk=trigger_id)
        .exclude(previous_signing_secret="")
        .update(previous_signing_secret="")
    )


def stop(trigger_id: int) -> bool:
    """Send unsigned from now on; False when the trigger did not sign."""
    return bool(
        EventTrigger.objects.filter(pk=trigger_id)
        .exclude(signing_secret="", previous_signing_secret="")
        .update(signing_secret="", previous_signing_secret="")
    )
