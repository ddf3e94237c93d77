"""Remove one caller's personal data on request (e.g. a privacy deletion request)."""

from django.core.management.base import BaseCommand, CommandError

from ...rules.phones import InvalidPhoneNumber, normalize_phone
from ...services.retention import purge_caller


class Command(BaseCommand):
    help = "Remove a caller's number, pixel fields and raw requests everywhere; keep totals."

    def add_arguments(self, parser):
        parser.add_argument("caller", help="The caller's number, in any format.")

    def handle(self, *args, **options):
        try:
            caller_id = normalize_phone(options["caller"])
        except InvalidPhoneNumber as exc:
            raise CommandError(f"caller: {exc}") from None
        counts = purge_caller(caller_id=caller_id)
        self.stdout.write(
            "Purged "
            + ", ".join(f"{count} {name}" for name, count in counts.items())
            + f" of {caller_id[:4]}…"
        )
