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
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends
from django_tasks_db.backend import DatabaseBackend

from ...infra.db import leader
from ...services import adjustments, reconciliation, rollups, schedules, trigger_health
from ...services.deliveries import requeue_due_deliveries
from ...services.matching import reconcile_unmatched
from ...services.retention import prune
from ...worker.loop import ConcurrentWorker, run_through_outages
from ...worker.queue import Queues

logger = logging.getLogger("integrations.worker")


PRUNE_EVERY = 24 * 3600.0
# How often a sweeper looks for partners due a scheduled reconciliation with their
# Ringba (RECONCILE_EVERY_HOURS decides who is due); the run itself takes a thread.
RINGBA_RECONCILE_CHECK_EVERY = 600.0
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

    def __init__(self, *, background: bool = False):
        # Long work (a partner's reconciliation) in a thread of its own when sweeping
        # forever; inline for one sweep (``--batch``), which must finish it.
        self.background = background
        self.last_reconcile = None
        self.last_prune = None
        self.last_rollups: dict[timedelta, float] = {}
        self.last_ringba_check = None
        self.ringba_thread: threading.Thread | None = None

    def sweep_once(self) -> None:
        """Queue due deliveries; now and then attach pairs left apart, check trigger
        health (alerts, pauses) and work schedule leads; prune once a day."""
        queued = requeue_due_deliveries()
        if queued:
            logger.info("sweeper queued %s due delivery(ies)", queued)
        adjusting = adjustments.requeue_due_adjustments()
        if adjusting:
            logger.info("sweeper queued %s due Ringba adjustment(s)", adjusting)
        now = time.monotonic()
        if self.last_reconcile is None or now - self.last_reconcile >= RECONCILE_EVERY:
            self.last_reconcile = now
            reconcile_unmatched(lookback_seconds=settings.MATCH_RECONCILE_LOOKBACK_SECONDS)
            trigger_health.check()
            adjustments.settle_recent_payments()
            worked = schedules.sweep()  # expiry, exhaustion, schedule_lead_due
            if any(worked.values()):
                logger.info("schedule leads: %s", worked)
        self._refresh_rollups(now)
        self._reconcile_with_ringba(now)
        if self.last_prune is None or now - self.last_prune >= PRUNE_EVERY:
            self.last_prune = now
            with leader(PRUNE_LOCK) as leading:
                if leading:  # the others skip this day: one prune at a time, no deadlocks
                    prune()

    def _reconcile_with_ringba(self, now: float) -> None:
        """Start the partners' scheduled reconciliations in a thread of their own.

        A month of a busy partner takes most of a minute; the sweeper must keep
        queueing due retries meanwhile. One worker at a time (an advisory lock).
        """
        if self.ringba_thread is not None and self.ringba_thread.is_alive():
            return
        if self.last_ringba_check is not None and (
            now - self.last_ringba_check < RINGBA_RECONCILE_CHECK_EVERY
        ):
            return
        self.last_ringba_check = now
        if not reconciliation.partners_due():
            return

        def run():
            try:
                with leader(RINGBA_RECONCILE_LOCK) as leading:
                    if leading:
                        reconciliation.run_scheduled()
            except Exception:
                logger.exception("scheduled Ringba reconciliation failed")
            finally:
                if self.background:
                    close_old_connections()

        if not self.background:
            return run()
        self.ringba_thread = threading.Thread(target=run, name="ringba-reconcile", daemon=True)
        self.ringba_thread.start()

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
RINGBA_RECONCILE_LOCK = 4404


def sweep_once() -> None:
    """One sweep, pruning included (``run_worker --batch`` and tests)."""
    Sweeper().sweep_once()


def sweep_forever(interval: float, stop: threading.Event) -> None:
    """Sweep every ``interval`` seconds until ``stop`` is set."""
    sweeper = Sweeper(background=True)
    while not stop.is_set():
        try:
            close_old_connections()
            sweeper.sweep_once()
        except Exception:  # a database outage must not kill the sweeper; it retries
            logger.exception("sweeper pass failed; retrying in %s s", interval)
        stop.wait(interval)


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
            queues=Queues(backend_name=backend.alias),  # every queue of the backend
            threads=max(1, options["threads"]),
            interval=options["interval"],
            worker_id=options["worker_id"] or get_random_string(32),
            batch=options["batch"],
            startup_delay=not options["batch"],
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
