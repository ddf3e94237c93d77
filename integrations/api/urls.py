from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from .call_list_views import CallCsvView, CallsView
from .call_stats_views import CallStatsSlashView, CallStatsView
from .caller_views import CallUpdateByCallerView
from .calls_views import CallDetailView, CallEventsView, CallUpdateView
from .capture_views import LeadCaptureAliasView, LeadCaptureView
from .schedules_views import ScheduleClaimView, ScheduleLeadOptOutView
from .stats_views import StatsView

urlpatterns = [
    path("v1/leads/capture", LeadCaptureView.as_view(), name="leads-capture"),
    path("v1/leads", LeadCaptureAliasView.as_view(), name="leads-capture-alias"),
    path("v1/calls", CallsView.as_view(), name="calls-create"),
    path("v1/calls.csv", CallCsvView.as_view(), name="calls-csv"),
    path("v1/calls/update_call/<str:call_uuid>", CallUpdateView.as_view(), name="calls-update"),
    path(
        "v1/calls/update_by_caller_id/<str:caller_id>",
        CallUpdateByCallerView.as_view(),
        name="calls-update-by-caller",
    ),
    # Before calls/<id>: "stats" is this path, not a call.
    path("v1/calls/stats", CallStatsView.as_view(), name="calls-stats"),
    path("v1/calls/stats/", CallStatsSlashView.as_view(), name="calls-stats-slash"),
    path("v1/calls/<str:call_id>", CallDetailView.as_view(), name="calls-detail"),
    path("v1/calls/<str:call_id>/events", CallEventsView.as_view(), name="calls-events"),
    path("v1/stats", StatsView.as_view(), name="stats"),
    path(
        "v1/schedules/<int:schedule_id>/claim", ScheduleClaimView.as_view(), name="schedules-claim"
    ),
    path(
        "v1/schedules/leads/<uuid:lead_uuid>/opt_out",
        ScheduleLeadOptOutView.as_view(),
        name="schedules-lead-opt-out",
    ),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
]
