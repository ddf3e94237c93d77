import contextlib
import json
import uuid

from django.contrib import admin
from django.db.models import Q
from django.utils.html import format_html
from rangefilter.filters import DateRangeFilter

from ..models import ContactField, Lead
from .big_tables import BigTableAdmin, phone_variants
from .csv_export import CsvExportMixin
from .links import change_link, cut

# Columns the export already has under these names.
RESERVED_COLUMNS = frozenset({"caller_id", "ringba_call_uuid", "traffic_source_id"})


def _token(name: str):
    return lambda lead: (lead.tokens or {}).get(name, "")


class ReadOnlyMixin:
    """Audit data: visible and searchable, never edited or deleted by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Lead)
class LeadAdmin(CsvExportMixin, ReadOnlyMixin, BigTableAdmin):
    csv_columns = (
        ("received_at", lambda lead: lead.received_at),
        ("lead_uuid", lambda lead: lead.uuid),
        ("ringba_call_uuid", lambda lead: lead.ringba_call_uuid),
        ("caller_id", lambda lead: lead.caller_id),
        ("offer", lambda lead: lead.offer.name),
        ("traffic_source", lambda lead: lead.traffic_source.name if lead.traffic_source else ""),
        (
            "traffic_source_id",
            lambda lead: lead.traffic_source.traffic_source_id if lead.traffic_source else "",
        ),
        ("call_uuid", lambda lead: lead.call.call_uuid if hasattr(lead, "call") else ""),
        ("warnings", lambda lead: len(lead.warnings or [])),
    )

    def csv_columns_for(self, queryset) -> tuple:
        """One column per contact field of the offers (all offers' fields, a small table:
        finding the offers in a filtered million-row export would cost a scan)."""
        names = dict.fromkeys(
            ContactField.objects.order_by("offer_id", "pk").values_list("name", flat=True)
        )
        fields = tuple((name, _token(name)) for name in names if name not in RESERVED_COLUMNS)
        return self.csv_columns + fields

    list_display = [
        "received_at",
        "caller_id",
        "offer",
        "traffic_source",
        "ringba_call_uuid_short",
        "call_short",
        "warning_count",
    ]
    list_filter = [
        ("received_at", DateRangeFilter),
        "offer",
        "traffic_source",
        "is_test",
    ]
    list_select_related = ["offer", "traffic_source", "call"]
    search_fields = ["=caller_id", "=uuid", "=ringba_call_uuid"]
    search_help_text = (
        "Exact lead uuid or ringba_call_uuid; caller id in any format "
        "((312) 555-0100, 3125550100, +13125550100)."
    )
    fields = [
        "uuid",
        "offer",
        "traffic_source",
        "caller_id",
        "ringba_call_uuid",
        "is_test",
        "call_link",
        "tokens_pretty",
        "warnings_pretty",
        "received_at",
        "updated_at",
        "content_type",
        "source_ip",
        "user_agent",
        "raw_query",
        "raw_body",
    ]
    readonly_fields = fields

    def search_conditions(self, term):
        conditions = Q(caller_id__in=phone_variants(term)) | Q(ringba_call_uuid=term)
        with contextlib.suppress(ValueError):  # a term that is not a uuid is not a lead's
            conditions |= Q(uuid=uuid.UUID(term))
        return conditions

    @admin.display(description="ringba_call_uuid", ordering="ringba_call_uuid")
    def ringba_call_uuid_short(self, lead):
        shown = cut(lead.ringba_call_uuid, 16)
        return f"{shown} (test)" if lead.is_test else shown

    @admin.display(description="call")
    def call_short(self, lead):
        call = getattr(lead, "call", None)
        return change_link(call, call.call_uuid if call else None, limit=8)

    @admin.display(description="call")
    def call_link(self, lead):
        call = getattr(lead, "call", None)
        return change_link(call, call.call_uuid if call else None)

    @admin.display(description="warnings")
    def warning_count(self, lead):
        return len(lead.warnings or [])

    @admin.display(description="tokens")
    def tokens_pretty(self, lead):
        return format_html("<pre>{}</pre>", json.dumps(lead.tokens, indent=2, sort_keys=True))

    @admin.display(description="warnings")
    def warnings_pretty(self, lead):
        return format_html("<pre>{}</pre>", "\n".join(lead.warnings or []) or "—")
