"""A queued task wakes an idle worker at once (PostgreSQL NOTIFY); SQLite keeps polling."""

import threading

import pytest
from django.db import connection
from django_tasks_db.backend import DatabaseBackend

from integrations.tasks import wake_idle_workers
from integrations.worker.wakeup import Waiter

needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="LISTEN/NOTIFY is PostgreSQL's"
)


@needs_postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_enqueue_ends_an_idle_wait():
    waiter = Waiter(threading.Event())
    try:
        assert waiter._listen() is not None  # listening before the task is queued
        wake_idle_workers(sender=DatabaseBackend)  # what django-tasks-db's enqueue sends
        waiter.wait(timeout=30)
        assert waiter.woken == 1  # ended by the notification, not the timeout
        waiter.wait(timeout=0.05)
        assert waiter.woken == 1  # nothing more was announced
    finally:
        waiter.close()


@needs_postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_other_backends_announce_nothing():
    waiter = Waiter(threading.Event())
    try:
        waiter._listen()
        wake_idle_workers(sender=object)  # e.g. the dummy backend in tests
        waiter.wait(timeout=0.05)
        assert waiter.woken == 0
    finally:
        waiter.close()


@needs_postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_lost_listener_falls_back_to_polling():
    stopped = threading.Event()
    waiter = Waiter(stopped)
    waiter._listen().close()  # the server closed it
    stopped.set()
    waiter.wait(timeout=30)  # returns at once through the stop event, no exception
    assert waiter._listener is None


@pytest.mark.django_db
def test_sqlite_waits_on_the_stop_event(settings):
    if connection.vendor == "postgresql":
        pytest.skip("SQLite's fallback")
    stopped = threading.Event()
    stopped.set()
    waiter = Waiter(stopped)
    waiter.wait(timeout=30)  # returns at once: stopping
    assert waiter.woken == 0 and waiter._listener is None
