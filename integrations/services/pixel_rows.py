"""What every stored pixel keeps, whether it became a lead or a schedule lead."""

from dataclasses import dataclass
from datetime import datetime

from ..pixel.clean import CleanPixel


@dataclass
class RawRequest:
    """What Ringba sent, kept on the lead so an account manager can see it."""

    body: str = ""
    query: str = ""
    content_type: str = ""
    source_ip: str | None = None
    user_agent: str = ""


def pixel_row_fields(pixel: CleanPixel, raw: RawRequest, *, now: datetime) -> dict:
    """The columns Lead and ScheduleLead share, from a validated pixel and its request."""
    return {
        "traffic_source_id": pixel.traffic_source_pk,
        "caller_id": pixel.caller_id,
        "ringba_call_uuid": pixel.ringba_call_uuid,
        "is_test": pixel.is_test,
        "tokens": pixel.tokens,
        "warnings": pixel.warnings,
        "raw_body": raw.body,
        "raw_query": raw.query,
        "content_type": raw.content_type[:200],
        "source_ip": raw.source_ip,
        "user_agent": raw.user_agent[:500],
        "received_at": now,
        "updated_at": now,
    }
