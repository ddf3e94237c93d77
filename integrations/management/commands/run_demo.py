"""Bring the whole product up on this machine: web app, worker and Ringba stand-in.

``make run`` calls this with a development environment (SQLite, DEBUG, private
postbacks allowed for the local receiver). Ctrl+C stops everything.
"""

import signal
import subprocess
import sys
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand

from ...devtools.demo import seed_demo


def stop_processes(processes, timeout: float = 10) -> None:
    """Ask every process to stop (SIGTERM), then kill any still running after ``timeout``."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()


class Command(BaseCommand):
    help = "Migrate, load the demo data and run web + worker + local Ringba receiver."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--receiver-port", type=int, default=8025)

    def handle(self, *args, **options):
        call_command("migrate", verbosity=0)
        demo = seed_demo(reconciliation_showcase=True)
        port, receiver_port = options["port"], options["receiver_port"]
        manage = [sys.executable, "manage.py"]
        # Fixed argument lists of our own commands; nothing comes from user input.
        processes = [
            subprocess.Popen([*manage, "ringba_receiver", "--port", str(receiver_port)]),  # noqa: S603
            subprocess.Popen([*manage, "run_worker"]),  # noqa: S603
            subprocess.Popen([*manage, "runserver", f"127.0.0.1:{port}", "--noreload"]),  # noqa: S603
        ]
        self.stdout.write(
            self.style.SUCCESS(
                f"\nPortal:   http://localhost:{port}/admin/  (user admin, password "
                f"{demo.admin_password})\n"
                f"Capture:  http://localhost:{port}/api/v1/leads/capture  "
                f"(lead_token {demo.offer.lead_token}, traffic_source_id "
                f"{demo.source.traffic_source_id})\n"
                f"API docs: http://localhost:{port}/api/docs/  (calls API key "
                f"{demo.api_token}; more at /admin/integrations/apiclient/)\n"
                f"Ringba stand-in: http://127.0.0.1:{receiver_port}\n"
                f"Try the loop: .venv/bin/python manage.py simulate_call --base-url "
                f"http://localhost:{port} --receiver-url http://127.0.0.1:{receiver_port}\n"
                f"Reconcile: Admin → Reconciliation runs → Add, partner "
                f"'Demo Partner B (differences)', upload {demo.reconciliation_csv}\n"
            )
        )
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            while all(process.poll() is None for process in processes):
                time.sleep(0.5)
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            stop_processes(processes)
