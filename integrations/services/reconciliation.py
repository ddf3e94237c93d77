"""Reconcile a partner's Ringba with what we paid: every difference named (SPEC §16).

Our side is the partner's calls that were converted, paid or returned here, with
what Ringba should hold for each (its payout; 0 once returned). Their side is the
partner's Ringba call log for the period (``partner_call_log``), streamed: each of
their calls is paired as it arrives, and never kept.

Pairing: by Ringba call id first (our ``ringba_call_uuid`` is Ringba's
``inboundCallId``); then, for a call one side knows without an id, by caller id in
E.164 within ``window`` of each other, preferring the amount within ``tolerance``,
then the nearest in time. Every pair, and every call only one side has, gets one
label (``Difference``); calls neither side converted are left out. Times are UTC;
the period is whole UTC days.

A run is written whole in one transaction or, when the partner's side cannot be
read, only as its error: never half its rows.
"""

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone

from ..models import (
    Call,
    Difference,
    Event,
    LedgerEntry,
    LedgerKind,
    LedgerSide,
    Payment,
    PostbackAttempt,
    ReconciliationRow,
    ReconciliationRun,
    ReconciliationSource,
    TrafficSource,
)
from ..rules.ringba import is_test_call_id
from . import trigger_health
from .partner_call_log import PartnerLogError, TheirCall, file_period, read_api, read_csv

logger = logging.getLogger(__name__)

WINDOW = timedelta(minutes=10)
TOLERANCE = Decimal("0.01")
RINGBA_CONVERSION_DAYS = timedelta(days=30)  # Ringba takes a conversion this long after
BATCH = 5000


@dataclass
class Ours:
    """One of our calls as Ringba should see it."""

    call_id: int
    ringba_call_id: str
    caller_id: str
    started_at: datetime
    converted: bool
    returned: bool
    amount: Decimal  # what Ringba should hold
    paid: bool
    rejected_404: bool
    too_late: bool
    consumed: bool = False


@dataclass
class Tally:
    counts: dict = field(default_factory=lambda: defaultdict(int))
    our_total: Decimal = Decimal("0.00")
    their_total: Decimal = Decimal("0.00")
    our_conversions: int = 0
    their_conversions: int = 0
    their_rows: int = 0


def period_bounds(period_from: date, period_to: date) -> tuple[datetime, datetime]:
    """[start, end) in UTC for the days ``period_from`` … ``period_to``, both included."""
    start = datetime.combine(period_from, time.min, tzinfo=UTC)
    return start, datetime.combine(period_to, time.min, tzinfo=UTC) + timedelta(days=1)


def default_period(today: date | None = None) -> tuple[date, date]:
    """The last RECONCILE_DAYS UTC days, today included."""
    today = today or timezone.now().astimezone(UTC).date()
    return today - timedelta(days=settings.RECONCILE_DAYS - 1), today


def reconcile_partner(
    source,
    *,
    csv_file=None,
    file_name: str = "",
    period_from: date | None = None,
    period_to: date | None = None,
    run_by: str = "",
    scheduled: bool = False,
) -> ReconciliationRun:
    """Reconcile one partner from its Ringba API, or from ``csv_file`` when given.

    Without a period: the CSV's own days, or the last RECONCILE_DAYS for the API.
    """
    fields = {"run_by": run_by, "scheduled": scheduled, "file_name": file_name}
    if csv_file is not None:
        name = file_name or "the file"
        if period_from is None or period_to is None:
            try:
                covered = file_period(csv_file, name=name)
            except PartnerLogError as exc:
                covered = None
                theirs = _failing(exc)
            else:
                theirs = read_csv(csv_file, name=name)
            today = timezone.now().astimezone(UTC).date()
            period_from = period_from or (covered[0] if covered else today)
            period_to = period_to or (covered[1] if covered else today)
        else:
            theirs = read_csv(csv_file, name=name)
        origin = ReconciliationSource.CSV
    else:
        if period_from is None or period_to is None:
            default_from, default_to = default_period()
            period_from, period_to = period_from or default_from, period_to or default_to
        start, end = period_bounds(period_from, period_to)
        theirs = read_api(source, start=start, end=end)
        origin = ReconciliationSource.API
    return reconcile(
        source, theirs, period_from=period_from, period_to=period_to, origin=origin, **fields
    )


