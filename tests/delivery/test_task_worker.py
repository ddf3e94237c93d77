"""Our task worker against the pinned django-tasks-db: same rows, same signals.

``run_worker`` no longer subclasses the library's worker; it claims and runs tasks
through the public API. These tests run the same tasks through the library's own
``db_worker`` and through ours and compare what each leaves behind, so a release
that changes how a task is claimed, run or recorded shows up here.
"""

import ast
import contextlib
import signal
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks.signals import task_finished, task_started
from django_tasks_db.models import DBTaskResult

from integrations.worker.loop import ConcurrentWorker
from integrations.worker.queue import Queues, claim_batch
from tests.delivery import sample_tasks

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

DATABASE_QUEUE = {
    "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "postbacks"]}
}
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def database_queue(settings):
    settings.TASKS = DATABASE_QUEUE


@contextlib.contextmanager
def signal_handlers_kept():
    """Put back the process's signal handlers after a worker changed them.

    The library's db_worker installs SIGINT/SIGTERM handlers and never restores
    them: after such a test, Ctrl-C no longer stopped ``make test`` (issue 34, item 14).
    """
    names = [name for name in ("SIGINT", "SIGTERM", "SIGQUIT") if hasattr(signal, name)]
    saved = {name: signal.getsignal(getattr(signal, name)) for name in names}
    try:
        yield
    finally:
        for name, handler in saved.items():
            signal.signal(getattr(signal, name), handler)


@pytest.fixture
def own_signal_handlers():
    with signal_handlers_kept():
        yield


@pytest.fixture
def signals_seen():
    seen = []

    def on_started(sender, task_result, **kwargs):
        seen.append(("started", task_result.task.name, task_result.status.name))

    def on_finished(sender, task_result, **kwargs):
        seen.append(("finished", task_result.task.name, task_result.status.name))

    task_started.connect(on_started)
    task_finished.connect(on_finished)
    yield seen
    task_started.disconnect(on_started)
    task_finished.disconnect(on_finished)


def _enqueue_one_of_each():
    return [
        sample_tasks.add.enqueue(2, 3),
        sample_tasks.refuse.enqueue("no thanks"),
        sample_tasks.tell_attempt.enqueue("t"),
        sample_tasks.answer_something_unstorable.enqueue(),
    ]


def _outcomes(results, worker_id):
    """What a run left on each row, in a form both workers can be compared on."""
    outcomes = []
    for result in results:
        row = DBTaskResult.objects.get(pk=result.id)
        value = row.return_value
        if isinstance(value, dict) and "task_id" in value:
            assert value["task_id"] == str(row.pk)  # the context named this very task
            value = {**value, "task_id": "<own id>"}
        assert row.worker_ids == [worker_id]
        assert row.started_at is not None and row.finished_at >= row.started_at
        outcomes.append(
            (
                row.task_path,
                row.status,
                value,
                row.exception_class_path,
                row.traceback.strip().splitlines()[-1] if row.traceback else "",
            )
        )
    return outcomes


def _run_ours(worker_id, threads=1):
    ConcurrentWorker(
        queues=Queues(backend_name="default"),
        threads=threads,
        interval=0,
        worker_id=worker_id,
        batch=True,
    ).run()


def test_our_worker_leaves_the_rows_and_signals_the_librarys_worker_does(
    database_queue, signals_seen, own_signal_handlers
):
    theirs = _enqueue_one_of_each()
    call_command(
        "db_worker",
        "--batch",
        "--queue-name=*",
        "--no-startup-delay",
        "--no-reload",
        "--worker-id=library",
        verbosity=0,
    )
    their_outcomes = _outcomes(theirs, "library")
    their_signals = list(signals_seen)
    signals_seen.clear()

    ours = _enqueue_one_of_each()
    _run_ours("ours")

    assert _outcomes(ours, "ours") == their_outcomes
    assert signals_seen == their_signals
    # What that is, so that a change in both at once is seen too.
    assert [outcome[1] for outcome in their_outcomes] == [
        "SUCCESSFUL",
        "FAILED",
        "SUCCESSFUL",
        "FAILED",
    ]
    assert their_outcomes[0][2] == 5
    assert their_outcomes[1][3:] == ("builtins.ValueError", "ValueError: no thanks")
    assert their_outcomes[2][2] == {"tag": "t", "attempt": 1, "task_id": "<own id>"}
    assert their_outcomes[3][3] == "builtins.TypeError"


