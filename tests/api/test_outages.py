"""A database outage is answered 503 with Retry-After, and the worker rides it out."""

from unittest import mock

import pytest
from django.core.management import call_command
from django.db import OperationalError

from .pixels import post_json

pytestmark = pytest.mark.django_db


def test_capture_answers_503_when_the_database_is_down(base_pixel, client, ringba_setup):
    body = {
        **base_pixel,
        "caller_id": "+13125550100",
    }
    with mock.patch(
        "integrations.api.capture_views.capture_lead",
        side_effect=OperationalError("server closed the connection"),
    ):
        response = post_json(client, body)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["errors"] == [
        "server: database unavailable; nothing was stored, retry shortly"
    ]


def test_the_worker_resumes_after_a_database_outage(monkeypatch):
    from integrations.management.commands.run_worker import ConcurrentWorker

    calls = []

    def flaky_claim_loop(self):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("terminating connection due to administrator command")

    monkeypatch.setattr(ConcurrentWorker, "_claim_loop", flaky_claim_loop)
    monkeypatch.setattr("integrations.worker.loop.OUTAGE_RETRY_SECONDS", 0)
    monkeypatch.setattr(
        "integrations.management.commands.run_worker.task_backends",
        {"default": _database_backend()},
    )
    call_command("run_worker", "--batch")
    assert len(calls) == 2


def _database_backend():
    from django_tasks_db.backend import DatabaseBackend

    return DatabaseBackend(alias="default", params={"QUEUES": ["default", "postbacks"]})