def partners_due(now: datetime | None = None) -> list:
    """Partners with a Ringba API token whose last scheduled run is RECONCILE_EVERY_HOURS old."""
    if settings.RECONCILE_EVERY_HOURS <= 0:
        return []
    now = now or timezone.now()
    since = now - timedelta(hours=settings.RECONCILE_EVERY_HOURS)
    recent = ReconciliationRun.objects.filter(
        traffic_source=OuterRef("pk"), scheduled=True, started_at__gt=since
    )
    return list(
        TrafficSource.objects.exclude(ringba_account_id="")
        .filter(ringba_token__isnull=False)
        .exclude(Exists(recent))
        .order_by("pk")
    )


def run_scheduled() -> list[ReconciliationRun]:
    """Reconcile every partner due, over the last RECONCILE_DAYS days, from its API.

    The account managers are told (once, by this run) when the open differences
    pass RECONCILE_ALERT_THRESHOLD, or when a partner's Ringba could not be read.
    """
    runs = []
    for source in partners_due():
        try:
            runs.append(reconcile_partner(source, scheduled=True, run_by="schedule"))
        except Exception:  # one partner's failure must not stop the others
            logger.exception("scheduled reconciliation of %s failed", source.traffic_source_id)
    failed = [run for run in runs if run.error]
    total = open_differences() if runs else 0
    if failed or (runs and total >= settings.RECONCILE_ALERT_THRESHOLD):
        lines = [f"{total} difference(s) with partners' Ringba are open."]
        lines += [f"{run.traffic_source.name}: {run.differences} this run" for run in runs]
        lines += [f"{run.traffic_source.name} not reconciled: {run.error}" for run in failed]
        trigger_health.tell_account_managers("Differences with partners' Ringba", "\n".join(lines))
    return runs


def latest_runs():
    """Each partner's latest run that was written (a failed run holds no rows)."""
    latest = (
        ReconciliationRun.objects.filter(traffic_source=OuterRef("traffic_source"), error="")
        .order_by("-started_at", "-id")
        .values("pk")[:1]
    )
    return ReconciliationRun.objects.filter(error="", pk=Subquery(latest))


def open_differences() -> int:
    """Rows of each partner's latest run that differ and nobody reviewed yet."""
    return (
        ReconciliationRow.objects.filter(
            run__in=latest_runs().values("pk"), reviewed_at__isnull=True
        )
        .exclude(label=Difference.MATCHED)
        .count()
    )


def _failing(error: PartnerLogError):
    raise error
    yield  # a generator that fails when read, inside the run's transaction


def reconcile(
    source,
    theirs: Iterable[TheirCall],
    *,
    period_from: date,
    period_to: date,
    origin: str,
    file_name: str = "",
    run_by: str = "",
    scheduled: bool = False,
    window: timedelta = WINDOW,
    tolerance: Decimal = TOLERANCE,
) -> ReconciliationRun:
    """Compare, label and store; return the run (with ``error`` set if it could not)."""
    if period_to < period_from:
        raise ValueError("the period ends before it starts")
    start, end = period_bounds(period_from, period_to)
    fields = {
        "traffic_source": source,
        "period_from": period_from,
        "period_to": period_to,
        "source": origin,
        "file_name": file_name[:255],
        "scheduled": scheduled,
        "run_by": run_by[:150],
    }
    try:
        with transaction.atomic():
            run = ReconciliationRun.objects.create(**fields)
            tally = _compare(run, source, theirs, start, end, window, tolerance)
            run.counts = dict(sorted(tally.counts.items()))
            run.our_total, run.their_total = tally.our_total, tally.their_total
            run.our_conversions = tally.our_conversions
            run.their_conversions = tally.their_conversions
            run.their_rows = tally.their_rows
            run.finished_at = timezone.now()
            run.save()
    except PartnerLogError as exc:
        run = ReconciliationRun.objects.create(
            **fields, error=str(exc)[:2000], finished_at=timezone.now()
        )
    logger.info(
        "reconciliation %s of %s %s…%s: %s",
        run.pk,
        source.traffic_source_id,
        period_from,
        period_to,
        run.error or run.counts,
    )
    return run


