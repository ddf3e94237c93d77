"""Delete data past its retention (the worker also runs this once a day)."""

from django.core.management.base import BaseCommand

from ...services.retention import prune


class Command(BaseCommand):
    help = "Delete leads, calls, attempts and task rows past their retention settings."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args, **options):
        report = prune(batch_size=options["batch_size"])
        if not report.deleted:
            self.stdout.write("Nothing past its retention.")
        for name, count in report.deleted.items():
            self.stdout.write(f"deleted {count} {name}")
