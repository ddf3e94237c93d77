"""A call's postback outcome on the calls list: a coloured, linked badge and a filter.

The badge shows the latest real (not test) postback's status; the filter keeps
calls with a real postback in that status (or none), answered through the
deliveries' call index, never by scanning the table.
"""

from django.contrib import admin
from django.db.models import Exists, OuterRef
from django.utils.html import format_html

from ..models import DeliveryStatus, PostbackDelivery
from .links import change_url

NONE = "none"
# Pending is about to be sent: shown and filtered with the retrying ones.
WAITING = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)


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
    title = "postback outcome"
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
        real = PostbackDelivery.objects.filter(call=OuterRef("pk"), is_test=False)
        if value == NONE:
            return queryset.filter(~Exists(real))
        statuses = WAITING if value == "retrying" else (value,)
        return queryset.filter(Exists(real.filter(status__in=statuses)))
