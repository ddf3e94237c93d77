"""Show the admin's times in the signed-in user's own time zone."""

import zoneinfo

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.utils import timezone

from .models import UserPreferences

SESSION_KEY = "integrations_time_zone"


class UserTimeZoneMiddleware:
    """Activate the user's chosen zone for admin pages (TIME_ZONE otherwise).

    Only under /admin/: the APIs and the pixel never read a session. The zone is
    put in the session when the user logs in (and when they change it), so a page
    costs no query for it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/admin/"):
            return self.get_response(request)
        name = self._zone_name(request)
        if name:
            with timezone.override(zoneinfo.ZoneInfo(name)):
                return self.get_response(request)
        return self.get_response(request)

    def _zone_name(self, request) -> str:
        if not request.user.is_authenticated:
            return ""
        return request.session.get(SESSION_KEY, "")


@receiver(user_logged_in, dispatch_uid="integrations.remember_time_zone")
def remember_time_zone(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        chosen = UserPreferences.objects.filter(user=user).values_list("time_zone", flat=True)
        request.session[SESSION_KEY] = chosen.first() or ""
