"""``GET /api/v1/calls`` (and ``.csv``) with TrackDrive's paging and filters.

Two ways to page, as TrackDrive has them:
- **cursor** (the default): start with ``cursor=-1`` (or none), send back
  ``metadata.next_cursor`` until it is 0 (``cursor=0`` answers an empty page). A
  cursor is a call id; the walk is by id, which is creation order, so calls made
  meanwhile never shift a page.
- **page** / ``per_page``: numbered pages with ``total_count``, for small sets
  (up to MAX_PAGE pages deep; past that, use the cursor).

``created_at_from`` / ``created_at_to`` take TrackDrive's ``2016-01-01 12:25:15 -0500``,
ISO 8601 or a date (midnight in TIME_ZONE). ``order`` is ``created_at`` or ``id``
(the same walk) and ``order_dir`` ``desc`` (default) or ``asc``.
"""

import csv
import io

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from ..admin.csv_export import safe_cell
from ..models import Call
from .calls_views import CALL_ERRORS, CallCreateView, CallsApiView
from .errors import Rejected
from .lookups import traffic_source_by_public_id
from .moments import trackdrive_moment

PER_PAGE_DEFAULT = 25
PER_PAGE_MAX = 100
PER_PAGE_MAX_CSV = 1000
MAX_PAGE = 400
ID_MAX = 2**63 - 1  # the largest id a database column holds


class CallListQuerySerializer(serializers.Serializer):
    cursor = serializers.IntegerField(required=False, min_value=-1, max_value=ID_MAX, default=-1)
    page = serializers.IntegerField(required=False, min_value=1, max_value=MAX_PAGE)
    per_page = serializers.IntegerField(required=False, min_value=1, default=PER_PAGE_DEFAULT)
    created_at_from = serializers.CharField(required=False, max_length=40)
    created_at_to = serializers.CharField(required=False, max_length=40)
    order = serializers.ChoiceField(choices=("created_at", "id"), default="created_at")
    order_dir = serializers.ChoiceField(choices=("desc", "asc"), default="desc")
    offer_id = serializers.IntegerField(required=False, min_value=1, max_value=ID_MAX)
    traffic_source_id = serializers.IntegerField(required=False, min_value=1, max_value=ID_MAX)
    offer_converted = serializers.BooleanField(required=False)
    buyer_converted = serializers.BooleanField(required=False)


class CallRowSerializer(serializers.ModelSerializer):
    """A call in a list: its own columns only (no per-row queries)."""

    number = serializers.CharField(source="number.number", allow_null=True, default=None)
    offer = serializers.CharField(source="offer.name")
    traffic_source_id = serializers.IntegerField(source="traffic_source.traffic_source_id")
    lead_uuid = serializers.UUIDField(source="lead.uuid", allow_null=True, default=None)

    class Meta:
        model = Call
        fields = [
            "id",
            "call_uuid",
            "created_at",
            "started_at",
            "ended_at",
            "duration",
            "number",
            "caller_id",
            "offer_id",
            "offer",
            "traffic_source_id",
            "lead_uuid",
            "schedule_lead_id",
            "buyer_converted",
            "revenue",
            "offer_converted",
            "payout",
            "post_call_tokens",
        ]


class CallListMetadataSerializer(serializers.Serializer):
    cursor = serializers.IntegerField(required=False)
    next_cursor = serializers.IntegerField(
        required=False, help_text="Send as cursor for the next page; 0 when this is the last."
    )
    page = serializers.IntegerField(required=False)
    total_count = serializers.IntegerField(required=False)
    total_pages = serializers.IntegerField(required=False)
    per_page = serializers.IntegerField()
    order = serializers.CharField()
    order_dir = serializers.CharField()


class CallListResponseSerializer(serializers.Serializer):
    calls = CallRowSerializer(many=True)
    metadata = CallListMetadataSerializer()


