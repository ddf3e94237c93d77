"""Identifiers."""

import secrets
import time
import uuid


def uuid7() -> uuid.UUID:
    """Return a time-ordered UUID (RFC 9562 version 7).

    Layout: 48 bits of Unix milliseconds, version 7, 12 random bits, the RFC
    variant, 62 random bits. New values sort after old ones, so inserts into a
    unique index on them append at its right edge instead of touching random pages
    of a large index (random v4 keys slowed the capture path as the lead table
    grew). Python 3.14 has uuid.uuid7; 3.11 does not.
    """
    milliseconds = time.time_ns() // 1_000_000
    value = (milliseconds & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= secrets.randbits(12) << 64
    value |= 0b10 << 62
    value |= secrets.randbits(62)
    return uuid.UUID(int=value)
