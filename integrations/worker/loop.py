"""The task worker behind ``run_worker``: claims tasks in batches, runs many at once.

Built on django-tasks' and django-tasks-db's public API only (the model, its
queryset and methods, the task signals); no private class of the library is
subclassed, so a release cannot break it silently. A task is run the way the
library's own worker runs one (``run_task``: the ``task_started`` and
``task_finished`` signals, a ``TaskContext`` for tasks that take one, the result
or the error recorded on the row); tests/delivery/test_task_worker.py compares
both on the pinned versions.

Shutdown: the first SIGTERM/SIGINT stops claiming and lets the tasks in flight
finish (an attempt ends within POSTBACK_ATTEMPT_DEADLINE); a second one exits at
once. A task whose process dies is not lost: its delivery stays due and the
sweeper queues it again.
"""

import logging
import random
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from django.core.exceptions import SuspiciousOperation
from django.db import InterfaceError, OperationalError, close_old_connections, connections
from django_tasks import TaskContext
from django_tasks.base import TaskResultStatus
from django_tasks.signals import task_finished, task_started

from . import queue, wakeup

logger = logging.getLogger("integrations.worker")

# How often a sending thread lets Django check its database connection (a health
# check is one extra round trip; after every task it cost ~1 in 10 of them). A
# task that fails has its connection checked at once.
CONNECTION_CHECK_SECONDS = 5.0
# A claim waits this long for more threads to come free when only a few are, so
# that one claim transaction serves several tasks (at 100 postbacks/s a thread
# frees up every 10 ms).
GATHER_SECONDS = 0.02
GATHER_AT_LEAST = 8
# How long the claim loop waits for a free thread before looking at ``running``.
WAKE_SECONDS = 0.5
SHUTDOWN_SIGNALS = ("SIGINT", "SIGTERM", "SIGQUIT")


def run_task(db_task_result) -> None:
    """Run one claimed task and record its outcome on its row, as django-tasks-db does."""
    try:
        task = db_task_result.task
        task_result = db_task_result.task_result
        sender = type(task.get_backend())
        task_started.send(sender=sender, task_result=task_result)
        args, kwargs = task_result.args, task_result.kwargs
        if task.takes_context:
            args = [TaskContext(task_result=task_result), *args]
        value = task.call(*args, **kwargs)
        # Inside the try: a value that cannot be stored (not JSON) is recorded as the error.
        db_task_result.set_successful(value)
        task_finished.send(sender=sender, task_result=db_task_result.task_result)
    except BaseException as exc:
        db_task_result.set_failed(exc)
        try:
            sender = type(db_task_result.task.get_backend())
            task_result = db_task_result.task_result
        except (ImportError, SuspiciousOperation):  # the task's code is gone or not a task
            logger.exception("task %s failed and cannot be loaded", db_task_result.pk)
        else:
            task_finished.send(sender=sender, task_result=task_result)


class ConcurrentWorker:
    """Waits for free threads, claims that many ready tasks, hands each to a thread.

    Postbacks spend their time waiting on the network (250 ms is a realistic
    internet round trip), so threads, not processes, raise deliveries per second;
    the per-host bound (``host_slots``) keeps one slow partner from taking all of
    them. ``batch``: run until nothing is ready and no task is running, then return.
    """

    def __init__(
        self,
        *,
        queues: queue.Queues,
        threads: int,
        interval: float,
        worker_id: str,
        batch: bool = False,
        startup_delay: bool = False,
    ):
        self.queues = queues
        self.threads = threads
        self.interval = interval
        self.worker_id = worker_id
        self.batch = batch
        self.startup_delay = startup_delay
        self.running = True
        self._stopped = threading.Event()
        self._free = threading.BoundedSemaphore(threads)
        self._pool = None
        self._checked = threading.local()
        # Idle waits end when a task is queued (PostgreSQL NOTIFY), else after interval.
        self._waiter = wakeup.Waiter(self._stopped)

    # --- lifecycle -------------------------------------------------------------------
    def stop(self) -> None:
        """Claim nothing more; the tasks in flight finish and ``run`` returns."""
        self.running = False
        self._stopped.set()

    def configure_signals(self) -> None:
        for name in SHUTDOWN_SIGNALS:
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), self._on_signal)

    def _on_signal(self, signum, frame) -> None:
        if not self.running:
            logger.warning("%s again: exiting without waiting", signal.strsignal(signum))
            for name in SHUTDOWN_SIGNALS:
                if hasattr(signal, name):
                    signal.signal(getattr(signal, name), signal.SIG_DFL)
            sys.exit(1)
        logger.warning(
            "%s: finishing the tasks in flight, then exiting (again to force)",
            signal.strsignal(signum),
        )
        self.stop()

    def run(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="postback")
        try:
            self._claim_loop()
        finally:
            # In-flight attempts end within POSTBACK_ATTEMPT_DEADLINE; let them record.
            self._pool.shutdown(wait=True)
            self._waiter.close()

    # --- claiming ------------------------------------------------------------------
    def _claim_loop(self) -> None:
        logger.info("worker %s claiming tasks for %s thread(s)", self.worker_id[:8], self.threads)
        if self.startup_delay and self.interval:
            self._stopped.wait(random.random())  # spread workers started together
        while self.running:
            free = self._reserve_threads()
            if not free:
                continue  # stopping, or still waiting for a thread
            close_old_connections()
            try:
                claimed = queue.claim_batch(self.queues, limit=free, worker_id=self.worker_id)
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
            elif not claimed:
                self._waiter.wait(self.interval)

    def _reserve_threads(self) -> int:
        """Wait for a free thread, gather the others that are or soon become free.

        Returns 0 when stopping or after WAKE_SECONDS without a free thread.
        """
        if not self._free.acquire(timeout=WAKE_SECONDS):
            return 0
        if not self.running:
            self._free.release()
            return 0
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
        """Block until no task is running (``batch``: a task may queue another)."""
        for _ in range(self.threads):
            self._free.acquire()
        self._release(self.threads)

    # --- running -------------------------------------------------------------------
    def _run_then_free(self, db_task_result) -> None:
        try:
            run_task(db_task_result)
        except Exception:  # recording the outcome failed (database gone): the sweeper re-queues
            logger.exception("task %s could not be recorded", db_task_result.pk)
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


def run_through_outages(worker: ConcurrentWorker) -> None:
    """Run the worker; when the database goes away, wait and carry on.

    Without this a PostgreSQL restart would end the process. A claimed task whose
    process dies is not lost either way: its delivery stays due and the sweeper
    re-queues it.
    """
    while worker.running:
        try:
            worker.run()
            return
        except (OperationalError, InterfaceError):
            logger.exception("database unavailable; retrying in %s s", OUTAGE_RETRY_SECONDS)
            connections.close_all()
            time.sleep(OUTAGE_RETRY_SECONDS)
