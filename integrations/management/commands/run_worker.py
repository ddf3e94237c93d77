"""Run everything a worker node needs: task processing and the sweeper.

The sweeper queues deliveries that are due but have no live task: retries whose
time has come, tasks lost with a killed worker or a restarted queue, and enqueues
refused at commit time. It also reconciles leads and calls that were left apart
(``services.matching.reconcile_unmatched``) and, once a day, deletes data past its
retention (``services.retention.prune``). Any number of workers may run on any
machines.
"""

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import InterfaceError, OperationalError, close_old_connections, connections
from django.utils.crypto import get_random_string
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends
from django_tasks_db.backend import DatabaseBackend

# django-tasks-db exposes its worker loop only through its management command's
# module; this is the one place that reaches into it. If a release renames it, only
# this import changes (the loop's behaviour is covered by tests/delivery/test_workers.py).
from django_tasks_db.management.commands.db_worker import Worker

from ...services.deliveries import requeue_due_deliveries
from ...services.matching import reconcile_unmatched
from ...services.retention import prune

logger = logging.getLogger("integrations.worker")


PRUNE_EVERY = 24 * 3600.0


class Sweeper:
    """What one sweep does; remembers when this process last pruned."""

    def __init__(self):
        self.last_prune = None

    def sweep_once(self) -> None:
        """Queue due deliveries, attach pairs left apart, and prune once a day."""
        queued = requeue_due_deliveries()
        if queued:
            logger.info("sweeper queued %s due delivery(ies)", queued)
        reconcile_unmatched(lookback_seconds=settings.MATCH_RECONCILE_LOOKBACK_SECONDS)
        now = time.monotonic()
        if self.last_prune is None or now - self.last_prune >= PRUNE_EVERY:
            self.last_prune = now
            prune()


def sweep_once() -> None:
    """One sweep, pruning included (``run_worker --batch`` and tests)."""
    Sweeper().sweep_once()


def sweep_forever(interval: float, stop: threading.Event) -> None:
    """Sweep every ``interval`` seconds until ``stop`` is set."""
    sweeper = Sweeper()
    while not stop.is_set():
        try:
            close_old_connections()
            sweeper.sweep_once()
        except Exception:  # a database outage must not kill the sweeper; it retries
            logger.exception("sweeper pass failed; retrying in %s s", interval)
        stop.wait(interval)


class ConcurrentWorker(Worker):
    """django-tasks-db's worker loop, running up to ``threads`` tasks at once.

    The loop claims a task (row lock, SKIP LOCKED on PostgreSQL) and hands it to a
    thread; it claims the next one at once, and waits only when every thread is
    busy, so at most one claimed task ever waits for a thread. Postbacks spend
    their time waiting on the network (250 ms is a realistic internet round trip),
    so threads, not processes, are what raise deliveries per second; the per-host
    bound (``host_slots``) keeps one slow partner from taking all of them.
    """

    def __init__(self, *, threads: int, **kwargs):
        super().__init__(**kwargs)
        self.threads = threads
        self._free = threading.BoundedSemaphore(threads)
        self._pool = None

    def run(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="postback")
        try:
            super().run()
        finally:
            # In-flight attempts end within POSTBACK_ATTEMPT_DEADLINE; let them record.
            self._pool.shutdown(wait=True)

    def run_task(self, db_task_result) -> None:
        self._free.acquire()
        self._pool.submit(self._run_then_free, db_task_result)

    def _run_then_free(self, db_task_result) -> None:
        try:
            Worker.run_task(self, db_task_result)
        except Exception:  # the task's own failure is recorded by run_task; this is ours
            logger.exception("task %s could not be run", db_task_result.pk)
        finally:
            close_old_connections()
            self._free.release()


OUTAGE_RETRY_SECONDS = 2.0


def run_through_outages(worker) -> None:
    """Run the task worker; when the database goes away, wait and carry on.

    django-tasks-db's loop re-raises database errors other than SQLite locks, which
    would end the process on a PostgreSQL restart. A claimed task whose process
    dies is not lost either way: its delivery stays due and the sweeper re-queues it.
    """
    while True:
        try:
            worker.run()
            return
        except (OperationalError, InterfaceError):
            logger.exception("database unavailable; retrying in %s s", OUTAGE_RETRY_SECONDS)
            connections.close_all()
            time.sleep(OUTAGE_RETRY_SECONDS)


class Command(BaseCommand):
    help = "Process postback tasks and sweep due deliveries (run one or more per machine)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--interval",
            type=float,
            default=0.25,
            help="Seconds between polls for new tasks when idle.",
        )
        parser.add_argument(
            "--sweep-interval", type=float, default=settings.POSTBACK_SWEEP_INTERVAL
        )
        parser.add_argument("--worker-id", default=None)
        parser.add_argument(
            "--threads",
            type=int,
            default=settings.POSTBACK_WORKER_THREADS,
            help="Postbacks sent at once (POSTBACK_WORKER_THREADS).",
        )
        parser.add_argument(
            "--batch", action="store_true", help="Sweep once, run every queued task, then exit."
        )

    def handle(self, *args, **options):
        logging.getLogger("integrations").setLevel(logging.INFO)
        stop = threading.Event()
        if options["batch"]:
            sweep_once()
        else:
            threading.Thread(
                target=sweep_forever,
                args=(options["sweep_interval"], stop),
                daemon=True,
                name="sweeper",
            ).start()
        backend = task_backends[DEFAULT_TASK_BACKEND_ALIAS]
        if not isinstance(backend, DatabaseBackend):
            # Another engine (e.g. RQ) runs its own workers; this node only sweeps.
            self.stdout.write(f"Task backend {type(backend).__name__}: running the sweeper only.")
            while not options["batch"]:
                time.sleep(3600)
            return
        worker = ConcurrentWorker(
            threads=max(1, options["threads"]),
            queue_names=["*"],
            interval=options["interval"],
            batch=options["batch"],
            backend_name=backend.alias,
            startup_delay=not options["batch"],
            max_tasks=None,
            worker_id=options["worker_id"] or get_random_string(32),
            excluded_queue_names=[],
        )
        self.stdout.write(
            f"Worker {worker.worker_id[:8]} processing postbacks with {worker.threads} "
            f"thread(s), at most {settings.POSTBACK_PER_HOST_CONCURRENCY} per host "
            f"(poll {options['interval']} s, sweep {options['sweep_interval']} s)"
        )
        try:
            if not options["batch"]:
                worker.configure_signals()
            run_through_outages(worker)
        finally:
            stop.set()
