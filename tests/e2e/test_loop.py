"""The whole product as real processes: web server, worker, and simulate_call over HTTP."""

import contextlib
import json
from urllib.parse import parse_qs

import pytest

from integrations.devtools.demo import DEMO_RINGBA_ACCOUNT_ID, demo_ringba_api_token
from integrations.devtools.ringba_stand_in import RingbaReceiver
from tests.processes import free_port, manage, process_env, start, stop, wait_for_http


@contextlib.contextmanager
def running_stack(tmp_path, **overrides):
    """Web server, worker and the Ringba stand-in as real processes, on SQLite."""
    receiver = RingbaReceiver().start()
    port = free_port()
    urls = {
        "RINGBA_WEBHOOK_BASE_URL": receiver.base_url,
        "RINGBA_ENRICH_BASE_URL": receiver.base_url,
        "RINGBA_API_BASE_URL": receiver.api_base_url,
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
    }
    env = process_env(f"sqlite:///{tmp_path / 'e2e.sqlite3'}", **(urls | overrides))
    # The demo partner's Ringba account answers the adjustment API with its token.
    receiver.api_tokens[DEMO_RINGBA_ACCOUNT_ID] = demo_ringba_api_token(env["SECRET_KEY"])
    migrate = manage("migrate", env=env)
    assert migrate.returncode == 0, migrate.stderr
    facts = json.loads(manage("seed_demo", "--json", env=env).stdout)
    web = start("runserver", f"127.0.0.1:{port}", "--noreload", env=env, log=tmp_path / "web.log")
    worker = start("run_worker", env=env, log=tmp_path / "worker.log")
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz")
        yield {"env": env, "receiver": receiver, "port": port, "facts": facts, "logs": tmp_path}
    finally:
        stop(web, worker)
        receiver.stop()


@pytest.fixture
def stack(tmp_path):
    with running_stack(tmp_path) as running:
        yield running


def simulate(stack, *flags: str):
    """Run simulate_call against the stack; fail with every log when it fails."""
    result = manage(
        "simulate_call",
        *flags,
        "--base-url",
        f"http://127.0.0.1:{stack['port']}",
        "--receiver-url",
        stack["receiver"].base_url,
        env=stack["env"],
    )
    logs = "".join(path.read_text() for path in stack["logs"].glob("*.log"))
    assert result.returncode == 0, result.stdout + result.stderr + logs
    return result


def test_pixel_call_conversion_postback_over_http(stack):
    result = simulate(stack)
    assert "PASS: the loop closed" in result.stdout

    hits = stack["receiver"].hits
    [hit] = [hit for hit in hits if hit.path.startswith("/hook/")]
    assert hit.method == "GET"
    assert hit.path == "/hook/demo-number-webhook-token"
    # The call's start enriched the partner's Ringba first (the offer's IDE trigger).
    [enrich] = [hit for hit in hits if hit.path.startswith("/enrich/")]
    assert enrich.path == "/enrich/demo-ringba-number"
    assert enrich.received_at < hit.received_at
    assert set(parse_qs(enrich.raw_query)) >= {"callerid", "trackdrive_call_uuid"}
    query = parse_qs(hit.raw_query)
    assert set(query) == {"call_id", "call_revenue", "sale_successful"}
    assert query["call_id"][0].startswith("SIM")
    assert query["call_revenue"] == ["12.50"] and query["sale_successful"] == ["true"]


def test_a_return_after_payment_reaches_the_partners_ringba_once_over_http(stack):
    result = simulate(stack, "--return")
    assert "PASS: the loop closed" in result.stdout
    [override] = stack["receiver"].api_hits()
    body = json.loads(override.body)
    assert override.authorized and body["newConversionAmount"] == 0
    assert stack["receiver"].conversion_amounts[body["inboundCallId"]] == 0.0


def test_the_demo_reconciles_with_the_stand_ins_call_log_over_http(stack):
    simulate(stack)
    simulate(stack, "--return")
    result = manage(
        "reconcile_ringba",
        "--traffic-source",
        str(stack["facts"]["traffic_source_id"]),
        "--json",
        env=stack["env"],
    )
    assert result.returncode == 0, result.stdout + result.stderr
    printed = json.loads(result.stdout)
    # One conversion paid, one paid and returned (set to 0 at Ringba): both agree.
    assert printed["counts"]["matched"] == 2
    assert sum(printed["counts"].values()) == 2
    assert {row["their_amount"] for row in printed["rows"]} == {"12.50", "0.00"}


def test_simulate_call_refuses_to_talk_to_anything_but_a_local_receiver(tmp_path):
    env = process_env(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    result = manage("simulate_call", "--receiver-url", "https://webhook.ringba.com", env=env)
    assert result.returncode != 0
    assert "not a local address" in result.stderr


def test_simulate_call_says_when_the_portal_is_not_running(tmp_path):
    env = process_env(
        f"sqlite:///{tmp_path / 'x.sqlite3'}",
        RINGBA_WEBHOOK_BASE_URL="http://127.0.0.1:8025",
        RINGBA_ENRICH_BASE_URL="http://127.0.0.1:8025",
    )
    assert manage("migrate", env=env).returncode == 0
    result = manage("simulate_call", "--base-url", f"http://127.0.0.1:{free_port()}", env=env)
    assert result.returncode != 0
    assert "is the portal running (make run)?" in result.stderr


def test_seed_demo_explains_a_host_the_allow_list_refuses(tmp_path):
    env = process_env(f"sqlite:///{tmp_path / 'x.sqlite3'}")  # allow-list: 127.0.0.1 only
    assert manage("migrate", env=env).returncode == 0
    result = manage("seed_demo", env=env)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "POSTBACK_ALLOWED_HOSTS does not allow" in result.stderr


def test_an_unrouted_call_is_called_back_and_paid_over_http(stack):
    """Finalized pixel → claim → callback call → conversion → one postback (SPEC §12)."""
    result = simulate(stack, "--finalized")
    assert "PASS: the unrouted call" in result.stdout
    assert {"schedule_id", "schedule_lead_token"} <= set(stack["facts"])

    [hit] = [hit for hit in stack["receiver"].hits if hit.path.startswith("/hook/")]
    assert hit.path == "/hook/demo-mapping-webhook-token"  # the partner's, by its source
    query = parse_qs(hit.raw_query)
    assert query["call_id"][0].startswith("SIM")  # the original Ringba call id
    assert query["call_revenue"] == ["12.50"] and query["sale_successful"] == ["true"]


def test_simulate_call_says_why_the_postback_did_not_come(tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens: every postback is refused
    with running_stack(tmp_path, RINGBA_WEBHOOK_BASE_URL=dead) as running:
        result = manage(
            "simulate_call",
            "--timeout",
            "4",
            "--base-url",
            f"http://127.0.0.1:{running['port']}",
            "--receiver-url",
            running["receiver"].base_url,
            env=running["env"],
        )
    assert result.returncode != 0
    failed = next(line for line in result.stdout.splitlines() if "FAIL" in line)
    assert "the portal says: postback #" in failed
    assert f"Connection refused by {dead.removeprefix('http://')}" in failed
    assert len(failed) < 300  # one readable line, not urllib3's text
    worker_log = (tmp_path / "worker.log").read_text()
    refused = [line for line in worker_log.splitlines() if "attempt 1: retrying" in line]
    assert refused and all("HTTPConnectionPool" not in line for line in refused)
