"""Wake an idle worker the moment a task is queued (PostgreSQL LISTEN/NOTIFY).

An idle worker polls the task table every ``--interval`` (0.25 s). That is fine for
a conversion's postback, but Ringba's Enrich Call Data must reach Ringba before the
call does (it attaches to the caller's *next* call): a quarter of a second of
polling alone was the p99 of call start → enrichment (bench/README.md). So every
enqueue also sends ``NOTIFY`` on one channel (committed with the enqueue, so a
worker never wakes before the row is visible), and an idle worker waits on that
channel instead of sleeping, still at most ``interval``: a lost notification
costs one poll, never a task.

SQLite, or a PostgreSQL the listener cannot reach, falls back to the plain wait.
"""

import logging
import threading

from django.db import DEFAULT_DB_ALIAS, connections

logger = logging.getLogger("integrations.worker")

CHANNEL = "portal_tasks_ready"


def announce_ready(using: str = DEFAULT_DB_ALIAS) -> None:
    """Tell idle workers a task is queued (on commit, when inside a transaction)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, '')", [CHANNEL])


class Waiter:
    """An idle worker's wait: returns early when a task is announced, or on ``stop``."""

    def __init__(self, stopped: threading.Event, using: str = DEFAULT_DB_ALIAS):
        self.stopped = stopped
        self.using = using
        self.woken = 0  # waits a notification ended (for tests and logs)
        self._listener = None

    def wait(self, timeout: float) -> None:
        listener = self._listen()
        if listener is None:
            self.stopped.wait(timeout)
            return
        try:
            # Notifications that came while the worker was busy end the wait at once.
            for _ in listener.notifies(timeout=timeout, stop_after=1):
                self.woken += 1
        except Exception as exc:  # the connection died: poll until it can be reopened
            logger.warning("task wake-up listener lost (%s); polling", exc)
            self.close()
            self.stopped.wait(timeout)

    def _listen(self):
        if self._listener is not None:
            return self._listener
        connection = connections[self.using]
        if connection.vendor != "postgresql":
            return None
        import psycopg

        try:
            params = connection.get_connection_params()
            params.pop("cursor_factory", None)
            params.pop("context", None)
            params.pop("prepare_threshold", None)
            params.pop("server_side_binding", None)
            self._listener = psycopg.connect(**params, autocommit=True)
            self._listener.execute(f"LISTEN {CHANNEL}")
        except Exception as exc:
            logger.warning("cannot listen for queued tasks (%s); polling", exc)
            self._listener = None
        return self._listener

    def close(self) -> None:
        if self._listener is not None:
            try:
                self._listener.close()
            except Exception:  # already gone
                logger.debug("closing the wake-up listener failed", exc_info=True)
            self._listener = None
