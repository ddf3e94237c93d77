"""Several workers' sweepers at once: one alert per streak, rollups counted once.

Each round releases two sweepers together (a barrier, a connection each) on
PostgreSQL; run one after the other these could not fail.
"""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from integrations.models import EventTrigger, RejectedPixel, StatsHour
from integrations.services import rollups, trigger_health
from integrations.services.stats import stats
from tests import factories
from tests.races import run_rounds
from tests.shipped_data import reinstall_shipped_rows

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("postgres_only"),
]

ROUNDS = 15


def test_two_sweepers_send_each_alert_once(settings):
    reinstall_shipped_rows()
    settings.TRIGGER_ALERT_AFTER_FAILURES = 3
    factories.account_manager(email="maria@example.com")
    trigger = factories.TriggerFactory()
    sent = []

    def sweeper(round_number):
        return trigger_health.check()["alerted"]

    for _ in range(ROUNDS):
        EventTrigger.objects.filter(pk=trigger.pk).update(
            consecutive_failures=5, failing_since=timezone.now(), alerted_at=None
        )
        before = len(mail.outbox)
        [results] = run_rounds(1, [sweeper, sweeper])
        assert not any(isinstance(result, Exception) for result in results), results
        sent.append(len(mail.outbox) - before)
    assert sent == [1] * ROUNDS


def test_two_sweepers_recounting_the_same_hours_count_each_row_once(ringba_setup):
    for _ in range(5):
        factories.CallFactory(number=ringba_setup["number"])
        factories.LeadFactory(offer=ringba_setup["offer"], traffic_source=ringba_setup["source"])
    # Refusals without an offer: their rollup rows have NULL ids, which the unique
    # constraint cannot tell apart, so only the lock keeps them from doubling.
    for _ in range(3):
        RejectedPixel.objects.create(status_code=401)
    now = timezone.now()
    window = {"start": now - timedelta(hours=2), "end": now + timedelta(hours=1)}

    def sweeper(round_number):
        return rollups.refresh(**window)

    results = run_rounds(ROUNDS, [sweeper, sweeper])
    errors = [
        result
        for round_results in results
        for result in round_results
        if isinstance(result, Exception)
    ]
    assert errors == []
    totals = stats(**window).totals
    assert (totals["calls"], totals["pixels_accepted"], totals["pixels_rejected"]) == (5, 5, 3)
    assert StatsHour.objects.filter(offer_id__isnull=True).count() == 1


def test_workers_started_together_prune_once_not_all_at_once(monkeypatch):
    """After a deploy every worker's first sweep pruned at once, and their deletes
    could deadlock (issue 25, item 16): one leader prunes, the others skip the day."""
    import threading
    import time

    from integrations.management.commands import run_worker

    pruning = []
    lock = threading.Lock()

    def slow_prune():
        with lock:
            pruning.append(threading.get_ident())
        time.sleep(0.3)  # long enough for the other worker to arrive meanwhile

    monkeypatch.setattr(run_worker, "prune", slow_prune)
    monkeypatch.setattr(run_worker, "requeue_due_deliveries", lambda: 0)
    monkeypatch.setattr(run_worker.Sweeper, "_refresh_rollups", lambda self, now: None)
    monkeypatch.setattr(run_worker, "reconcile_unmatched", lambda **kwargs: 0)
    monkeypatch.setattr(run_worker.trigger_health, "check", lambda: {})
    monkeypatch.setattr(run_worker.schedules, "sweep", lambda: {})

    def worker_starts(round_number):
        run_worker.Sweeper().sweep_once()

    for _ in range(5):
        pruning.clear()
        [results] = run_rounds(1, [worker_starts, worker_starts, worker_starts])
        assert not any(isinstance(result, Exception) for result in results), results
        assert len(pruning) == 1
