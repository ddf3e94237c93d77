"""Start the project's real processes (web, worker, commands) for end-to-end tests."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from integrations.management.commands.run_demo import stop_processes

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def current_database_url() -> str:
    """The URL of the database the current test uses (PostgreSQL only)."""
    from django.db import connection

    db = connection.settings_dict
    return (
        f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )


def process_env(database_url: str, **extra: str) -> dict:
    """Environment of a real deployment pointed at ``database_url`` and local receivers."""
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DATABASE_URL": database_url,
            "DEBUG": "true",  # private-IP postbacks are only allowed with DEBUG (integrations.E003)
            "SECRET_KEY": "e2e-secret-key-0123456789-0123456789-0123456789",
            "POSTBACK_ALLOW_PRIVATE_IPS": "true",
            "POSTBACK_ALLOWED_HOSTS": "127.0.0.1",
            "CAPTURE_THROTTLE_RATE": "",
            # No scheduled reconciliation: its requests would count among the stand-in's.
            "RECONCILE_EVERY_HOURS": "0",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def manage(*args: str, env: dict, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        **kwargs,
    )


def start(*args: str, env: dict, log: Path) -> subprocess.Popen:
    handle = log.open("w")
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )


def stop(*processes: subprocess.Popen) -> None:
    stop_processes(processes)


def start_gunicorn(
    port: int, *, env: dict, log: Path, workers: int = 4, extra: tuple[str, ...] = ()
) -> subprocess.Popen:
    """Start the production web server with several worker processes (real parallelism).

    From the project root, so gunicorn reads ``gunicorn.conf.py`` as production does.
    """
    handle = log.open("w")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "portal.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            "2",
            *extra,
        ],
        cwd=ROOT,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )


def wait_for_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout} s")
