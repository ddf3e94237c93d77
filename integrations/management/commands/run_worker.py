"""Run everything a worker node needs: task processing and the sweeper.

The sweeper queues deliveries that are due but have no live task: retries whose
time has come, tasks lost with a killed worker or a restarted queue, and enqueues
refused at commit time. It also reconciles leads and calls that were left apart
(``services.matching.reconcile_unmatched``), checks trigger health (alerts and
pauses, ``services.trigger_health``) and, once a day, deletes data past its
retention (``services.retention.prune``). Any number of workers may run on any
machines.
"""

import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import InterfaceError, OperationalError, close_old_connections, connections
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends
from django_tasks.base import TaskResultStatus
from django_tasks_db.backend import DatabaseBackend

# django-tasks-db exposes its task runner only through its management command's
# module; this is the one place that reaches into it. If a release renames it, only
# this import changes (the loop's behaviour is covered by tests/delivery/test_workers.py
# and test_concurrent_workers.py).
from django_tasks_db.management.commands.db_worker import Worker

from ... import task_queue
from ...db import leader
from ...services import rollups, schedules, trigger_health
from ...services.deliveries import requeue_due_deliveries
from ...services.matching import reconcile_unmatched
from ...services.retention import prune

logger = logging.getLogger("integrations.worker")


PRUNE_EVERY = 24 * 3600.0
# Pairs left apart are rare (a lost race, a crash between commits); looking for
# them every few seconds would cost the sending threads that share this process.
RECONCILE_EVERY = 10.0
# Dashboard rollups (services.rollups): (window recounted, every so many seconds).
ROLLUP_WINDOWS = (
    (timedelta(hours=2), 60.0),
    (timedelta(hours=48), 15 * 60.0),
    (timedelta(days=7), 24 * 3600.0),
)


class Sweeper:
    """What one sweep does; remembers when this process last reconciled and pruned."""

    def __init__(self):
        self.last_reconcile = None
        self.last_prune = None
        self.last_rollups: dict[timedelta, float] = {}

    def sweep_once(self) -> None:
        """Queue due deliveries; now and then attach pairs left apart, check trigger
        health (alerts, pauses) and work schedule leads; prune once a day."""
        queued = requeue_due_deliveries()
        if queued:
            logger.info("sweeper queued %s due delivery(ies)", queued)
        now = time.monotonic()
        if self.last_reconcile is None or now - self.last_reconcile >= RECONCILE_EVERY:
            self.last_reconcile = now
            reconcile_unmatched(lookback_seconds=settings.MATCH_RECONCILE_LOOKBACK_SECONDS)
            trigger_health.check()
            worked = schedules.sweep()  # expiry, exhaustion, schedule_lead_due
            if any(worked.values()):
                logger.info("schedule leads: %s", worked)
        self._refresh_rollups(now)
        if self.last_prune is None or now - self.last_prune >= PRUNE_EVERY:
            self.last_prune = now
            with leader(PRUNE_LOCK) as leading:
                if leading:  # the others skip this day: one prune at a time, no deadlocks
                    prune()

    def _refresh_rollups(self, now: float) -> None:
        """Recount the dashboard's recent hours; wider windows less often."""
        for window, every in ROLLUP_WINDOWS:
            last = self.last_rollups.get(window)
            if last is None or now - last >= every:
                self.last_rollups[window] = now
                moment = timezone.now()
                rollups.refresh(moment - window, moment + timedelta(hours=1))


# Session advisory lock held by the one worker that prunes (any number may run).
PRUNE_LOCK = 4403


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


# How often a sending thread lets Django check its database connection (a health
# check is one extra round trip; after every task it cost ~1 in 10 of them). A
# task that fails has its connection checked at once.
CONNECTION_CHECK_SECONDS = 5.0
# A claim waits this long for more threads to come free when only a few are, so
# that one claim transaction serves several tasks (at 100 postbacks/s a thread
# frees up every 10 ms).
GATHER_SECONDS = 0.02
GATHER_AT_LEAST = 8


class ConcurrentWorker(Worker):
    """django-tasks-db's worker, claiming tasks in batches and running many at once.

    The loop waits for free threads, then claims as many ready tasks as there are
    free threads at once (``task_queue.claim_batch``: one statement on
    PostgreSQL), and hands each to a thread. Postbacks spend their time waiting on
    the network (250 ms is a realistic internet round trip), so threads, not
    processes, raise deliveries per second; the per-host bound (``host_slots``)
    keeps one slow partner from taking all of them.
    """

    def __init__(self, *, threads: int, **kwargs):
        super().__init__(**kwargs)
        self.threads = threads
        self._free = threading.BoundedSemaphore(threads)
        self._pool = None
        self._checked = threading.local()
        self.queues = task_queue.Queues(
            backend_name=self.backend_name,
            include=() if self.process_all_queues else tuple(self.queue_names),
            exclude=tuple(self.excluded_queue_names),
        )

    def run(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="postback")
        try:
            self._claim_loop()
        finally:
            # In-flight attempts end within POSTBACK_ATTEMPT_DEADLINE; let them record.
            self._pool.shutdown(wait=True)

    def _claim_loop(self) -> None:
        logger.info("worker %s claiming tasks for %s thread(s)", self.worker_id[:8], self.threads)
        if self.startup_delay and self.interval:
            time.sleep(random.random())  # spread workers started together
        while self.running:
            free = self._reserve_threads()
            close_old_connections()
            try:
                claimed = task_queue.claim_batch(self.queues, limit=free, worker_id=self.worker_id)
            except BaseException:
                self._release(free)
                raise
            self._release(free - len(claimed))
            for db_task_result in claimed:
                self._pool.submit(self._run_then_free, db_task_result)
            if self.batch and not claimed:
                self._wait_for_idle_threads()
                if not self.queues.ready().exists():
                    return
            elif self.running and not claimed:
                time.sleep(self.interval)

    def _reserve_threads(self) -> int:
        """Wait for a free thread, gather the others that are or soon become free."""
        self._free.acquire()
        taken = 1 + self._take_free(self.threads - 1)
        if taken < min(GATHER_AT_LEAST, self.threads):
            time.sleep(GATHER_SECONDS)
            taken += self._take_free(self.threads - taken)
        return taken

    def _take_free(self, most: int) -> int:
        taken = 0
        while taken < most and self._free.acquire(blocking=False):
            taken += 1
        return taken

    def _release(self, count: int) -> None:
        for _ in range(count):
            self._free.release()

    def _wait_for_idle_threads(self) -> None:
        """Block until no task is running (``--batch``: a task may queue another)."""
        for _ in range(self.threads):
            self._free.acquire()
        self._release(self.threads)

    def _run_then_free(self, db_task_result) -> None:
        try:
            Worker.run_task(self, db_task_result)
        except Exception:  # the task's own failure is recorded by run_task; this is ours
            logger.exception("task %s could not be run", db_task_result.pk)
        finally:
            if db_task_result.status != TaskResultStatus.SUCCESSFUL:
                self._checked.at = None  # maybe a broken connection: check it now
            self._check_connection_now_and_then()
            self._free.release()

    def _check_connection_now_and_then(self) -> None:
        now = time.monotonic()
        last = getattr(self._checked, "at", None)
        if last is None or now - last >= CONNECTION_CHECK_SECONDS:
            close_old_connections()
            self._checked.at = now


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
