"""Claim ready tasks from django-tasks-db's table in batches, for ``run_worker``.

Only the library's public model API is used: ``DBTaskResult.objects.ready()``
(what is due, in the library's queue order), ``select_for_update(skip_locked=True)``
(what its own ``get_locked`` does, for many rows at once) and ``DBTaskResult.claim``
(how the library marks a task RUNNING for a worker). So a release that changes
its table or its claim changes ours with it; tests/delivery/test_task_worker.py
compares the rows we leave with the ones the library's own worker leaves.

The library's own loop claims one task per transaction. Here one transaction
locks as many ready rows as there are free sending threads, then claims each:
one SELECT and one UPDATE per task, instead of a transaction per task.
"""

from dataclasses import dataclass

from django.db import OperationalError
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception


@dataclass(frozen=True)
class Queues:
    """Which tasks a worker takes: its backend, and queue names to include or leave."""

    backend_name: str
    include: tuple[str, ...] = ()  # empty: every queue
    exclude: tuple[str, ...] = ()

    def ready(self):
        tasks = DBTaskResult.objects.ready().filter(backend_name=self.backend_name)
        if self.include:
            tasks = tasks.filter(queue_name__in=self.include)
        if self.exclude:
            tasks = tasks.exclude(queue_name__in=self.exclude)
        return tasks


def claim_batch(queues: Queues, *, limit: int, worker_id: str) -> list[DBTaskResult]:
    """Claim up to ``limit`` ready tasks for ``worker_id``; return them in queue order.

    Rows another worker holds are skipped, not waited for (``SKIP LOCKED``; SQLite
    takes the whole database for the transaction instead). A busy SQLite database
    answers an empty batch: the caller polls again.
    """
    tasks = queues.ready()
    try:
        with exclusive_transaction(tasks.db):
            claimed = list(tasks.select_for_update(skip_locked=True)[:limit])
            for task in claimed:
                task.claim(worker_id)
    except OperationalError as exc:
        if is_locked_database_exception(exc):
            return []
        raise
    return claimed
