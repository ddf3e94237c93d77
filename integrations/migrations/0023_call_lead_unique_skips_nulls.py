"""One call per lead, enforced by an index that holds attached calls only (issue 13).

``Call.lead`` is a one-to-one, so Django made ``integrations_call_lead_id_key`` a
UNIQUE constraint over every row, NULLs included. Matching asks for calls with
``lead_id IS NULL`` (the free ones) and a btree can answer that, so when the
table has no column statistics yet (a restore, a bulk import, a fresh install
that grew before autoanalyze ran) the planner may walk every free call through
this index instead of reading the few rows of the caller's (caller, offer, time)
index: 300 ms per pixel at a million calls, measured. NULLs never conflict in a
unique index, so leaving them out changes nothing that is enforced; the index
gets smaller (only attached calls), an unmatched call's insert skips it, and
``lead_id IS NULL`` can no longer be planned through it.

PostgreSQL only; the model still declares the one-to-one (the state is
unchanged) and SQLite keeps Django's constraint. Built CONCURRENTLY so pixels
and calls keep flowing while it builds, then swapped for the constraint under
the same name. Should a later migration alter ``Call.lead`` so that Django drops
the constraint, it must drop this index with DROP INDEX (not DROP CONSTRAINT).
"""

from django.db import migrations

NAME = "integrations_call_lead_id_key"
BUILDING = "integrations_call_lead_id_uniq_new"

FORWARDS = [
    f"DROP INDEX CONCURRENTLY IF EXISTS {BUILDING}",  # left by an interrupted run
    f"CREATE UNIQUE INDEX CONCURRENTLY {BUILDING} ON integrations_call (lead_id) "
    "WHERE lead_id IS NOT NULL",
    f"ALTER TABLE integrations_call DROP CONSTRAINT {NAME}",
    f"ALTER INDEX {BUILDING} RENAME TO {NAME}",
]

BACKWARDS = [
    f"DROP INDEX CONCURRENTLY IF EXISTS {BUILDING}",
    f"CREATE UNIQUE INDEX CONCURRENTLY {BUILDING} ON integrations_call (lead_id)",
    f"DROP INDEX {NAME}",
    f"ALTER TABLE integrations_call ADD CONSTRAINT {NAME} UNIQUE USING INDEX {BUILDING}",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    # CREATE/DROP INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [("integrations", "0022_account_managers_work_schedules")]

    operations = [
        migrations.RunPython(_run(FORWARDS), _run(BACKWARDS), elidable=False),
    ]
