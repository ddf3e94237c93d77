#!/usr/bin/env python
"""`make bench-admin`: every admin list page and search at a million rows (issue 14).

Fills PostgreSQL (database ``portal_bench``, dropped and re-created) with
``--rows`` leads, calls and postback deliveries (1 M each by default) on the demo
offer, as a busy month leaves them, lets ANALYZE see them, then renders each list
page, each search and each change page through Django's full request stack
(middleware, session login, templates) in this process, and reports the median
of ``--repeat`` renders and the number of SQL queries per page. The goal (SPEC §9)
is every page well under 500 ms.

The render is in-process (Django's test client) rather than over HTTP so that the
figure is the page's own cost; a load balancer and gunicorn add the same ~1 ms to
every page. Results go to bench/results/admin-<timestamp>.json (git-ignored).
"""

import argparse
import io
import json
import statistics
import time
from datetime import UTC, datetime

from run import RESULTS, fill_big_tables, prepare_database

GOAL_MS = 500


def fill_deliveries(demo, total: int) -> None:
    """One delivery per filled call: most delivered, some failed, retrying or skipped,
    each delivered or failed one with its attempt row, as the worker leaves them."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO integrations_postbackdelivery (trigger_id, event, call_id, is_test,
                status, skip_reason, http_method, url, request_key, attempt_count,
                next_attempt_at, claim_token, enqueued_at, task_id, delivered_at, last_error,
                explanation, created_at, updated_at)
            SELECT %s, 'call_offer_converted', c.id, false,
                CASE WHEN c.id %% 50 = 0 THEN 'failed' WHEN c.id %% 50 = 1 THEN 'retrying'
                     WHEN c.id %% 50 = 2 THEN 'skipped' ELSE 'delivered' END,
                '', 'GET', 'http://127.0.0.1/hook/demo?call_id=' || c.call_uuid, md5(c.call_uuid),
                1, NULL, '', NULL, '', c.started_at,
                CASE WHEN c.id %% 50 = 0 THEN 'HTTP 500' ELSE '' END,
                '{}', c.started_at, c.started_at
            FROM integrations_call c
            ORDER BY c.id
            LIMIT %s
            """,
            [demo.trigger.pk, total],
        )
        cursor.execute(
            """
            INSERT INTO integrations_postbackattempt (delivery_id, number, stray, started_at,
                duration_ms, status_code, response_body, error, manual)
            SELECT d.id, 1, false, d.created_at, 120,
                CASE WHEN d.status = 'failed' THEN 500 ELSE 200 END, 'ok', '', false
            FROM integrations_postbackdelivery d WHERE d.status IN ('delivered', 'failed')
            """
        )


def sample_rows(demo) -> dict:
    """Real values from the filled tables to search for, in the formats people type."""
    from integrations.models import Call, Lead, PostbackDelivery

    lead = Lead.objects.order_by("id")[500_000 % Lead.objects.count()]
    call = Call.objects.filter(deliveries__isnull=False).order_by("id").first()
    digits = lead.caller_id.removeprefix("+1")
    return {
        "lead": lead,
        "call": call,
        "delivery": PostbackDelivery.objects.filter(call=call).first(),
        "caller_pretty": f"({digits[:3]}) {digits[3:6]}-{digits[6:]}",
        "caller_digits": digits,
    }


def pages(demo, rows: dict) -> list[tuple[str, str]]:
    lead, call, delivery = rows["lead"], rows["call"], rows["delivery"]
    base = "/admin/integrations"
    deliveries = f"{base}/postbackdelivery/"
    return [
        ("leads", f"{base}/lead/"),
        ("leads, page 50", f"{base}/lead/?p=50"),
        ("leads by offer", f"{base}/lead/?offer__id__exact={demo.offer.pk}"),
        ("leads last 7 days", f"{base}/lead/?received_at__range__gte={days_ago(7)}"),
        ("leads search caller (312) …", f"{base}/lead/?q={rows['caller_pretty']}"),
        ("leads search ringba_call_uuid", f"{base}/lead/?q={lead.ringba_call_uuid}"),
        ("lead change page", f"{base}/lead/{lead.pk}/change/"),
        ("calls", f"{base}/call/"),
        ("calls converted", f"{base}/call/?offer_converted__exact=1"),
        ("calls by source", f"{base}/call/?traffic_source__id__exact={demo.source.pk}"),
        ("calls search caller digits", f"{base}/call/?q={call.caller_id.removeprefix('+1')}"),
        ("calls search call_uuid", f"{base}/call/?q={call.call_uuid}"),
        ("calls search ringba_call_uuid", f"{base}/call/?q={lead.ringba_call_uuid}"),
        ("call change page", f"{base}/call/{call.pk}/change/"),
        ("deliveries", f"{base}/postbackdelivery/"),
        ("deliveries failed", f"{base}/postbackdelivery/?status__exact=failed"),
        ("deliveries search call_uuid", f"{base}/postbackdelivery/?q={call.call_uuid}"),
        ("deliveries search ringba_call_uuid", f"{deliveries}?q={lead.ringba_call_uuid}"),
        ("deliveries by trigger", f"{deliveries}?trigger__id__exact={demo.trigger.pk}"),
        ("delivery change page", f"{base}/postbackdelivery/{delivery.pk}/change/"),
        ("offers", f"{base}/offer/"),
        ("offer change page", f"{base}/offer/{demo.offer.pk}/change/"),
        ("traffic sources", f"{base}/trafficsource/"),
        ("numbers", f"{base}/number/"),
        ("triggers", f"{base}/eventtrigger/"),
        ("trigger change page", f"{base}/eventtrigger/{demo.trigger.pk}/change/"),
        ("admin home (dashboard, 7 days)", "/admin/"),
        ("dashboard, 30 days", "/admin/?days=30"),
        ("dashboard, 90 days, one offer", f"/admin/?days=90&offer={demo.offer.pk}"),
        ("stats API, 30 days by day", f"/api/v1/stats?start={days_ago(30)}"),
        ("stats API, 30 days by offer", f"/api/v1/stats?start={days_ago(30)}&group_by=offer"),
    ]


