"""Shared fixtures: a ready Ringba setup, API clients, and a local webhook receiver."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from integrations.rules.ringba import RINGBA_TEMPLATE_SLUG

from . import factories


@pytest.fixture(autouse=True)
def _clear_cache():
    # Offer configuration is cached; each test starts from what its database says.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def ringba_setup(db):
    """An offer with one enabled Ringba source and one number on both."""
    source = factories.TrafficSourceFactory()
    offer = factories.OfferFactory(traffic_sources=[source])
    number = factories.NumberFactory(offer=offer, traffic_source=source)
    return {"offer": offer, "source": source, "number": number}


@pytest.fixture
def ringba_template(db):
    from integrations.models import TriggerTemplate

    from .shipped_data import reinstall_shipped_rows

    template = TriggerTemplate.objects.filter(slug=RINGBA_TEMPLATE_SLUG).first()
    if template is None:  # an earlier transactional test flushed the shipped rows
        reinstall_shipped_rows()
        template = TriggerTemplate.objects.get(slug=RINGBA_TEMPLATE_SLUG)
    return template


@pytest.fixture
def ringba(settings):
    """The Ringba stand-in, answering as Ringba does: a second conversion is a 404.

    The webhook's base URL points at it and the outbound guard admits loopback.
    """
    from integrations.devtools.ringba_stand_in import Behaviour, RingbaReceiver

    server = RingbaReceiver(behaviour=Behaviour(one_conversion_per_call=True)).start()
    settings.RINGBA_WEBHOOK_BASE_URL = server.base_url
    settings.POSTBACK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.POSTBACK_ALLOW_PRIVATE_IPS = True
    yield server
    server.stop()


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def calls_client(db):
    """An API client authenticated as a user allowed to use the calls API."""
    from integrations.services.api_clients import create_client

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {create_client(name='Test dialer').key}")
    return client


@pytest.fixture(autouse=True)
def queued_tasks():
    """The tasks enqueued during a test (the dummy backend records instead of running)."""
    from django_tasks import default_task_backend

    default_task_backend.clear()
    yield default_task_backend.results
    default_task_backend.clear()


@pytest.fixture
def ringba_trigger(ringba_template):
    """A trigger created from the Ringba template, as "New From Template" makes it."""
    from integrations.services.triggers import create_trigger_from_template

    return create_trigger_from_template(template=ringba_template)


@pytest.fixture
def base_pixel(ringba_setup):
    """The minimum pixel for ``ringba_setup``'s offer and source, from +13125550101."""
    return {
        "lead_token": ringba_setup["offer"].lead_token,
        "traffic_source_id": ringba_setup["source"].traffic_source_id,
        "caller_id": "+13125550101",
    }


@pytest.fixture
def postgres_only():
    """Skip on SQLite: the test needs real concurrent connections or processes."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (real concurrent connections or processes)")


@pytest.fixture
def emitted():
    """What the code emitted, from any thread: call events and deliveries handed to the queue.

    "Fires once" is proved by counting these, not delivery rows: a unique constraint
    keeps the row count at one whatever the code emits. ``conversions(call)``
    counts a call's offer-conversion events. Deliveries are announced on commit:
    in a test inside a transaction, wrap the action in
    ``django_capture_on_commit_callbacks(execute=True)``.
    """
    import threading

    from integrations.infra import events
    from integrations.models import Event

    lock = threading.Lock()
    seen = {"events": [], "due": []}

    def on_call_event(sender, *, call, event, **kwargs):
        with lock:
            seen["events"].append((call.pk, event))

    def on_due(sender, *, delivery_id, **kwargs):
        with lock:
            seen["due"].append(delivery_id)

    events.call_event.connect(on_call_event, weak=False, dispatch_uid="tests.emitted.events")
    events.delivery_due.connect(on_due, weak=False, dispatch_uid="tests.emitted.due")

    class Emitted:
        due = seen["due"]
        events = seen["events"]

        @staticmethod
        def conversions(call) -> int:
            with lock:
                return seen["events"].count((call.pk, Event.CALL_OFFER_CONVERTED))

    yield Emitted
    events.call_event.disconnect(dispatch_uid="tests.emitted.events")
    events.delivery_due.disconnect(dispatch_uid="tests.emitted.due")
