"""Drive one exact interleaving of two transactions on PostgreSQL.

``hold_open`` runs a piece of work inside a transaction on its own thread and
connection, keeps the transaction (and its row locks) open until another
connection is seen waiting on a lock, then commits. That is how a conversion
holding a call's lock meets a pixel whose attach must wait for it.
"""

import threading
import time

from django.db import connection, connections, transaction


def _someone_waits_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return cursor.fetchone()[0] > 0


def hold_open(work, *, wait_seconds: float = 10.0):
    """Start ``work()`` in a transaction on a new thread; return (thread, outcome).

    The transaction commits once another connection waits on a lock (or after
    ``wait_seconds``, so a test that never blocks still ends). ``outcome`` is a
    dict that receives ``result`` or ``error`` and ``waited`` (True when the
    commit was released by a waiter, i.e. the interleaving really happened).
    """
    outcome: dict = {}
    started = threading.Event()

    def run():
        try:
            with transaction.atomic():
                outcome["result"] = work()
                started.set()
                deadline = time.monotonic() + wait_seconds
                waited = False
                while time.monotonic() < deadline:
                    if _someone_waits_on_a_lock():
                        waited = True
                        break
                    time.sleep(0.02)
                outcome["waited"] = waited
        except Exception as exc:  # reported to the test
            outcome["error"] = exc
            started.set()
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    started.wait(timeout=wait_seconds)
    return thread, outcome