def _compare(run, source, theirs, start, end, window, tolerance) -> Tally:
    tally = Tally()
    ours = _our_calls(source, start - window, end + window)
    by_id: dict[str, Ours] = {}
    by_caller: dict[str, list[Ours]] = defaultdict(list)
    for call in ours:
        if call.ringba_call_id:
            by_id[call.ringba_call_id] = call
        if call.caller_id:
            by_caller[call.caller_id].append(call)
        if start <= call.started_at < end and call.converted:
            tally.our_conversions += 1
            tally.our_total += call.amount
    rows = RowWriter(run)

    def emit(label, mine: Ours | None, their: TheirCall | None, matched_by: str = ""):
        tally.counts[str(label)] += 1
        rows.add(
            label=str(label),
            ringba_call_id=(mine.ringba_call_id if mine else "")
            or (their.ringba_call_id if their else ""),
            call_id=mine.call_id if mine else None,
            caller_id=(mine.caller_id if mine else "") or (their.caller_id if their else ""),
            our_at=mine.started_at if mine else None,
            their_at=their.called_at if their else None,
            our_amount=mine.amount if mine else None,
            their_amount=their.amount if their and their.converted else None,
            matched_by=matched_by,
        )

    for their in theirs:
        if not start <= their.called_at < end:
            continue  # a file may hold more than the period
        tally.their_rows += 1
        if their.converted:
            tally.their_conversions += 1
            tally.their_total += their.amount
        mine, matched_by = None, ""
        if their.ringba_call_id and their.ringba_call_id in by_id:
            candidate = by_id[their.ringba_call_id]
            if not candidate.consumed:
                mine, matched_by = candidate, "id"
        if mine is None and their.caller_id:
            mine = _closest(by_caller.get(their.caller_id, ()), their, window, tolerance)
            matched_by = "caller" if mine else ""
        if mine is not None:
            mine.consumed = True
            label = _pair_label(mine, their, tolerance)
            if label is not None:
                emit(label, mine, their, matched_by)
        elif their.converted:
            emit(Difference.NOT_IN_PORTAL, None, their)
    for mine in ours:
        if not mine.consumed and start <= mine.started_at < end:
            label = _alone_label(mine)
            if label is not None:
                emit(label, mine, None)
    rows.flush()
    return tally


class RowWriter:
    """Writes a run's rows in batches: PostgreSQL's COPY, else bulk_create.

    A month of a busy partner is 100,000 rows; building a model instance for each
    cost more than the whole comparison (bench/README.md).
    """

    COLUMNS = (
        "label",
        "ringba_call_id",
        "call_id",
        "caller_id",
        "our_at",
        "their_at",
        "our_amount",
        "their_amount",
        "matched_by",
    )

    def __init__(self, run):
        self.run = run
        self.pending: list[dict] = []

    def add(self, **values) -> None:
        self.pending.append(values)
        if len(self.pending) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        if connection.vendor == "postgresql":
            self._copy()
        else:
            ReconciliationRow.objects.bulk_create(
                [ReconciliationRow(run=self.run, **values) for values in self.pending]
            )
        self.pending.clear()

    def _copy(self) -> None:
        table = ReconciliationRow._meta.db_table
        columns = ("run_id", *self.COLUMNS, "reviewed_by", "note")
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
            for values in self.pending:
                copy.write_row((self.run.pk, *(values[column] for column in self.COLUMNS), "", ""))


