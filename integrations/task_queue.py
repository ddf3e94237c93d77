"""Claim ready tasks from django-tasks-db's table in batches, for ``run_worker``.

The library's own loop claims one task per transaction through the ORM: four
round trips and about 4 ms of CPU per postback, spent in the one loop that feeds
every sending thread. On PostgreSQL a batch is claimed with ONE statement,
``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED LIMIT n) RETURNING …``,
in the library's queue order; other databases use the ORM in an exclusive
transaction. Rows are read and written through the library's model metadata
(``db.quoted_columns``, ``db.instance_from_row``), so
only the column *names* used below tie this to django-tasks-db's schema (covered
by tests/delivery/test_workers.py and test_concurrent_workers.py on PostgreSQL).
"""

from dataclasses import dataclass
from functools import lru_cache

from django.db import OperationalError, connections, router
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult, get_date_max
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

from .db import instance_from_row, quoted_columns

_CLAIM = """
    UPDATE {table} SET {status} = %s, {started_at} = %s, {worker_ids} = %s
    WHERE {id} IN (
        SELECT {id} FROM {table}
        WHERE {status} = %s AND {backend_name} = %s
          AND ({run_after} = %s OR {run_after} <= %s) {queue_filter}
        ORDER BY {priority} DESC, {run_after} ASC, {enqueued_at} ASC
        LIMIT %s
        FOR UPDATE SKIP LOCKED
    )
    RETURNING {columns}
"""


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
    """Mark up to ``limit`` ready tasks RUNNING for ``worker_id``; return them in queue order.

    Rows another worker holds are skipped, not waited for. A task is claimed only
    from READY, so it has never run and its worker list starts here.
    """
    database = router.db_for_write(DBTaskResult)
    if connections[database].vendor == "postgresql":
        return _claim_on_postgresql(queues, limit=limit, worker_id=worker_id, database=database)
    return _claim_with_orm(queues, limit=limit, worker_id=worker_id)


@lru_cache(maxsize=8)
def _claim_sql(database: str, include: bool, exclude: bool) -> str:
    connection = connections[database]
    meta = DBTaskResult._meta

    def column(name: str) -> str:
        return connection.ops.quote_name(meta.get_field(name).column)

    queue_filter = ""
    if include:
        queue_filter += f" AND {column('queue_name')} = ANY(%s)"
    if exclude:
        queue_filter += f" AND NOT ({column('queue_name')} = ANY(%s))"
    names = ["id", "status", "started_at", "worker_ids", "backend_name", "run_after"]
    names += ["priority", "enqueued_at"]
    return _CLAIM.format(
        table=connection.ops.quote_name(meta.db_table),
        queue_filter=queue_filter,
        columns=quoted_columns(meta.concrete_fields, using=database),
        **{name: column(name) for name in names},
    )


def _claim_on_postgresql(queues, *, limit, worker_id, database) -> list[DBTaskResult]:
    connection = connections[database]
    now = timezone.now()
    worker_ids = DBTaskResult._meta.get_field("worker_ids")
    params = [
        TaskResultStatus.RUNNING,
        now,
        worker_ids.get_db_prep_save([worker_id], connection),
        TaskResultStatus.READY,
        queues.backend_name,
        get_date_max(),
        now,
    ]
    if queues.include:
        params.append(list(queues.include))
    if queues.exclude:
        params.append(list(queues.exclude))
    params.append(limit)
    sql = _claim_sql(database, bool(queues.include), bool(queues.exclude))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    claimed = [instance_from_row(DBTaskResult, row, using=database) for row in rows]
    # RETURNING does not keep the subquery's order; run them in queue order.
    claimed.sort(key=lambda task: (-task.priority, task.run_after, task.enqueued_at))
    return claimed


def _claim_with_orm(queues, *, limit, worker_id) -> list[DBTaskResult]:
    tasks = queues.ready()
    try:
        with exclusive_transaction(tasks.db):
            claimed = list(tasks.select_for_update(skip_locked=True)[:limit])
            if not claimed:
                return []
            now = timezone.now()
            DBTaskResult.objects.filter(pk__in=[task.pk for task in claimed]).update(
                status=TaskResultStatus.RUNNING, started_at=now, worker_ids=[worker_id]
            )
    except OperationalError as exc:
        if is_locked_database_exception(exc):  # SQLite busy: the caller tries again
            return []
        raise
    for task in claimed:
        task.status, task.started_at, task.worker_ids = TaskResultStatus.RUNNING, now, [worker_id]
    return claimed
