"""Turn a trigger's Standard Webhooks signing on, rotate its secret, finish, or stop.

Rotation keeps the old secret signing beside the new one (two signatures per
request) until the account manager finishes it, once the receiver has the new one.
Each change is one UPDATE under the trigger's row lock, so two people rotating at
once cannot lose a secret the receiver was given.
"""

from django.db import transaction

from ..models import EventTrigger
from ..signing import new_secret


def rotate(trigger_id: int) -> EventTrigger:
    """Start signing, or start a rotation: the current secret becomes the previous one."""
    with transaction.atomic():
        trigger = EventTrigger.objects.select_for_update().get(pk=trigger_id)
        trigger.previous_signing_secret = trigger.signing_secret
        trigger.signing_secret = new_secret()
        trigger.save(update_fields=["signing_secret", "previous_signing_secret", "updated_at"])
    return trigger


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
