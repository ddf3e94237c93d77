"""Reconcile one partner's Ringba with what we paid, from its API or an exported CSV."""

import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from ...models import Difference, TrafficSource
from ...services.reconciliation import reconcile_partner


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{text!r} is not a date: use YYYY-MM-DD (UTC days)") from None


class Command(BaseCommand):
    help = (
        "Compare a partner's Ringba call log (its API, or --csv) with the payments recorded "
        "here; label every difference and keep the run for the admin."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--traffic-source", required=True, help="The partner's public traffic source id."
        )
        parser.add_argument("--csv", dest="csv_path", help="Ringba's call details report, as CSV.")
        parser.add_argument("--from", dest="period_from", help="First UTC day (YYYY-MM-DD).")
        parser.add_argument("--to", dest="period_to", help="Last UTC day, included.")
        parser.add_argument("--json", action="store_true", help="Print counts and rows as JSON.")

    def handle(self, *args, **options):
        source = TrafficSource.objects.filter(traffic_source_id=options["traffic_source"]).first()
        if source is None:
            raise CommandError(f"no traffic source with public id {options['traffic_source']}")
        period_from = _day(options["period_from"]) if options["period_from"] else None
        period_to = _day(options["period_to"]) if options["period_to"] else None
        if period_from and period_to and period_to < period_from:
            raise CommandError("--to is before --from")
        if options["csv_path"]:
            try:
                csv_file = open(options["csv_path"], "rb")  # noqa: SIM115 - closed below
            except OSError as exc:
                raise CommandError(f"--csv: {exc.strerror}: {options['csv_path']}") from None
            with csv_file:
                run = reconcile_partner(
                    source,
                    csv_file=csv_file,
                    file_name=options["csv_path"].rsplit("/", 1)[-1],
                    period_from=period_from,
                    period_to=period_to,
                    run_by="reconcile_ringba",
                )
        else:
            run = reconcile_partner(
                source, period_from=period_from, period_to=period_to, run_by="reconcile_ringba"
            )
        if run.error:
            raise CommandError(run.error)
        if options["json"]:
            return self._print_json(run)
        self.stdout.write(
            f"{source.name}, {run.period_from} … {run.period_to} (UTC), from {run.source}: "
            f"ours {run.our_conversions} conversions / {run.our_total}, "
            f"Ringba {run.their_conversions} / {run.their_total}"
        )
        for label, count in run.counts.items():
            self.stdout.write(f"  {label:<28} {count}")
        self.stdout.write(f"Run {run.pk}: {run.differences} difference(s) to look at.")

    def _print_json(self, run) -> None:
        rows = run.rows.order_by("id").values_list(
            "ringba_call_id", "label", "our_amount", "their_amount", "call_id"
        )
        self.stdout.write(
            json.dumps(
                {
                    "run": run.pk,
                    "period": [run.period_from.isoformat(), run.period_to.isoformat()],
                    "counts": {label: run.counts.get(label, 0) for label in Difference.values},
                    "rows": [
                        {
                            "ringba_call_id": ringba_call_id,
                            "label": label,
                            "our_amount": _text(ours),
                            "their_amount": _text(theirs),
                            "call_id": call_id,
                        }
                        for ringba_call_id, label, ours, theirs, call_id in rows.iterator()
                    ],
                },
                indent=1,
            )
        )


def _text(amount) -> str | None:
    return None if amount is None else f"{amount:.2f}"
