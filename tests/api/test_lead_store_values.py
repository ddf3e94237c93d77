"""The capture statement sends each lead column exactly as the ORM would."""

import pytest
from django.db import connection
from django.utils import timezone
from psycopg.types.json import Jsonb

from integrations.models import Lead
from integrations.services.lead_store import _column_readers, _postgres_statement

from ..factories import OfferFactory, TrafficSourceFactory

pytestmark = pytest.mark.django_db


def _comparable(value):
    # Jsonb and Inet wrap a value and do not compare by it.
    if isinstance(value, Jsonb):
        return ("jsonb", value.obj)
    if type(value).__name__ == "Inet":
        return ("inet", str(value))
    return value


@pytest.mark.parametrize("source_ip", ["203.0.113.9", "2001:DB8:0:0:0:0:0:1", None])
def test_every_column_is_the_orms_value(source_ip):
    if connection.vendor != "postgresql":
        pytest.skip("the one-statement capture is PostgreSQL's")
    offer, source = OfferFactory(), TrafficSourceFactory()
    now = timezone.now()
    lead = Lead(
        offer=offer,
        traffic_source=source,
        caller_id="+13125550101",
        ringba_call_uuid="RGB-VALUES",
        is_test=False,
        tokens={"zip": "60601", "nested": {"a": [1, 2]}},
        warnings=["first_name: dropped"],
        raw_body='{"zip": "60601"}',
        raw_query="a=1",
        content_type="application/json",
        source_ip=source_ip,
        user_agent="Ringba",
        received_at=now,
        updated_at=now,
    )
    fields, _ = _postgres_statement()
    ours = [_comparable(read(lead)) for read in _column_readers()]
    orms = [
        _comparable(field.get_db_prep_save(field.pre_save(lead, True), connection))
        for field in fields
    ]
    assert [field.name for field in fields] and ours == orms
