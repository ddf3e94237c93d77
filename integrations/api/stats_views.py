"""``GET /api/v1/stats``: the dashboard's numbers over the API (SPEC §13).

TrackDrive's own ``GET /api/v1/calls/stats`` (its groupings, from the raw calls) is
``call_stats_views``. Here the period may also be named ``created_at_from`` /
``created_at_to``, as TrackDrive names it.

TrackDrive's calls/stats style: a period (``start`` inclusive, ``end`` exclusive,
dates or date-times in TIME_ZONE; the last 7 days by default), ``group_by`` day,
hour, offer or traffic_source, ``stat`` count, payout or revenue (or all), and optional
``offer_id`` and ``traffic_source_id`` (the public id partners send). Authenticated
like the calls API.
"""

from datetime import datetime, time, timedelta

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from ..services.rollups import floor_hour
from ..services.stats import AMOUNTS, COUNTS, GROUPS, MAX_PERIOD, stats
from .calls_views import CallsApiView
from .errors import Rejected
from .lookups import traffic_source_by_public_id
from .moments import parse_moment, trackdrive_moment
from .serializers import rejection_responses

STATS = ("all", "count", "payout", "revenue")


class StatsQuerySerializer(serializers.Serializer):
    start = serializers.CharField(required=False, help_text="YYYY-MM-DD or ISO 8601; inclusive.")
    end = serializers.CharField(required=False, help_text="YYYY-MM-DD or ISO 8601; exclusive.")
    created_at_from = serializers.CharField(
        required=False, help_text="TrackDrive's name for start (also '2016-01-01 12:25:15 -0500')."
    )
    created_at_to = serializers.CharField(required=False, help_text="TrackDrive's name for end.")
    group_by = serializers.ChoiceField(choices=GROUPS, default="day")
    stat = serializers.ChoiceField(choices=STATS, default="all")
    offer_id = serializers.IntegerField(required=False, min_value=1)
    traffic_source_id = serializers.IntegerField(required=False, min_value=1)


class StatsFiguresSerializer(serializers.Serializer):
    """The figures ``stat`` asks for: counts (count), conversions and payout (payout)."""

    pixels_accepted = serializers.IntegerField(required=False)
    pixels_rejected = serializers.IntegerField(required=False)
    calls = serializers.IntegerField(required=False)
    matched_calls = serializers.IntegerField(required=False)
    conversions = serializers.IntegerField(required=False)
    payout = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, help_text="A decimal string."
    )
    buyer_conversions = serializers.IntegerField(required=False)
    revenue = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, help_text="A decimal string."
    )
    postbacks_delivered = serializers.IntegerField(required=False)
    postbacks_retrying = serializers.IntegerField(required=False)
    postbacks_failed = serializers.IntegerField(required=False)
    postbacks_skipped = serializers.IntegerField(required=False)


class StatsRowSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="The day, hour, offer id or traffic source id.")
    label = serializers.CharField()
    figures = StatsFiguresSerializer()


class StatsResponseSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    group_by = serializers.CharField()
    totals = StatsFiguresSerializer()
    rows = StatsRowSerializer(many=True)


STATS_SCHEMA = {
    "summary": "Pixels, calls, conversions, payout and postbacks for a period",
    "parameters": [StatsQuerySerializer],
    "responses": {
        200: StatsResponseSerializer,
        **rejection_responses(
            {
                401: "No or bad credentials.",
                422: "A bad parameter.",
                429: "Too many failed logins from this address.",
            }
        ),
    },
}


class StatsView(CallsApiView):
    required_scope = "stats"

    @extend_schema(operation_id="stats", **STATS_SCHEMA)
    def get(self, request):
        # A plain dict, not the QueryDict: DRF reads "stat=" in a form as "not given".
        query = StatsQuerySerializer(data=request.query_params.dict())
        if not query.is_valid():
            raise serializers.ValidationError(query.errors)
        params = query.validated_data
        moments = {}
        for trackdrive_name, name in (("created_at_from", "start"), ("created_at_to", "end")):
            if trackdrive_name in params:
                if name in params:
                    raise Rejected(422, [f"{trackdrive_name}: send either it or {name}"])
                moments[name] = trackdrive_moment(params[trackdrive_name], trackdrive_name)
            elif name in params:
                moments[name] = parse_moment(params[name], name)
        today = datetime.combine(timezone.localdate(), time.min)
        end = moments.get("end") or timezone.make_aware(today + timedelta(days=1))
        start = moments.get("start") or end - timedelta(days=7)
        # Rollups are hourly: the period is widened to whole hours.
        start, end = (
            floor_hour(start),
            floor_hour(end - timedelta(microseconds=1)) + timedelta(hours=1),
        )
        if start >= end:
            raise Rejected(422, ["start: must be before end"])
        if end - start > MAX_PERIOD:
            raise Rejected(422, [f"end: a period is at most {MAX_PERIOD.days} days"])
        source_pk = None
        if "traffic_source_id" in params:
            source_pk = traffic_source_by_public_id(params["traffic_source_id"]).pk
        result = stats(
            start=start,
            end=end,
            group_by=params["group_by"],
            offer_id=params.get("offer_id"),
            traffic_source_id=source_pk,
        )
        wanted = _wanted(params["stat"])
        return Response(
            {
                "start": start.isoformat(),
                "end": end.isoformat(),
                "group_by": result.group_by,
                "totals": _pick(result.totals, wanted),
                "rows": [
                    {"key": row.key, "label": row.label, "figures": _pick(row.figures, wanted)}
                    for row in result.rows
                ],
            }
        )


def _wanted(stat: str) -> tuple[str, ...]:
    if stat == "count":
        return COUNTS
    if stat == "payout":
        return ("conversions", "payout")
    if stat == "revenue":
        return ("buyer_conversions", "revenue")
    return (*COUNTS, *AMOUNTS)


def _pick(figures: dict, wanted: tuple[str, ...]) -> dict:
    return {name: str(figures[name]) if name in AMOUNTS else figures[name] for name in wanted}