def _closest(candidates, their: TheirCall, window, tolerance) -> Ours | None:
    """The unpaired call of this caller nearest in time within the window.

    A call of ours that has a Ringba id is left for its id when their row has one
    too: only calls one side knows without an id are paired by caller.
    """
    best, best_key = None, None
    for mine in candidates:
        if mine.consumed or (their.ringba_call_id and mine.ringba_call_id):
            continue
        gap = abs(mine.started_at - their.called_at)
        if gap > window:
            continue
        key = (abs(mine.amount - their.amount) > tolerance, gap)
        if best_key is None or key < best_key:
            best, best_key = mine, key
    return best


def _pair_label(mine: Ours, their: TheirCall, tolerance) -> str | None:
    if not mine.converted:
        if their.converted and their.amount > 0:
            return Difference.RETURNED_NOT_VOIDED if mine.returned or mine.paid else None
        return Difference.MATCHED if mine.returned else None
    if not their.converted:
        return _alone_label(mine)
    if their.amount == 0 and mine.amount > 0:
        return Difference.ZERO_CONVERSION
    if abs(their.amount - mine.amount) > tolerance:
        if mine.rejected_404 and not mine.paid:
            return Difference.REJECTED_ALREADY_CONVERTED
        return Difference.AMOUNT_DIFFERS
    if mine.started_at.date() != their.called_at.date():
        return Difference.DAY_BOUNDARY
    return Difference.MATCHED


def _alone_label(mine: Ours) -> str | None:
    """A call converted here that Ringba shows without a conversion (or not at all)."""
    if not mine.converted:
        return None  # returned (or never converted): nothing is owed at Ringba
    if mine.paid:
        return Difference.SENT_NOT_RECORDED
    if mine.rejected_404:
        return Difference.REJECTED_ALREADY_CONVERTED
    if mine.too_late:
        return Difference.TOO_LATE
    return Difference.NEVER_SENT


def _our_calls(source, start: datetime, end: datetime) -> list[Ours]:
    """The partner's calls started in [start, end) that were converted, paid or returned."""
    returned = LedgerEntry.objects.filter(
        call=OuterRef("pk"), side=LedgerSide.OFFER, kind=LedgerKind.RETURN
    )
    # The payment's Ringba call id: None when unpaid ('' when the payment carried none).
    payment_id = Payment.objects.filter(call=OuterRef("pk")).values("ringba_call_id")[:1]
    answered_404 = PostbackAttempt.objects.filter(
        delivery__call=OuterRef("pk"),
        delivery__event=Event.CALL_OFFER_CONVERTED,
        delivery__is_test=False,
        status_code=404,
    )
    calls = (
        Call.objects.filter(traffic_source=source, started_at__gte=start, started_at__lt=end)
        .annotate(
            returned=Exists(returned),
            payment_ringba_id=Subquery(payment_id),
            answered_404=Exists(answered_404),
        )
        .filter(Q(offer_converted=True) | Q(payment_ringba_id__isnull=False) | Q(returned=True))
        .order_by("started_at", "id")
        .values_list(
            "pk",
            "caller_id",
            "started_at",
            "offer_converted",
            "offer_converted_at",
            "payout",
            "returned",
            "payment_ringba_id",
            "answered_404",
            "lead__ringba_call_uuid",
            "schedule_lead__ringba_call_uuid",
        )
    )
    ours = []
    for (
        pk,
        caller_id,
        started_at,
        converted,
        converted_at,
        payout,
        returned,
        payment_ringba_id,
        answered_404,
        lead_uuid,
        schedule_uuid,
    ) in calls.iterator(chunk_size=BATCH):
        ringba_call_id = payment_ringba_id or lead_uuid or schedule_uuid or ""
        if is_test_call_id(ringba_call_id):
            continue
        ours.append(
            Ours(
                call_id=pk,
                ringba_call_id=ringba_call_id,
                caller_id=caller_id,
                started_at=started_at.astimezone(UTC),
                converted=converted,
                returned=returned and not converted,
                amount=(payout or Decimal("0.00")) if converted else Decimal("0.00"),
                paid=payment_ringba_id is not None,
                rejected_404=answered_404,
                too_late=bool(
                    converted
                    and converted_at
                    and converted_at - started_at > RINGBA_CONVERSION_DAYS
                ),
            )
        )
    return ours
