"""Tasks that exercise every way a task can end, for tests/delivery/test_task_worker.py."""

from django_tasks import task


@task()
def add(a, b):
    return a + b


@task()
def refuse(message):
    raise ValueError(message)


@task(takes_context=True)
def tell_attempt(context, tag):
    return {"tag": tag, "attempt": context.attempt, "task_id": context.task_result.id}


@task()
def answer_something_unstorable():
    return {1, 2, 3}  # a set is not JSON: storing the result fails, and that is recorded