class CallListView(CallsApiView):
    as_csv = False

    @extend_schema(
        operation_id="calls_list",
        summary="List calls, paged by cursor or page (TrackDrive's GET /calls)",
        parameters=[CallListQuerySerializer],
        responses={200: CallListResponseSerializer, **CALL_ERRORS},
    )
    def get(self, request):
        as_csv = self.as_csv
        query = CallListQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        params = query.validated_data
        most = PER_PAGE_MAX_CSV if as_csv else PER_PAGE_MAX
        if params["per_page"] > most:
            raise Rejected(422, [f"per_page: at most {most}"])
        calls = _filtered(params)
        if "page" in params:
            rows, metadata = _numbered_page(calls, params)
        else:
            rows, metadata = _cursor_page(calls, params)
        data = CallRowSerializer(rows, many=True).data
        if as_csv:
            return _csv_response(data, metadata)
        return Response({"calls": data, "metadata": metadata})


def _filtered(params):
    calls = Call.objects.select_related("number", "offer", "traffic_source", "lead")
    if "created_at_from" in params:
        since = trackdrive_moment(params["created_at_from"], "created_at_from")
        calls = calls.filter(created_at__gte=since)
    if "created_at_to" in params:
        until = trackdrive_moment(params["created_at_to"], "created_at_to")
        calls = calls.filter(created_at__lte=until)
    if "offer_id" in params:
        calls = calls.filter(offer_id=params["offer_id"])
    if "traffic_source_id" in params:
        calls = calls.filter(
            traffic_source=traffic_source_by_public_id(params["traffic_source_id"])
        )
    for flag in ("offer_converted", "buyer_converted"):
        if flag in params:
            calls = calls.filter(**{flag: params[flag]})
    descending = params["order_dir"] == "desc"
    return calls.order_by("-id" if descending else "id")


def _cursor_page(calls, params):
    cursor, per_page = params["cursor"], params["per_page"]
    descending = params["order_dir"] == "desc"
    if cursor > 0:
        calls = calls.filter(id__lt=cursor) if descending else calls.filter(id__gt=cursor)
    # 0 is the next_cursor of the last page: a client that sends it back has read
    # everything, and must not start over (TrackDrive's SDK loops until it sees 0).
    rows = list(calls[: per_page + 1]) if cursor != 0 else []
    more = len(rows) > per_page
    rows = rows[:per_page]
    return rows, {
        "cursor": cursor,
        "next_cursor": rows[-1].pk if more else 0,
        "per_page": per_page,
        "order": params["order"],
        "order_dir": params["order_dir"],
    }


def _numbered_page(calls, params):
    page, per_page = params["page"], params["per_page"]
    total = calls.count()
    rows = list(calls[(page - 1) * per_page : page * per_page])
    return rows, {
        "page": page,
        "per_page": per_page,
        "total_count": total,
        "total_pages": (total + per_page - 1) // per_page,
        "order": params["order"],
        "order_dir": params["order_dir"],
    }


def _csv_response(rows, metadata) -> HttpResponse:
    columns = CallRowSerializer.Meta.fields
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([safe_cell(_cell(row[column])) for column in columns])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="calls.csv"'
    # The cursor travels in a header: a CSV has no room for metadata.
    response["X-Next-Cursor"] = str(metadata.get("next_cursor", ""))
    if "total_count" in metadata:
        response["X-Total-Count"] = str(metadata["total_count"])
    return response


def _cell(value):
    if isinstance(value, dict):
        return "; ".join(f"{key}={item}" for key, item in value.items())
    return value


class CallCsvView(CallListView):
    as_csv = True

    @extend_schema(
        operation_id="calls_list_csv",
        summary="The same list as CSV (per_page up to 1000; the next cursor in X-Next-Cursor)",
        parameters=[CallListQuerySerializer],
        responses={(200, "text/csv"): OpenApiTypes.STR, **CALL_ERRORS},
    )
    def get(self, request):
        return super().get(request)


class CallsView(CallListView, CallCreateView):
    """``/api/v1/calls``: GET lists calls, POST records one."""
