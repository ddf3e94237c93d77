"""URL configuration: the admin, the APIs, the partner pages and health."""

from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path

from integrations.admin.preferences import time_zone_view


def healthz(request):
    """Liveness for load balancers: answers without touching the database."""
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("admin/time-zone/", admin.site.admin_view(time_zone_view), name="admin-time-zone"),
    path("admin/", admin.site.urls),
    path("api/", include("integrations.api.urls")),
    path("", include("integrations.urls")),
    path("healthz", healthz, name="healthz"),
]

handler400 = "integrations.api.errors.bad_request"
handler403 = "integrations.api.errors.permission_denied"
handler404 = "integrations.api.errors.not_found"
handler500 = "integrations.api.errors.server_error"
