import pytest
from django.utils import timezone

from integrations.devtools.ringba_stand_in import Behaviour, RingbaReceiver
from integrations.models import DeliveryStatus, PostbackDelivery
from tests import factories


@pytest.fixture
def receiver(settings):
    """A real HTTP server on 127.0.0.1 standing in for webhook.ringba.com."""
    server = RingbaReceiver(behaviour=Behaviour()).start()
    settings.POSTBACK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.POSTBACK_ALLOW_PRIVATE_IPS = True
    settings.POSTBACK_READ_TIMEOUT = 1.0
    settings.POSTBACK_CONNECT_TIMEOUT = 1.0
    yield server
    server.stop()


@pytest.fixture
def make_delivery(db):
    def make(url: str) -> PostbackDelivery:
        call = factories.ConvertedCallFactory()
        trigger = factories.TriggerFactory.build(url_template=url)
        trigger.save()  # no full_clean: some tests point at hosts the allow-list refuses
        return PostbackDelivery.objects.create(
            trigger=trigger,
            call=call,
            event=trigger.event,
            url=url,
            status=DeliveryStatus.PENDING,
            next_attempt_at=timezone.now(),
        )

    return make


def make_due(delivery: PostbackDelivery) -> None:
    """Pretend the retry time has come (tests do not wait hours)."""
    PostbackDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())


def due_deliveries(base_url: str, count: int, prefix: str = "d"):
    """Create ``count`` due deliveries to ``base_url``, never queued; return their trigger.

    Nothing is queued on purpose: the workers' sweepers race to queue every one.
    """
    trigger = factories.TriggerFactory.build(url_template=f"{base_url}/hook/[x]")
    trigger.save()  # no full_clean: test receivers are on loopback
    now = timezone.now()
    for index in range(count):
        PostbackDelivery.objects.create(
            trigger=trigger,
            call=factories.ConvertedCallFactory(),
            event=trigger.event,
            url=f"{base_url}/hook/{prefix}{index}",
            status=DeliveryStatus.PENDING,
            next_attempt_at=now,
        )
    return trigger
