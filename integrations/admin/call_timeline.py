"""A call's story in order, like TrackDrive's Events tab: pixel, call, conversions,
every postback attempt with its answer, payments, ledger movements, adjustments.

Read from the rows the product keeps (nothing is logged for this page): a fixed
handful of queries per call, whatever it went through.
"""

from django.utils import timezone
from django.utils.html import format_html, format_html_join

from ..models import Call, PostbackAttempt, RingbaAdjustment
from ..outbound.error_summaries import summary_of
from .links import change_link


def call_timeline(call: Call) -> str:
    moments = _moments(call)
    if not moments:
        return "—"
    moments.sort(key=lambda moment: moment[0])
    rows = format_html_join(
        "",
        '<tr><td class="nowrap">{}</td><td>{}</td><td>{}</td></tr>',
        (
            (timezone.localtime(when).strftime("%Y-%m-%d %H:%M:%S"), what, detail)
            for when, what, detail in moments
        ),
    )
    return format_html(
        '<table class="call-timeline"><thead><tr><th>when</th><th>what</th><th>detail</th>'
        "</tr></thead><tbody>{}</tbody></table>",
        rows,
    )


def _moments(call: Call) -> list[tuple]:
    moments = []
    if call.lead_id:
        lead = call.lead
        moments.append(
            (lead.received_at, "pixel received", change_link(lead, lead.ringba_call_uuid or "lead"))
        )
    moments.append((call.started_at, "call started", f"from {call.caller_id}"))
    if call.ended_at:
        moments.append((call.ended_at, "call ended", f"{call.duration or 0} s"))
    for entry in call.ledger.order_by("created_at", "id"):
        moments.append(
            (
                entry.created_at,
                f"{entry.get_kind_display().lower()} ({entry.get_side_display().split(' (')[0]})",
                f"{entry.amount:+} → {entry.total_after}, by {entry.actor or '—'}"
                + (f": {entry.reason}" if entry.reason else ""),
            )
        )
    attempts = PostbackAttempt.objects.filter(delivery__call=call, delivery__is_test=False)
    for attempt in attempts.select_related("delivery").order_by("started_at", "id"):
        answer = (
            f"answered {attempt.status_code}"
            if attempt.status_code
            else summary_of(attempt.error or "") or "no answer"
        )
        event = attempt.delivery.get_event_display().lower()
        moments.append(
            (
                attempt.started_at,
                f"{event} postback, attempt {attempt.number}",
                format_html(
                    "{}: {}", change_link(attempt.delivery, f"#{attempt.delivery_id}"), answer
                ),
            )
        )
    for payment in call.payments.all():
        moments.append((payment.paid_at, "Ringba paid", f"{payment.amount} ({payment.evidence})"))
    for adjustment in RingbaAdjustment.objects.filter(call=call).order_by("created_at", "id"):
        moments.append(
            (
                adjustment.created_at,
                "Ringba adjustment",
                format_html(
                    "{}: {} → {}, {}",
                    change_link(adjustment, f"#{adjustment.pk}"),
                    adjustment.from_amount,
                    adjustment.to_amount,
                    adjustment.get_status_display().lower(),
                ),
            )
        )
    return moments
