"""The dialer's side of Lead-to-Call schedules (SPEC §12): claim due leads, opt out.

Authenticated like the calls API. The call a dialer places is reported through
``POST /api/v1/calls`` with ``schedule_lead``; see ``services.schedules``.
"""

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from ..models import Schedule
from ..services import schedules
from .calls_views import CallsApiView
from .errors import Rejected
from .serializers import (
    ClaimRequestSerializer,
    ClaimResponseSerializer,
    ScheduleLeadSummarySerializer,
    rejection_responses,
    schedule_lead_summary,
)

_ERRORS = rejection_responses(
    {
        400: "Malformed body.",
        401: "No or bad credentials.",
        429: "Too many failed logins from this address (API_AUTH_FAILURE_RATE).",
        403: "User lacks integrations.use_calls_api.",
        404: "Unknown schedule or schedule lead.",
        413: "Body larger than CALLS_MAX_BODY_BYTES.",
        415: "Body in an unsupported format or compressed.",
        422: "Invalid field; the message names it.",
    }
)


def _summary(lead) -> dict:
    return schedule_lead_summary(lead, traffic_source_id=lead.traffic_source.traffic_source_id)


class ScheduleClaimView(CallsApiView):
    required_scope = "schedules"

    @extend_schema(
        operation_id="schedules_claim",
        summary="Claim due leads of a Lead-to-Call schedule, each with a lease",
        description="Due: queued or being contacted, not expired, attempts left, the retry "
        "spacing over, inside the schedule's contact window. Two dialers never get the "
        "same lead; a lead whose lease lapses without a reported call is due again.",
        request=ClaimRequestSerializer,
        responses={200: ClaimResponseSerializer, **_ERRORS},
    )
    def post(self, request, schedule_id: int):
        serializer = ClaimRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        schedule = Schedule.objects.filter(pk=schedule_id, active=True).first()
        if schedule is None:
            raise Rejected(404, [f"schedule_id: no active schedule {schedule_id}"])
        leads = schedules.claim_due(
            schedule=schedule,
            holder=request.user.get_username(),
            limit=serializer.validated_data["limit"],
            lease_seconds=serializer.validated_data.get("lease_seconds"),
        )
        now = timezone.now()
        return Response(
            {
                "schedule_id": schedule.pk,
                "window_open": schedule.window.is_open(now),
                "next_opening": schedule.window.next_opening(now),
                "leads": [
                    {
                        **_summary(lead),
                        "lease_expires_at": lead.lease_expires_at,
                        "claim": lead.claim_token,
                        "tokens": lead.tokens,
                    }
                    for lead in leads
                ],
            }
        )


class ScheduleLeadOptOutView(CallsApiView):
    required_scope = "schedules"

    @extend_schema(
        operation_id="schedules_lead_opt_out",
        summary="Do not call this schedule lead again (opt-out)",
        request=None,
        responses={200: ScheduleLeadSummarySerializer, **_ERRORS},
    )
    def post(self, request, lead_uuid):
        lead = schedules.opt_out(lead_uuid, cause=f"opt-out via API ({request.user})")
        return Response(_summary(lead))
