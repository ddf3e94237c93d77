"""``GET /api/v1/calls/stats/``: TrackDrive's call stats, as its API docs describe them.

Required, as TrackDrive has them: ``group_by`` (buyer_converted, offer_converted,
status, created_at_five_minutes / _day / _week / _month), ``stat`` (count or revenue;
cost and profit are named in a 422: the portal keeps no cost) and the period,
``created_at_from`` / ``created_at_to`` ("2016-01-01 12:25:15 -0500", ISO 8601 or a
date), both ends included. Optional filters: ``buyer_converted``,
``offer_converted``, ``either_converted``, ``in_progress`` (TrackDrive's booleans:
1/0, true/false, yes/no, on/off), ``offer_id`` and ``traffic_source_id``. TrackDrive's
other documented filters (repeat callers, holds, recordings) are refused by name
rather than ignored: an answer that ignored one would count the wrong calls.

The answer (TrackDrive does not publish one; this is ours, documented in the
schema and docs/trackdrive-compat.md): the request echoed, then ``stats``, one
``{"group", "value"}`` per group in order, and their ``total``. Served with and
without the trailing slash (TrackDrive's documented URL has it).
"""

from django.conf import settings
from django.db.models import Q
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from ..models import Call
from ..services.call_stats import (
    GROUPS,
    MAX_FIVE_MINUTE_PERIOD,
    MAX_PERIOD,
    STATS,
    STATS_WITHOUT_DATA,
    call_stats,
)
from .calls_views import CallsApiView
from .errors import Rejected
from .lookups import traffic_source_by_public_id
from .moments import trackdrive_moment
from .serializers import rejection_responses

ID_MAX = 2**63 - 1
# TrackDrive's documented filters that need data the portal does not keep.
FILTERS_WITHOUT_DATA = (
    "offer_repeat_caller",
    "buyer_repeat_caller",
    "placed_on_hold",
    "has_recording",
)
# The dashboard's groupings and figures, offered at /api/v1/stats instead.
DASHBOARD_GROUPS = ("day", "hour", "offer", "traffic_source")
DASHBOARD_STATS = ("all", "payout")


class CallStatsQuerySerializer(serializers.Serializer):
    group_by = serializers.CharField(help_text=f"One of: {', '.join(GROUPS)}.")
    stat = serializers.CharField(help_text=f"One of: {', '.join(STATS)}.")
    created_at_from = serializers.CharField(
        max_length=40, help_text="Like 2016-01-01 12:25:15 -0500 (or ISO 8601, or a date)."
    )
    created_at_to = serializers.CharField(max_length=40, help_text="Included, like the start.")
    page = serializers.IntegerField(
        required=False, min_value=1, max_value=1, help_text="Every group is on page 1."
    )
    buyer_converted = serializers.BooleanField(required=False)
    offer_converted = serializers.BooleanField(required=False)
    either_converted = serializers.BooleanField(required=False)
    in_progress = serializers.BooleanField(required=False)
    offer_id = serializers.IntegerField(required=False, min_value=1, max_value=ID_MAX)
    traffic_source_id = serializers.IntegerField(required=False, min_value=1, max_value=ID_MAX)


class GroupFigureSerializer(serializers.Serializer):
    group = serializers.CharField(
        help_text="'true'/'false'; 'completed'/'in-progress'; a five-minute slice's start "
        "(ISO 8601); a day or a week's Monday (YYYY-MM-DD); a month (YYYY-MM)."
    )
    value = serializers.CharField(help_text="A count, or revenue as a decimal string.")


class CallStatsResponseSerializer(serializers.Serializer):
    group_by = serializers.CharField()
    stat = serializers.CharField()
    created_at_from = serializers.DateTimeField()
    created_at_to = serializers.DateTimeField()
    time_zone = serializers.CharField(help_text="The zone days, weeks and months are cut in.")
    stats = GroupFigureSerializer(many=True)
    total = serializers.CharField(help_text="The sum of the values.")


