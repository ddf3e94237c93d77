"""Objects an API query names by their public id, or a 422 that says so."""

from ..models import TrafficSource
from .errors import Rejected


def traffic_source_by_public_id(public_id: int) -> TrafficSource:
    """The partner whose public ``traffic_source_id`` a query names; 422 when none is."""
    source = TrafficSource.objects.filter(traffic_source_id=public_id).first()
    if source is None:
        raise Rejected(422, ["traffic_source_id: no traffic source with this id"])
    return source
