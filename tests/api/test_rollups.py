"""The dashboard's hourly rollups: recounted windows, late changes, kept history."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from integrations.management.commands.run_worker import Sweeper
from integrations.models import Call, RejectedPixel, StatsHour
from integrations.services import rollups
from integrations.services.calls import CallUpdate, update_call
from integrations.services.stats import stats
from tests import factories

pytestmark = pytest.mark.django_db


def _window():
    now = timezone.now()
    return {"start": now - timedelta(days=30), "end": now + timedelta(hours=1)}


def test_a_window_is_recounted_not_added_to(ringba_setup):
    factories.CallFactory(number=ringba_setup["number"])
    rollups.refresh(**_window())
    rollups.refresh(**_window())
    assert stats(**_window()).totals["calls"] == 1
    Call.objects.all().delete()
    rollups.refresh(**_window())
    assert stats(**_window()).totals["calls"] == 0


def test_a_late_conversion_of_an_old_call_rewrites_its_hour(
    ringba_setup, django_capture_on_commit_callbacks
):
    call = factories.CallFactory(number=ringba_setup["number"])
    Call.objects.filter(pk=call.pk).update(started_at=timezone.now() - timedelta(days=3))
    rollups.refresh(**_window())
    assert stats(**_window()).totals["conversions"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        update_call(
            call_uuid=call.call_uuid,
            update=CallUpdate(offer_converted=True, payout=Decimal("4.00")),
        )
    totals = stats(**_window()).totals
    assert totals["conversions"] == 1 and totals["payout"] == Decimal("4.00")


def test_refusals_past_their_retention_keep_their_count(ringba_setup, settings):
    settings.REJECTED_PIXEL_DAYS = 7
    old = RejectedPixel.objects.create(offer=ringba_setup["offer"], status_code=422)
    RejectedPixel.objects.filter(pk=old.pk).update(received_at=timezone.now() - timedelta(days=9))
    rollups.refresh(**_window())
    RejectedPixel.objects.all().delete()  # pruned
    rollups.refresh(**_window())
    assert stats(**_window()).totals["pixels_rejected"] == 1


def test_the_workers_sweeper_keeps_them(ringba_setup):
    factories.LeadFactory(offer=ringba_setup["offer"], traffic_source=ringba_setup["source"])
    Sweeper()._refresh_rollups(now=0.0)
    assert StatsHour.objects.get().pixels_accepted == 1
    assert stats(**_window(), group_by="offer").rows[0].label == ringba_setup["offer"].name


def test_refresh_stats_backfills_old_days(ringba_setup):
    from io import StringIO

    from django.core.management import call_command

    call = factories.CallFactory(number=ringba_setup["number"])
    Call.objects.filter(pk=call.pk).update(started_at=timezone.now() - timedelta(days=100))
    out = StringIO()
    call_command("refresh_stats", "--days", "120", stdout=out)
    assert "rollup rows written" in out.getvalue()
    window = {"start": timezone.now() - timedelta(days=120), "end": timezone.now()}
    assert stats(**window).totals["calls"] == 1
