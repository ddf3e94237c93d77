"""The per-host bound: a full healthy host is waited for briefly, a failing one never."""

import threading

import pytest

from integrations.outbound.host_slots import HOST_SLOTS, HostSlots


@pytest.fixture
def one_slot(settings):
    settings.POSTBACK_PER_HOST_CONCURRENCY = 1
    return HostSlots()


def test_a_slot_freed_while_waiting_goes_to_the_waiter(one_slot):
    assert one_slot.try_acquire("a:443")
    got = []
    waiter = threading.Thread(target=lambda: got.append(one_slot.try_acquire("a:443", wait=30)))
    waiter.start()
    one_slot.release("a:443", failed=False)
    waiter.join(30)
    assert got == [True] and one_slot.in_flight("a:443") == 1


def test_a_full_host_refuses_once_the_wait_is_over(one_slot):
    assert one_slot.try_acquire("a:443")
    assert one_slot.try_acquire("a:443", wait=0.01) is False
    assert one_slot.try_acquire("b:443")  # other hosts have their own slots
    assert one_slot.in_flight("a:443") == 1


def test_a_failing_host_is_not_waited_for(one_slot, settings):
    """A dead partner must not hold extra threads waiting for its slots."""
    assert one_slot.try_acquire("dead:443")
    one_slot.release("dead:443", failed=True)
    assert one_slot.try_acquire("dead:443")
    refused = []
    waiter = threading.Thread(
        target=lambda: refused.append(one_slot.try_acquire("dead:443", wait=3600))
    )
    waiter.start()
    waiter.join(30)
    assert not waiter.is_alive() and refused == [False]
    # Put back for a whole attempt deadline.
    assert one_slot.busy_delay("dead:443") >= settings.POSTBACK_ATTEMPT_DEADLINE


@pytest.mark.django_db
def test_a_routine_404_does_not_mark_the_host_failing(receiver, make_delivery):
    """Ringba answers 404 to a converted call id: the host is up (issue 25, item 15)."""
    from integrations.models import DestinationHealth
    from integrations.services.deliveries import attempt_delivery

    receiver.behaviour.status = 404
    delivery = make_delivery(f"{receiver.base_url}/hook/x?call_id=RGB-404")

    attempt_delivery(delivery_id=delivery.pk)

    assert not HOST_SLOTS._failing(f"127.0.0.1:{receiver.port}")
    assert HOST_SLOTS.busy_delay(f"127.0.0.1:{receiver.port}") < 2  # not a whole deadline
    assert not DestinationHealth.objects.filter(consecutive_failures__gt=0).exists()


@pytest.mark.django_db
def test_a_5xx_still_marks_the_host_failing(receiver, make_delivery):
    from integrations.models import DestinationHealth
    from integrations.services.deliveries import attempt_delivery

    receiver.behaviour.status = 503
    delivery = make_delivery(f"{receiver.base_url}/hook/x?call_id=RGB-503")

    attempt_delivery(delivery_id=delivery.pk)

    assert HOST_SLOTS._failing(f"127.0.0.1:{receiver.port}")
    assert DestinationHealth.objects.get().consecutive_failures == 1
