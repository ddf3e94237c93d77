"""The task worker: claiming queued tasks (``queue``), running them (``loop``), and
waking idle workers when a task is queued (``wakeup``)."""