def days_ago(days: int) -> str:
    from datetime import timedelta

    from django.utils import timezone

    return (timezone.localdate() - timedelta(days=days)).isoformat()


def time_page(client, url: str, repeat: int, headers: dict | None = None) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    headers = headers or {}
    response = client.get(url, headers=headers)  # warm: templates compiled, plans cached
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}")
    timings = []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            client.get(url, headers=headers)
            timings.append((time.perf_counter() - started) * 1000)
    slowest = max(queries.captured_queries, key=lambda query: float(query["time"]))
    return {
        "median_ms": round(statistics.median(timings), 1),
        "max_ms": round(max(timings), 1),
        "queries": len(queries.captured_queries),
        "slowest_query_ms": round(float(slowest["time"]) * 1000, 1),
        "slowest_query": slowest["sql"][:300],
    }


def time_export(client, url: str) -> dict:
    """Stream one CSV export to nowhere: rows, seconds, and how much the process grew.

    ``growth_mib`` is the rise of the process's peak resident memory during the
    export: a streamed export stays near one chunk of rows however many rows there
    are, where one built in memory would grow with them (a 1 M-row CSV is ~200 MB).
    """
    import resource

    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    response = client.get(url)
    rows = -1  # the header line
    for chunk in response.streaming_content:
        rows += chunk.count(b"\n")
    seconds = time.perf_counter() - started
    peak_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "rows": rows,
        "seconds": round(seconds, 1),
        "rows_per_second": int(rows / seconds) if seconds else 0,
        "growth_mib": round((peak_after - peak_before) / 1024, 1),  # ru_maxrss is in KiB
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    _env, demo = prepare_database()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    settings.DEBUG = False
    report = {"rows": args.rows, "repeat": args.repeat, "goal_ms": GOAL_MS, "pages": {}}
    print(f"Filling {args.rows:,} leads, calls and deliveries …", flush=True)
    started = time.monotonic()
    fill_big_tables(demo, args.rows)
    fill_deliveries(demo, args.rows)
    with connection.cursor() as cursor:
        # Pages are measured on settled tables; capture right after a fill is bench/run.py's.
        cursor.execute("VACUUM ANALYZE")
    print(f"  filled and analysed in {time.monotonic() - started:.0f} s", flush=True)
    started = time.monotonic()
    call_command("refresh_stats", "--days", "14", stdout=io.StringIO())
    report["rollup_backfill_seconds"] = round(time.monotonic() - started, 1)
    print(f"  dashboard rollups for 14 days counted in {report['rollup_backfill_seconds']} s")

    user = get_user_model().objects.create_superuser("bench", "bench@example.com", "unused")
    client = Client()
    client.force_login(user)
    rows = sample_rows(demo)
    print(f"{'page':38} {'median ms':>10} {'max ms':>8} {'queries':>8}  slowest query")
    for name, url in pages(demo, rows):
        api = {"Authorization": f"Token {demo.api_token}"} if url.startswith("/api/") else None
        result = time_page(client, url, args.repeat, api)
        report["pages"][name] = {"url": url, **result}
        flag = "" if result["median_ms"] < GOAL_MS else "  <-- over the goal"
        print(
            f"{name:38} {result['median_ms']:>10} {result['max_ms']:>8} {result['queries']:>8}"
            f"  {result['slowest_query_ms']} ms{flag}",
            flush=True,
        )
    report["csv_export"] = {
        name: time_export(client, url)
        for name, url in [
            ("calls, all", "/admin/integrations/call/export.csv"),
            (
                "deliveries failed",
                "/admin/integrations/postbackdelivery/export.csv?status__exact=failed",
            ),
        ]
    }
    for name, result in report["csv_export"].items():
        print(
            f"CSV export {name}: {result['rows']:,} rows in {result['seconds']} s "
            f"({result['rows_per_second']:,}/s), process grew {result['growth_mib']} MiB",
            flush=True,
        )
    over = [name for name, page in report["pages"].items() if page["median_ms"] >= GOAL_MS]
    report["over_goal"] = over
    print(f"pages over {GOAL_MS} ms: {', '.join(over) or 'none'}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"admin-{stamp}.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
