"""A call page's money panels: what Ringba was paid, the ledger, and Ringba adjustments."""

from django.contrib import admin
from django.utils.html import format_html

from ..models import PostbackDelivery
from ..services.paid import paid_postback
from .adjustments import adjustment_note, not_paid_yet
from .links import change_link, format_html_join_or_dash


class MoneyPanels:
    """The call page's read-only money fields (SPEC §14)."""

    @admin.display(description="paid to Ringba")
    def paid_to_ringba(self, call):
        paid = paid_postback(call)
        if paid is None:
            return not_paid_yet(call)
        sent = paid.payout_sent if paid.payout_sent is not None else "a conversion"
        delivered = change_link(
            PostbackDelivery(pk=paid.delivery_id), f"postback #{paid.delivery_id}"
        )
        note = paid.note(call)
        if note:
            return format_html('<strong class="errornote">{}</strong> ({})', note, delivered)
        return format_html("{} by {}", sent, delivered)

    @admin.display(description="ledger")
    def money_ledger(self, call):
        return format_html_join_or_dash(
            "<table><tr><th>when</th><th>movement</th><th>amount</th><th>total</th>"
            "<th>by</th><th>why</th><th>version</th></tr>{}</table>",
            "<tr><td>{}</td><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
            "<td>{}</td></tr>",
            (
                (
                    f"{entry.created_at:%Y-%m-%d %H:%M:%S}",
                    entry.get_side_display().split(" ")[0],
                    entry.kind,
                    f"{entry.amount:+.2f}",
                    f"{entry.total_after:.2f}",
                    entry.actor,
                    entry.reason or "—",
                    entry.call_version,
                )
                for entry in call.ledger.all()
            ),
            empty="— (no money movement yet)",
        )

    @admin.display(description="Ringba adjustments")
    def ringba_adjustments(self, call):
        return format_html_join_or_dash(
            "<table><tr><th>adjustment</th><th>from → to</th><th>how</th><th>status</th>"
            "<th>note</th></tr>{}</table>",
            "<tr><td>{}</td><td>{} → {}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    change_link(adjustment, f"#{adjustment.pk}"),
                    adjustment.from_amount,
                    adjustment.to_amount,
                    adjustment.mode.replace("_", " "),
                    adjustment.get_status_display(),
                    adjustment_note(adjustment),
                )
                for adjustment in call.ringba_adjustments.order_by("created_at", "id")
            ),
            empty="— (none: Ringba holds what it was paid)",
        )
