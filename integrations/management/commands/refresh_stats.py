"""Recount the dashboard's hourly rollups for the last N days (a backfill)."""

from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from ...services import rollups


class Command(BaseCommand):
    help = (
        "Recount the dashboard's rollups from the raw tables for the last --days days. "
        "Workers keep the last 7 days current by themselves; run this once after the "
        "first deploy of the dashboard, or after importing data."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=400)

    def handle(self, *args, **options):
        end = timezone.now() + timedelta(hours=1)
        start = end - timedelta(days=options["days"])
        written, day = 0, start
        while day < end:  # a day per transaction: short locks, progress visible
            written += rollups.refresh(day, min(day + timedelta(days=1), end))
            day += timedelta(days=1)
        self.stdout.write(f"{written} hourly rollup rows written for {options['days']} days")
