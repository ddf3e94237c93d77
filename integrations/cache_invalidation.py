"""Keep ``offer_cache`` honest: drop cached entries when what they copy changes."""

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.dispatch import receiver

from .models import ContactField, EventTrigger, Offer, TrafficSource
from .offer_cache import forget_offer, forget_trigger_events


def _forget_after_commit(*lead_tokens: str) -> None:
    # Forget now and again after commit, so no reader can re-cache pre-commit data.
    for token in lead_tokens:
        forget_offer(token)
        transaction.on_commit(lambda token=token: forget_offer(token))


@receiver([post_save, post_delete], sender=Offer, dispatch_uid="cache.offer")
def offer_changed(sender, instance, **kwargs):
    _forget_after_commit(instance.lead_token)


@receiver([post_save, post_delete], sender=ContactField, dispatch_uid="cache.contact_field")
def contact_field_changed(sender, instance, **kwargs):
    lead_token = Offer.objects.filter(pk=instance.offer_id).values_list("lead_token", flat=True)
    _forget_after_commit(*lead_token)


def _tokens_of_offers_with_source(source_pk) -> list[str]:
    return list(
        Offer.objects.filter(traffic_sources=source_pk).values_list("lead_token", flat=True)
    )


# pre_delete: once the source is gone, so are its offer links, and with them the
# only way to know which cached offers named it.
@receiver([post_save, pre_delete], sender=TrafficSource, dispatch_uid="cache.traffic_source")
def traffic_source_changed(sender, instance, **kwargs):
    _forget_after_commit(*_tokens_of_offers_with_source(instance.pk))


@receiver(m2m_changed, sender=Offer.traffic_sources.through, dispatch_uid="cache.offer_sources")
def offer_sources_changed(sender, instance, action, pk_set, **kwargs):
    if isinstance(instance, Offer):
        if action.startswith("post_"):
            _forget_after_commit(instance.lead_token)
        return
    # Changed from the traffic source's side. A clear() carries no pk_set, so the
    # offers are read before the links go.
    if action == "pre_clear":
        _forget_after_commit(*_tokens_of_offers_with_source(instance.pk))
    elif action in ("post_add", "post_remove"):
        _forget_after_commit(
            *Offer.objects.filter(pk__in=pk_set or []).values_list("lead_token", flat=True)
        )


@receiver([post_save, post_delete], sender=EventTrigger, dispatch_uid="cache.triggers")
def trigger_changed(sender, instance, **kwargs):
    forget_trigger_events()
    transaction.on_commit(forget_trigger_events)
