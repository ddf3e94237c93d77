"""Load the demo data set (idempotent) and print what a newcomer needs to try it."""

import json

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from ...devtools.demo import ADMIN_USERNAME, seed_demo
from ...partner_page.links import partner_url


class Command(BaseCommand):
    help = "Create the demo offer, Ringba traffic source, numbers and trigger (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")
        parser.add_argument(
            "--reconciliation-showcase",
            action="store_true",
            help="Also a second partner whose books differ from its Ringba call log in every "
            "way, and that log as a CSV to upload in Admin → Reconciliation runs.",
        )

    def handle(self, *args, **options):
        try:
            demo = seed_demo(reconciliation_showcase=options["reconciliation_showcase"])
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from None
        facts = {
            "offer_id": demo.offer.pk,
            "lead_token": demo.offer.lead_token,
            "traffic_source_id": demo.source.traffic_source_id,
            "numbers": [number.number for number in demo.numbers],
            "trigger_id": demo.trigger.pk,
            "trigger_url": demo.trigger.url_template,
            "admin_username": ADMIN_USERNAME,
            "admin_password": demo.admin_password,
            "api_token": demo.api_token,
            "capture_url": f"{settings.PUBLIC_BASE_URL}/api/v1/leads/capture",
            "admin_url": f"{settings.PUBLIC_BASE_URL}/admin/",
            "posting_instructions_url": partner_url(demo.offer, demo.source),
            "schedule_id": demo.schedule.pk,
            "schedule_lead_token": demo.schedule.lead_token,
        }
        if demo.reconciliation_csv:
            facts["reconciliation_csv"] = str(demo.reconciliation_csv)
        if options["json"]:
            self.stdout.write(_dumps(facts))
            return
        width = max(map(len, facts))
        for key, value in facts.items():
            self.stdout.write(f"{key.ljust(width)}  {value}")


def _dumps(data) -> str:
    return json.dumps(data, indent=2)
