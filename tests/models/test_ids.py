import time
import uuid

from integrations.rules.ids import uuid7


def test_uuid7_has_version_7_and_the_rfc_variant():
    value = uuid7()
    assert value.version == 7 and value.variant == uuid.RFC_4122


def test_uuid7_sorts_by_creation_time():
    first = uuid7()
    time.sleep(0.002)
    second = uuid7()
    assert first < second
    assert (second.int >> 80) - (first.int >> 80) >= 1  # the millisecond prefix moved


def test_uuid7_values_are_unique():
    assert len({uuid7() for _ in range(10_000)}) == 10_000
