"""How long data is kept, and the personal-data purge for one caller.

``prune`` deletes what has aged out, in small batches (each its own short
transaction, so no long locks), never touching anything a live delivery needs:
- attempts of delivered postbacks after RETENTION_DELIVERED_ATTEMPT_DAYS (30): the
  delivery row keeps its status, time and attempt count;
- calls after RETENTION_CALL_DAYS (400), with their deliveries and attempts, unless
  a delivery is still due;
- leads after RETENTION_LEAD_DAYS (400), unless their call is kept; closed schedule
  leads likewise, once none of their calls is kept;
- finished task-queue rows after RETENTION_TASK_RESULT_DAYS (7);
- rejected pixels after REJECTED_PIXEL_DAYS (7).

``purge_caller`` removes one caller's personal data everywhere (number, pixel
fields, raw requests, rendered URLs, response bodies) and keeps what the business
counts: rows, statuses, conversions and money. A schedule lead of the caller still
being worked is opted out first: nobody calls a person who asked to be forgotten.
"""

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from ..models import (
    DUE_STATUSES,
    OPEN_STATES,
    Call,
    DeliveryStatus,
    DestinationHealth,
    EventTrigger,
    Lead,
    PostbackAttempt,
    PostbackDelivery,
    RejectedPixel,
    ScheduleLead,
)
from . import schedules

logger = logging.getLogger(__name__)

PURGED = "purged"


@dataclass
class PruneReport:
    deleted: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, count: int) -> None:
        self.deleted[name] = self.deleted.get(name, 0) + count


def _in_batches(queryset, report: PruneReport, name: str, *, batch_size: int) -> None:
    """Delete ``queryset`` by primary key, ``batch_size`` rows per transaction."""
    model = queryset.model
    while True:
        ids = list(queryset.values_list("pk", flat=True)[:batch_size])
        if not ids:
            return
        with transaction.atomic():
            model.objects.filter(pk__in=ids).delete()
        report.add(name, len(ids))


def prune(*, batch_size: int = 1000) -> PruneReport:
    """Delete what has aged out (see the module docstring); return what went."""
    now = timezone.now()
    report = PruneReport()

    attempts_cutoff = now - timedelta(days=settings.RETENTION_DELIVERED_ATTEMPT_DAYS)
    _in_batches(
        PostbackAttempt.objects.filter(
            started_at__lt=attempts_cutoff, delivery__status=DeliveryStatus.DELIVERED
        ),
        report,
        "attempts of delivered postbacks",
        batch_size=batch_size,
    )

    live = PostbackDelivery.objects.filter(call=OuterRef("pk"), status__in=DUE_STATUSES)
    calls_cutoff = now - timedelta(days=settings.RETENTION_CALL_DAYS)
    _in_batches(
        Call.objects.filter(started_at__lt=calls_cutoff).exclude(Exists(live)),
        report,
        "calls",
        batch_size=batch_size,
    )

    leads_cutoff = now - timedelta(days=settings.RETENTION_LEAD_DAYS)
    _in_batches(
        Lead.objects.filter(received_at__lt=leads_cutoff, call__isnull=True),
        report,
        "leads",
        batch_size=batch_size,
    )

    live_own = PostbackDelivery.objects.filter(
        schedule_lead=OuterRef("pk"), status__in=DUE_STATUSES
    )
    _in_batches(
        ScheduleLead.objects.filter(received_at__lt=leads_cutoff, calls__isnull=True)
        .exclude(state__in=OPEN_STATES)
        .exclude(Exists(live_own)),
        report,
        "schedule leads",
        batch_size=batch_size,
    )

    tasks_cutoff = now - timedelta(days=settings.RETENTION_TASK_RESULT_DAYS)
    _in_batches(
        DBTaskResult.objects.finished().filter(finished_at__lt=tasks_cutoff),
        report,
        "finished tasks",
        batch_size=batch_size,
    )
    rejections_cutoff = now - timedelta(days=settings.REJECTED_PIXEL_DAYS)
    _in_batches(
        RejectedPixel.objects.filter(received_at__lt=rejections_cutoff),
        report,
        "rejected pixels",
        batch_size=batch_size,
    )
    if report.deleted:
        logger.info("pruned %s", report.deleted)
    return report


