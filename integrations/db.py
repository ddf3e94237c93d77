"""Database helpers shared by the write paths."""

from contextlib import nullcontext

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
