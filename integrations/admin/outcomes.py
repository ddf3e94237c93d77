"""A call's postback outcome on the calls list: a coloured, linked badge and a filter.

The badge shows the latest real (not test) postback's status; the filter keeps
calls with a real postback in that status (or none), answered through the
deliveries' call index, never by scanning the table.
"""

from decimal import Decimal

from django.contrib import admin
from django.db.models import Exists, OuterRef, Subquery
from django.utils.html import format_html

from ..models import (
    DeliveryStatus,
    Event,
    Payment,
    PostbackDelivery,
    RingbaAdjustment,
)
from ..services.adjustments import APPLIED
from .links import change_url

NONE = "none"
# Pending is about to be sent: shown and filtered with the retrying ones.
WAITING = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)


def money_annotations() -> dict:
    """Per call: what Ringba was paid (payment, latest applied adjustment), the
    conversion postback and the enrichment (latest of each). One subquery each."""
    real = PostbackDelivery.objects.filter(call=OuterRef("pk"), is_test=False).order_by(
        "-created_at", "-id"
    )
    conversion = real.filter(event=Event.CALL_OFFER_CONVERTED)
    enrichment = real.filter(event=Event.CALL_STARTED)
    adjusted = RingbaAdjustment.objects.filter(call=OuterRef("pk"), status__in=APPLIED).order_by(
        "-finished_at", "-id"
    )
    return {
        "_paid": Subquery(Payment.objects.filter(call=OuterRef("pk")).values("amount")[:1]),
        "_held": Subquery(adjusted.values("to_amount")[:1]),
        "_conversion_status": Subquery(conversion.values("status")[:1]),
        "_conversion_id": Subquery(conversion.values("pk")[:1]),
        "_enrichment_status": Subquery(enrichment.values("status")[:1]),
        "_enrichment_id": Subquery(enrichment.values("pk")[:1]),
    }


def ringba_paid(call) -> str:
    """What the partner's Ringba holds for the call, from the payment and adjustments;
    before any payment, where the conversion postback stands. A call paid at Ringba
    but no longer converted here (un-converted, returned) is flagged until Ringba
    holds 0."""
    if call._paid is not None:
        held = Decimal(call._held if call._held is not None else call._paid)
        shown = f"{held:.2f}"  # subqueries on SQLite lose the column's scale
        if not call.offer_converted and held > 0:
            return format_html(
                '<span class="outcome outcome-failed" title="Ringba still holds {} for a call '
                'no longer converted here (un-converted or returned): see its adjustments">'
                "still paid {}</span>",
                shown,
                shown,
            )
        if call._held is not None:
            word = "returned" if held == 0 else "adjusted"
            return status_pill(DeliveryStatus.DELIVERED, f"{word} {shown}")
        return status_pill(DeliveryStatus.DELIVERED, f"paid {shown}")
    if call._conversion_id is None:
        return "—"
    return outcome_badge(call._conversion_status, PostbackDelivery(pk=call._conversion_id))


def enrichment_state(call) -> str:
    if call._enrichment_id is None:
        return "—"
    status = call._enrichment_status
    label = {DeliveryStatus.SKIPPED: "not sent"}.get(status)
    badge = outcome_badge(status, PostbackDelivery(pk=call._enrichment_id))
    return badge if label is None else status_pill(status, label)


def pill_class(status: str) -> str:
    """The pill colour of a delivery status: retrying covers pending (about to send)."""
    if status in WAITING:
        return "retrying"
    return status if status in (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED) else "skipped"


def status_pill(status: str, text: str) -> str:
    return format_html('<span class="outcome outcome-{}">{}</span>', pill_class(status), text)


def outcome_badge(status: str, delivery: PostbackDelivery) -> str:
    label = "retrying" if status in WAITING else status
    return format_html(
        '<a class="outcome outcome-{}" href="{}" title="Open the postback">{}</a>',
        label,
        change_url(delivery),
        label,
    )


class PostbackOutcomeFilter(admin.SimpleListFilter):
    """By the conversion postback (the "Ringba paid" column): an enrichment's outcome
    is its own column and says nothing of the payment."""

    title = "conversion postback"
    parameter_name = "postback"

    def lookups(self, request, model_admin):
        return [
            (DeliveryStatus.DELIVERED, "delivered"),
            ("retrying", "retrying or about to send"),
            (DeliveryStatus.FAILED, "failed"),
            (DeliveryStatus.SKIPPED, "skipped"),
            (NONE, "no postback"),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        real = PostbackDelivery.objects.filter(
            call=OuterRef("pk"), is_test=False, event=Event.CALL_OFFER_CONVERTED
        )
        if value == NONE:
            return queryset.filter(~Exists(real))
        statuses = WAITING if value == "retrying" else (value,)
        return queryset.filter(Exists(real.filter(status__in=statuses)))


def flag(value: bool, word: str) -> str:
    """A yes/no a reader needs only when it is yes: the word, or a quiet dash (no red ✗
    on every row for the ordinary case)."""
    return word if value else "—"
