"""Database helpers shared by the write paths."""

from contextlib import nullcontext
from functools import lru_cache

from django.db import DEFAULT_DB_ALIAS, connections, transaction


def savepoint_if_nested(using: str = DEFAULT_DB_ALIAS):
    """Guard one statement that may raise IntegrityError.

    Inside a transaction, a savepoint keeps the transaction usable after the error.
    In autocommit a single statement is atomic by itself, and wrapping it would
    cost BEGIN/COMMIT round trips on the capture hot path.
    """
    if connections[using].in_atomic_block:
        return transaction.atomic(using=using)
    return nullcontext()


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
