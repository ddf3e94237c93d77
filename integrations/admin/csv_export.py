"""CSV export of a big list exactly as filtered, streamed (SPEC §13, issue 15).

The export URL is the list's own URL plus ``export.csv``: the same filters, date
range and search build the same queryset through Django's ChangeList, and the rows
are streamed from a database iterator in chunks, so a million rows cost the
server a chunk of memory, not the whole file. Cells that a spreadsheet would run
as a formula are written as text (a leading apostrophe), except plain numbers
such as a caller id's +13125550100.
"""

import csv
import logging
import re

from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.db.models import OuterRef, Subquery
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.urls import path, reverse
from django.utils import timezone

from ..models import PostbackAttempt, PostbackDelivery

logger = logging.getLogger(__name__)
CHUNK_ROWS = 2000
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def last_attempt(delivery_ref: str) -> dict:
    """Annotations: the status code and error of a delivery's latest attempt."""
    attempts = PostbackAttempt.objects.filter(delivery=OuterRef(delivery_ref)).order_by(
        "-started_at", "-id"
    )
    return {
        "_last_response_code": Subquery(attempts.values("status_code")[:1]),
        "_last_error": Subquery(attempts.values("error")[:1]),
    }


def postback_outcome(call_ref: str) -> dict:
    """Annotations for a call: its latest real delivery's status and last response."""
    deliveries = PostbackDelivery.objects.filter(call=OuterRef(call_ref), is_test=False).order_by(
        "-created_at", "-id"
    )
    attempts = PostbackAttempt.objects.filter(
        delivery__call=OuterRef(call_ref), delivery__is_test=False
    ).order_by("-started_at", "-id")
    return {
        "_postback_status": Subquery(deliveries.values("status")[:1]),
        "_last_response_code": Subquery(attempts.values("status_code")[:1]),
        "_last_error": Subquery(attempts.values("error")[:1]),
    }


class _Echo:
    """A file-like object that hands back what csv.writer writes to it."""

    def write(self, value):
        return value


def safe_cell(value) -> str:
    """The cell as text a spreadsheet will not evaluate (CSV/formula injection)."""
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    text = str(value)
    if text[:1] in ("=", "@", "\t", "\r") or (
        text[:1] in ("+", "-") and not _PLAIN_NUMBER.fullmatch(text)
    ):
        return "'" + text
    return text


class CsvExportMixin:
    """Adds ``<list>/export.csv`` and an "Export CSV" button to a ModelAdmin.

    Subclasses set ``csv_columns``: (header, function of a row) pairs, and may
    override ``csv_queryset`` to add the annotations their columns read.
    """

    change_list_template = "admin/integrations/change_list_export.html"
    csv_columns: tuple = ()

    def csv_queryset(self, queryset):
        return queryset

    def csv_columns_for(self, queryset) -> tuple:
        """The export's columns; a subclass may add some that depend on the data."""
        return self.csv_columns

    def get_urls(self):
        meta = self.model._meta
        return [
            path(
                "export.csv",
                self.admin_site.admin_view(self.export_csv),
                name=f"{meta.app_label}_{meta.model_name}_export",
            ),
            *super().get_urls(),
        ]

    def export_csv(self, request):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
            queryset = self.csv_queryset(changelist.get_queryset(request))
            queryset.exists()  # a filter the database refuses fails here, before the 200
        except (IncorrectLookupParameters, DatabaseError):
            # What the list page does with filters it cannot apply: back to the list
            # with Django's "?e=1", which says the filters were not valid.
            meta = self.model._meta
            changelist_url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
            return HttpResponseRedirect(f"{changelist_url}?{ERROR_FLAG}=1")
        writer = csv.writer(_Echo())
        columns = self.csv_columns_for(queryset)

        def rows():
            yield writer.writerow([header for header, _ in columns])
            written = 0
            try:
                for obj in queryset.iterator(chunk_size=CHUNK_ROWS):
                    yield writer.writerow([safe_cell(read(obj)) for _, read in columns])
                    written += 1
            except Exception as exc:
                # The 200 and the first rows are already sent: the file itself must say
                # that it stops short, or it would pass for the whole export.
                logger.exception("CSV export of %s failed after %s rows", self.model, written)
                yield writer.writerow(
                    [
                        f"# EXPORT FAILED after {written} rows ({type(exc).__name__}); "
                        "this file is incomplete: export again or narrow the filters"
                    ]
                )

        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        name = self.model._meta.verbose_name_plural.replace(" ", "-")
        response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
        return response