class CallStatsView(CallsApiView):
    required_scope = "stats"

    @extend_schema(
        operation_id="calls_stats",
        summary="Calls grouped one way, one figure per group (TrackDrive's GET /calls/stats)",
        parameters=[CallStatsQuerySerializer],
        responses={
            200: CallStatsResponseSerializer,
            **rejection_responses(
                {
                    401: "No or bad credentials.",
                    422: "A missing or bad parameter, or one the portal has no data for.",
                    429: "Too many failed logins from this address.",
                }
            ),
        },
    )
    def get(self, request):
        given = request.query_params.dict()
        _refuse_what_has_no_data(given)
        query = CallStatsQuerySerializer(data=given)
        if not query.is_valid():
            raise serializers.ValidationError(query.errors)
        params = query.validated_data
        group_by, stat = params["group_by"], params["stat"]
        start = trackdrive_moment(params["created_at_from"], "created_at_from")
        end = trackdrive_moment(params["created_at_to"], "created_at_to")
        if start > end:
            raise Rejected(422, ["created_at_from: must not be after created_at_to"])
        longest = MAX_FIVE_MINUTE_PERIOD if group_by == "created_at_five_minutes" else MAX_PERIOD
        if end - start > longest:
            raise Rejected(
                422, [f"created_at_to: with group_by={group_by}, at most {longest.days} days"]
            )
        figures = call_stats(_filtered(params), group_by=group_by, stat=stat, start=start, end=end)
        total = sum((figure.value for figure in figures), 0)
        return Response(
            {
                "group_by": group_by,
                "stat": stat,
                "created_at_from": start.isoformat(),
                "created_at_to": end.isoformat(),
                "time_zone": settings.TIME_ZONE,
                "stats": [
                    {"group": figure.group, "value": _value(figure.value)} for figure in figures
                ],
                "total": _value(total),
            }
        )


class CallStatsSlashView(CallStatsView):
    """TrackDrive's documented URL ends in a slash; the same answer, one schema entry."""

    @extend_schema(exclude=True)
    def get(self, request):
        return super().get(request)


def _refuse_what_has_no_data(given: dict) -> None:
    errors = []
    group_by, stat = given.get("group_by"), given.get("stat")
    if group_by in DASHBOARD_GROUPS:
        errors.append(
            f"group_by: {group_by!r} is a grouping of GET /api/v1/stats; here one of "
            + ", ".join(GROUPS)
        )
    elif group_by is not None and group_by not in GROUPS:
        errors.append(f"group_by: {group_by!r} is not one of {', '.join(GROUPS)}")
    if stat in STATS_WITHOUT_DATA:
        errors.append(f"stat: {stat!r} is not available: {STATS_WITHOUT_DATA[stat]}")
    elif stat in DASHBOARD_STATS:
        errors.append(f"stat: {stat!r} is a figure of GET /api/v1/stats; here count or revenue")
    elif stat is not None and stat not in STATS:
        errors.append(f"stat: {stat!r} is not one of {', '.join(STATS)}")
    for name in FILTERS_WITHOUT_DATA:
        if name in given:
            errors.append(
                f"{name}: not supported: the portal does not record it, so no call could be "
                "matched by it; leave it out"
            )
    if errors:
        raise Rejected(422, errors)


def _filtered(params: dict):
    calls = Call.objects.all()
    for flag in ("buyer_converted", "offer_converted"):
        if flag in params:
            calls = calls.filter(**{flag: params[flag]})
    if "either_converted" in params:
        either = Q(offer_converted=True) | Q(buyer_converted=True)
        calls = calls.filter(either) if params["either_converted"] else calls.exclude(either)
    if "in_progress" in params:
        calls = calls.filter(ended_at__isnull=params["in_progress"])
    if "offer_id" in params:
        calls = calls.filter(offer_id=params["offer_id"])
    if "traffic_source_id" in params:
        calls = calls.filter(
            traffic_source=traffic_source_by_public_id(params["traffic_source_id"])
        )
    return calls


def _value(value) -> int | str:
    return value if isinstance(value, int) else str(value)
