"""factory-boy factories for every model; defaults make a working Ringba setup."""

import itertools
from datetime import time, timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from integrations import models

_phone_numbers = itertools.count(1000)


def next_phone() -> str:
    return f"+1800555{next(_phone_numbers) % 10000:04d}"


class TrafficSourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.TrafficSource

    name = factory.Sequence(lambda n: f"Ringba Partner {n}")
    company = "Partner LLC"


class OfferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Offer
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Offer {n}")
    payout = Decimal("12.50")
    min_duration_seconds = 90

    @factory.post_generation
    def traffic_sources(self, create, extracted, **kwargs):
        if create and extracted:
            self.traffic_sources.add(*extracted)


class ContactFieldFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ContactField

    offer = factory.SubFactory(OfferFactory)
    name = factory.Sequence(lambda n: f"field_{n}")


class NumberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Number
        skip_postgeneration_save = True

    number = factory.LazyFunction(next_phone)
    offer = factory.SubFactory(OfferFactory)
    traffic_source = factory.SubFactory(TrafficSourceFactory)

    @factory.post_generation
    def enable_source(self, create, extracted, **kwargs):
        if create:
            self.offer.traffic_sources.add(self.traffic_source)


class NumberTokenFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.NumberToken

    number = factory.SubFactory(NumberFactory)
    key = "ringba_webhook_token"
    value = "number-token"


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Lead

    offer = factory.SubFactory(OfferFactory)
    traffic_source = factory.SubFactory(TrafficSourceFactory)
    caller_id = "+13125550000"
    ringba_call_uuid = factory.Sequence(lambda n: f"RGB{n:08d}")
    tokens = factory.LazyAttribute(lambda lead: {"ringba_call_uuid": lead.ringba_call_uuid})


class CallFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Call

    number = factory.SubFactory(NumberFactory)
    offer = factory.LazyAttribute(lambda call: call.number.offer)
    traffic_source = factory.LazyAttribute(lambda call: call.number.traffic_source)
    caller_id = "+13125550000"


class ConvertedCallFactory(CallFactory):
    """A call converted for its traffic source: its conversion postback may be sent."""

    offer_converted = True
    payout = Decimal("10.00")


class TriggerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.EventTrigger

    name = factory.Sequence(lambda n: f"Trigger {n}")
    event = models.Event.CALL_OFFER_CONVERTED
    url_template = (
        "https://webhook.ringba.com/hook/[ringba_webhook_token]?call_id="
        "[ringba_call_uuid]&call_revenue=[payout]&sale_successful=true"
    )
    conditions = factory.LazyFunction(
        lambda: [{"token": "ringba_call_uuid", "operator": "is populated"}]
    )


class MappingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.CustomFieldMapping

    trigger = factory.SubFactory(TriggerFactory)
    token_name = "ringba_webhook_token"
    traffic_source = factory.SubFactory(TrafficSourceFactory)
    value = "mapping-token"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "password")

    @factory.post_generation
    def save_password(self, create, extracted, **kwargs):
        if create:
            self.save()


def account_manager(**kwargs):
    """Return a staff user in the "Account managers" group (not a superuser)."""
    user = UserFactory(is_staff=True, **kwargs)
    user.groups.add(Group.objects.get(name="Account managers"))
    return user


class ScheduleFactory(factory.django.DjangoModelFactory):
    """A Lead-to-Call schedule open around the clock (tests set a window when it matters)."""

    class Meta:
        model = models.Schedule
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Schedule {n}")
    offer = factory.SubFactory(OfferFactory)
    contact_days = "1234567"
    contact_start = time(0, 0)
    contact_end = time(23, 59, 59)
    time_zone = "UTC"

    @factory.post_generation
    def traffic_sources(self, create, extracted, **kwargs):
        if create and extracted:
            self.traffic_sources.add(*extracted)


class ScheduleLeadFactory(factory.django.DjangoModelFactory):
    """A queued schedule lead, due now, expiring in a day."""

    class Meta:
        model = models.ScheduleLead

    schedule = factory.SubFactory(ScheduleFactory)
    traffic_source = factory.SubFactory(TrafficSourceFactory)
    caller_id = factory.LazyFunction(next_phone)
    tokens = factory.LazyFunction(lambda: {"first_name": "Pat"})
    received_at = factory.LazyFunction(timezone.now)
    updated_at = factory.LazyFunction(timezone.now)
    next_attempt_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=24))


def record_paid(delivery, *, amount: str | None = None) -> "models.Payment":
    """Mark ``delivery`` delivered by a 200 attempt and record Ringba's payment for it.

    As the worker does (``services.payments.record_payment``), without a receiver;
    the amount is the URL's ``call_revenue`` unless given.
    """
    from integrations.devtools.reconciliation_showcase import record_paid as paid
    from integrations.rules.ringba import webhook_conversion

    url = delivery.url or f"https://webhook.ringba.com/hook/t?call_id=RGB&call_revenue={amount}"
    return paid(delivery, amount=amount or webhook_conversion(url)[1] or "0", url=url)
