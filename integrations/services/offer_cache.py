"""Read-through cache of what the capture hot path needs to know about an offer.

A pixel needs the offer, its enabled traffic sources and its contact-field rules;
reading them from the database on every pixel would cost three queries. They are
cached under a hash of the lead token for CAPTURE_OFFER_CACHE_SECONDS and deleted
whenever any of them changes (the receivers at the end of this module, connected in
``IntegrationsConfig.ready()``). With a per-process cache a change reaches other
processes within that TTL; a shared cache makes it instant.
"""

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.dispatch import receiver

from ..models import (
    ContactField,
    DuplicatePolicy,
    EventTrigger,
    Offer,
    Schedule,
    ScheduleContactField,
    TrafficSource,
)

_TRIGGER_EVENTS_KEY = "integrations:active-trigger-events"


@dataclass(frozen=True)
class ContactFieldRule:
    name: str
    field_type: str
    required: bool
    pattern: str
    acceptable_values: tuple[str, ...]


@dataclass(frozen=True)
class OfferConfig:
    offer_id: int
    name: str
    active: bool
    enforce_validations: bool
    duplicate_policy: str
    match_window_seconds: int
    contact_fields: tuple[ContactFieldRule, ...]
    # Public traffic_source_id -> (primary key, active) for sources enabled on the offer.
    sources: dict[int, tuple[int, bool]]
    # Set when the token is a Lead-to-Call schedule's (SPEC §12): the pixel becomes a
    # schedule lead for this schedule, which sells into ``offer_id``.
    schedule_id: int | None = None
    hours_to_expire: int = 0


def _key(lead_token: str) -> str:
    return "integrations:offer:" + hashlib.sha256(lead_token.encode()).hexdigest()[:40]


def get_offer_config(lead_token: str) -> OfferConfig | None:
    """Return the offer configuration for ``lead_token``, or None if no offer has it.

    A Lead-to-Call schedule's token gives its own configuration (contact fields,
    sources) with ``schedule_id`` set: the token tells offer from schedule.

    Unknown tokens are not cached: random guesses would otherwise fill the cache and
    evict real configurations and throttle counters. Looking one up is one indexed
    query, and guessing is throttled per client address (``api.throttles``).
    """
    key = _key(lead_token)
    cached = cache.get(key)
    if cached is not None:
        return cached
    config = _load(lead_token)
    if config is not None:
        cache.set(key, config, settings.CAPTURE_OFFER_CACHE_SECONDS)
    return config


def forget_offer(lead_token: str) -> None:
    """Drop the cached configuration for ``lead_token``."""
    cache.delete(_key(lead_token))


def _load(lead_token: str) -> OfferConfig | None:
    offer = (
        Offer.objects.filter(lead_token=lead_token)
        .prefetch_related("contact_fields", "traffic_sources")
        .first()
    )
    if offer is not None:
        return OfferConfig(
            offer_id=offer.pk,
            name=offer.name,
            active=offer.active,
            enforce_validations=offer.enforce_contact_field_validations,
            duplicate_policy=offer.duplicate_policy,
            match_window_seconds=offer.match_window_seconds,
            contact_fields=_rules(offer.contact_fields.all()),
            sources=_sources(offer.traffic_sources.all()),
        )
    schedule = (
        Schedule.objects.filter(lead_token=lead_token)
        .select_related("offer")
        .prefetch_related("contact_fields", "traffic_sources")
        .first()
    )
    if schedule is None:
        return None
    return OfferConfig(
        offer_id=schedule.offer_id,
        name=schedule.name,
        active=schedule.active and schedule.offer.active,
        enforce_validations=schedule.offer.enforce_contact_field_validations,
        duplicate_policy=DuplicatePolicy.ALLOW,  # repeats merge on ringba_call_uuid
        match_window_seconds=schedule.offer.match_window_seconds,
        contact_fields=_rules(schedule.contact_fields.all()),
        sources=_sources(schedule.traffic_sources.all()),
        schedule_id=schedule.pk,
        hours_to_expire=schedule.hours_to_expire,
    )


def _rules(fields) -> tuple[ContactFieldRule, ...]:
    return tuple(
        ContactFieldRule(
            name=field.name,
            field_type=field.field_type,
            required=field.required,
            pattern=field.pattern,
            acceptable_values=tuple(field.acceptable_values_list),
        )
        for field in fields
    )


def _sources(sources) -> dict[int, tuple[int, bool]]:
    return {source.traffic_source_id: (source.pk, source.active) for source in sources}


def active_trigger_events() -> frozenset[str]:
    """Return the events that have at least one active trigger (cached like offers)."""
    cached = cache.get(_TRIGGER_EVENTS_KEY)
    if cached is None:
        cached = frozenset(
            EventTrigger.objects.filter(active=True).values_list("event", flat=True).distinct()
        )
        cache.set(_TRIGGER_EVENTS_KEY, cached, settings.CAPTURE_OFFER_CACHE_SECONDS)
    return cached


def forget_trigger_events() -> None:
    cache.delete(_TRIGGER_EVENTS_KEY)


# --- Invalidation: drop cached entries when what they copy changes ---------------


def _forget_after_commit(*lead_tokens: str) -> None:
    # Forget now and again after commit, so no reader can re-cache pre-commit data.
    for token in lead_tokens:
        forget_offer(token)
        transaction.on_commit(lambda token=token: forget_offer(token))


@receiver([post_save, post_delete], sender=Offer, dispatch_uid="cache.offer")
def offer_changed(sender, instance, **kwargs):
    # A schedule's configuration copies its offer's state and validation switch.
    schedules = Schedule.objects.filter(offer_id=instance.pk).values_list("lead_token", flat=True)
    _forget_after_commit(instance.lead_token, *schedules)


@receiver([post_save, post_delete], sender=Schedule, dispatch_uid="cache.schedule")
def schedule_changed(sender, instance, **kwargs):
    _forget_after_commit(instance.lead_token)


@receiver(
    [post_save, post_delete], sender=ScheduleContactField, dispatch_uid="cache.schedule_field"
)
def schedule_contact_field_changed(sender, instance, **kwargs):
    lead_token = Schedule.objects.filter(pk=instance.schedule_id).values_list(
        "lead_token", flat=True
    )
    _forget_after_commit(*lead_token)


@receiver(
    m2m_changed, sender=Schedule.traffic_sources.through, dispatch_uid="cache.schedule_sources"
)
def schedule_sources_changed(sender, instance, action, pk_set, **kwargs):
    if isinstance(instance, Schedule):
        if action.startswith("post_"):
            _forget_after_commit(instance.lead_token)
    elif action == "pre_clear":
        _forget_after_commit(*_tokens_of_offers_with_source(instance.pk))
    elif action in ("post_add", "post_remove"):
        _forget_after_commit(
            *Schedule.objects.filter(pk__in=pk_set or []).values_list("lead_token", flat=True)
        )


@receiver([post_save, post_delete], sender=ContactField, dispatch_uid="cache.contact_field")
def contact_field_changed(sender, instance, **kwargs):
    lead_token = Offer.objects.filter(pk=instance.offer_id).values_list("lead_token", flat=True)
    _forget_after_commit(*lead_token)


def _tokens_of_offers_with_source(source_pk) -> list[str]:
    return [
        *Offer.objects.filter(traffic_sources=source_pk).values_list("lead_token", flat=True),
        *Schedule.objects.filter(traffic_sources=source_pk).values_list("lead_token", flat=True),
    ]


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
