"""Database helpers shared by the write paths."""

from contextlib import contextmanager, nullcontext
from functools import lru_cache

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models.functions import Now
from django.utils import timezone


def savepoint_if_nested(using: str = DEFAULT_DB_ALIAS):
    """Guard one statement that may raise IntegrityError.

    Inside a transaction, a savepoint keeps the transaction usable after the error.
    In autocommit a single statement is atomic by itself, and wrapping it would
    cost BEGIN/COMMIT round trips on the capture hot path.
    """
    if connections[using].in_atomic_block:
        return transaction.atomic(using=using)
    return nullcontext()


def database_now(using: str = DEFAULT_DB_ALIAS):
    """Return the database server's clock: leases and claims compare against it.

    Workers and web processes disagree by seconds; the database is the one clock
    they share. SQLite runs in-process, so its clock is this machine's.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        return timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        return cursor.fetchone()[0]


def database_clock(using: str = DEFAULT_DB_ALIAS):
    """The database's "now" for a filter, without a round trip of its own.

    PostgreSQL: ``Now()``, evaluated inside the statement. SQLite runs in this
    process, so its clock is this machine's; its ``Now()`` keeps only
    milliseconds, which would make a row due this millisecond look not yet due.
    """
    if connections[using].vendor == "postgresql":
        return Now()
    return timezone.now()


@contextmanager
def leader(key: int, using: str = DEFAULT_DB_ALIAS):
    """Yield True to the one process holding ``key`` now, False to any other.

    A PostgreSQL session advisory lock, tried without waiting and released at the
    end; SQLite serialises writers already, so every process leads there.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        leading = cursor.fetchone()[0]
    try:
        yield leading
    finally:
        if leading:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


# Django opens connections with prepare_threshold=None, which turns preparing off
# altogether. A threshold no statement reaches lets _PreparedCursor prepare its own
# statements while nothing is ever prepared automatically.
_NEVER_AUTOMATICALLY = 2**31 - 1


class _PreparedCursor(psycopg.Cursor):
    """Binds parameters on the server and prepares each statement on first use."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        prepare = True if settings.DATABASE_PREPARED_STATEMENTS else None
        if prepare and self.connection.prepare_threshold is None:
            self.connection.prepare_threshold = _NEVER_AUTOMATICALLY
        return super().execute(query, params, prepare=prepare, binary=binary)


def prepared_cursor(using: str = DEFAULT_DB_ALIAS):
    """A PostgreSQL cursor whose statements the server parses and plans once per connection.

    Django binds parameters on the client, so the server parses and plans every
    statement anew; for the capture statement (a CTE, a function call, 27
    parameters) that was a third of the database's CPU per pixel (issue 13).
    This cursor sends the parameters separately and, with
    DATABASE_PREPARED_STATEMENTS (default on), prepares the statement once per
    connection. Turn the setting off behind PgBouncer < 1.21 in transaction mode,
    which cannot keep prepared statements. Queries are logged and wrapped exactly
    like ``connection.cursor()``'s (django_assert_num_queries counts them).
    """
    connection = connections[using]
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        cursor = _PreparedCursor(connection.connection)
    if connection.queries_logged:
        return connection.make_debug_cursor(cursor)
    return connection.make_cursor(cursor)


# --- Hand-written statements built from model metadata ---------------------------------
# The hot paths (lead_store, delivery_store, task_queue) send fixed SQL instead of the
# ORM's; these keep its column names and row loading in one place.


def quoted_columns(fields, *, alias: str = "", using: str = DEFAULT_DB_ALIAS) -> str:
    """Return ``"col_a", "col_b"`` (each prefixed ``alias.`` if given) for ``fields``."""
    quote = connections[using].ops.quote_name
    prefix = f"{alias}." if alias else ""
    return ", ".join(f"{prefix}{quote(field.column)}" for field in fields)


def instance_from_row(model, row, *, using: str = DEFAULT_DB_ALIAS):
    """Build ``model`` from a row of all its concrete columns, converted as the ORM would."""
    return model.from_db(using, *_loader(model, using)(row))


@lru_cache(maxsize=32)
def _loader(model, using: str):
    connection = connections[using]
    fields = model._meta.concrete_fields
    names = [field.attname for field in fields]
    converters = [
        field.get_db_converters(connection) + connection.ops.get_db_converters(field)
        for field in fields
    ]

    def load(row):
        values = []
        for field, field_converters, value in zip(fields, converters, row, strict=True):
            for converter in field_converters:
                value = converter(value, field, connection)
            values.append(value)
        return names, values

    return load