def test_a_batch_claims_ready_tasks_in_queue_order_and_skips_the_rest(database_queue):
    low = sample_tasks.add.using(priority=-10).enqueue(1, 1)
    high = sample_tasks.add.using(priority=10).enqueue(2, 2)
    middle = sample_tasks.add.enqueue(3, 3)
    later = sample_tasks.add.using(run_after=_in_an_hour()).enqueue(4, 4)

    claimed = claim_batch(Queues(backend_name="default"), limit=2, worker_id="w1")

    assert [task.pk for task in claimed] == [_uuid(high), _uuid(middle)]
    statuses = dict(DBTaskResult.objects.values_list("pk", "status"))
    assert statuses[_uuid(high)] == statuses[_uuid(middle)] == "RUNNING"
    assert statuses[_uuid(low)] == statuses[_uuid(later)] == "READY"
    # The next claim does not take a task twice, and never one not yet due.
    again = claim_batch(Queues(backend_name="default"), limit=5, worker_id="w2")
    assert [task.pk for task in again] == [_uuid(low)]
    assert DBTaskResult.objects.get(pk=_uuid(low)).worker_ids == ["w2"]


def test_queues_left_out_are_not_claimed(database_queue):
    sample_tasks.add.using(queue_name="postbacks").enqueue(1, 2)
    kept = sample_tasks.add.enqueue(3, 4)
    claimed = claim_batch(
        Queues(backend_name="default", exclude=("postbacks",)), limit=5, worker_id="w"
    )
    assert [task.pk for task in claimed] == [_uuid(kept)]
    only = Queues(backend_name="default", include=("postbacks",))
    assert [task.queue_name for task in claim_batch(only, limit=5, worker_id="w")] == ["postbacks"]


def test_a_stopped_worker_claims_nothing(database_queue):
    waiting = sample_tasks.add.enqueue(1, 1)
    worker = ConcurrentWorker(
        queues=Queues(backend_name="default"), threads=2, interval=0, worker_id="w", batch=True
    )
    worker.stop()
    worker.run()
    assert DBTaskResult.objects.get(pk=_uuid(waiting)).status == "READY"


def test_no_module_reaches_into_django_tasks_db_internals():
    """Only the library's public modules: its model, backend and utilities."""
    public = {"django_tasks_db", "django_tasks_db.models", "django_tasks_db.backend"}
    public |= {"django_tasks_db.utils"}
    reached = []
    for path in sorted((ROOT / "integrations").rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "django_tasks_db"
            ):
                if node.module not in public:
                    reached.append(f"{path.relative_to(ROOT)}: {node.module}")
                reached += [
                    f"{path.relative_to(ROOT)}: {alias.name}"
                    for alias in node.names
                    if alias.name.startswith("_")
                ]
    assert reached == []


def _uuid(result):
    return uuid.UUID(result.id)


def _in_an_hour():
    return timezone.now() + timedelta(hours=1)


def test_the_process_keeps_its_ctrl_c_after_the_librarys_worker_ran(database_queue):
    before = signal.getsignal(signal.SIGINT)
    with signal_handlers_kept():
        call_command(
            "db_worker",
            "--batch",
            "--queue-name=*",
            "--no-startup-delay",
            "--no-reload",
            "--worker-id=library",
            verbosity=0,
        )
        changed = signal.getsignal(signal.SIGINT)
    assert changed is not before  # the library did take Ctrl-C over…
    assert signal.getsignal(signal.SIGINT) is before  # …and the process has it back
