"""Run a local stand-in for Ringba (webhook, enrichment, adjustment API) that prints each hit."""

from django.core.management.base import BaseCommand

from ...devtools.demo import DEMO_RINGBA_ACCOUNT_ID, demo_ringba_api_token
from ...devtools.ringba_stand_in import Behaviour, RingbaReceiver


class Command(BaseCommand):
    help = "Listen on 127.0.0.1:PORT like webhook.ringba.com and print each hit."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8025)
        parser.add_argument(
            "--status", type=int, default=200, help="HTTP status to answer (default 200)."
        )
        parser.add_argument(
            "--delay",
            type=float,
            default=0.0,
            help="Seconds to wait before answering (to try timeouts).",
        )
        parser.add_argument(
            "--retry-after", default=None, help="Send this Retry-After header value."
        )

    def handle(self, *args, **options):
        receiver = RingbaReceiver(
            port=options["port"],
            behaviour=Behaviour(
                status=options["status"], delay=options["delay"], retry_after=options["retry_after"]
            ),
            echo=lambda line: self.stdout.write(f"[ringba] {line}"),
            # The demo partner's account answers Ringba's adjustment API (seed_demo).
            api_tokens={DEMO_RINGBA_ACCOUNT_ID: demo_ringba_api_token()},
        )
        self.stdout.write(
            f"[ringba] stand-in webhook listening on {receiver.base_url} "
            f"(answers {options['status']}), API at {receiver.api_base_url}; "
            "GET /__hits lists what arrived"
        )
        try:
            receiver.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            receiver.stop()