def _scrub_errors_mentioning(caller_id: str) -> None:
    """Blank the health errors (per trigger, per host) that quote the caller's number."""
    mentions = Q()
    for written in {caller_id, caller_id.lstrip("+"), _national(caller_id)}:
        mentions |= Q(last_error__contains=written)
    for model in (EventTrigger, DestinationHealth):
        model.objects.filter(mentions).update(last_error=f"[{PURGED}]")


def _national(e164: str) -> str:
    """The number without its country code as typed in North America (10 digits)."""
    digits = e164.lstrip("+")
    return digits[1:] if digits.startswith("1") and len(digits) == 11 else digits


def _without_personal_parts(url: str) -> str:
    """Keep where a postback went (scheme and host); drop path and query, which carry tokens."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/[{PURGED}]" if parts.netloc else ""


# What a purged lead or schedule lead keeps of its pixel: nothing personal.
_PIXEL_PURGED = {
    "caller_id": PURGED,
    "tokens": {},
    "warnings": [],
    "raw_body": "",
    "raw_query": "",
    "source_ip": None,
    "user_agent": "",
}


def purge_caller(*, caller_id: str) -> dict[str, int]:
    """Remove the personal data of the caller ``caller_id`` (E.164); return counts.

    Leads lose the number, pixel fields, raw request, address and user agent; calls
    lose the number and post-call tokens; deliveries keep only the host they went
    to (no why panel, no request hash); attempts lose the response bodies; trigger
    and host health errors quoting the number are blanked. Statuses, conversions
    and money stay.
    """
    with transaction.atomic():
        leads = Lead.objects.filter(caller_id=caller_id)
        calls = Call.objects.filter(caller_id=caller_id)
        schedule_leads = ScheduleLead.objects.filter(caller_id=caller_id)
        for lead_uuid in schedule_leads.filter(state__in=OPEN_STATES).values_list(
            "uuid", flat=True
        ):
            schedules.opt_out(lead_uuid, cause="personal data purged (purge_caller)")
        deliveries = (
            PostbackDelivery.objects.filter(call__in=calls)
            | PostbackDelivery.objects.filter(lead__in=leads)
            | PostbackDelivery.objects.filter(schedule_lead__in=schedule_leads)
        )
        delivery_rows = list(deliveries.distinct().values_list("pk", "url"))
        for pk, url in delivery_rows:
            PostbackDelivery.objects.filter(pk=pk).update(
                url=_without_personal_parts(url),
                last_error="",
                skip_reason="",
                # The "why" panel holds every token's value; the request key is a hash
                # of the URL, and a phone number is few enough digits to guess back.
                explanation={},
                request_key="",
            )
        _scrub_errors_mentioning(caller_id)
        attempts = PostbackAttempt.objects.filter(delivery_id__in=[pk for pk, _ in delivery_rows])
        counts = {
            "attempts": attempts.update(response_body="", error=""),
            "deliveries": len(delivery_rows),
            "calls": calls.update(caller_id=PURGED, post_call_tokens={}),
            "leads": leads.update(**_PIXEL_PURGED),
            "schedule leads": schedule_leads.update(**_PIXEL_PURGED),
            # Refused requests are kept only to debug a pixel: delete, don't scrub. The
            # raw text is searched too, for a number the pixel sent in another format.
            "rejected pixels": RejectedPixel.objects.filter(
                Q(caller_id=caller_id)
                | Q(raw_body__contains=caller_id)
                | Q(raw_query__contains=caller_id.lstrip("+"))
                | Q(raw_body__contains=_national(caller_id))
            ).delete()[0],
        }
    logger.info("purged the personal data of one caller: %s", counts)
    return counts
