"""The signed-in user's own time zone for the admin (issue 14: times with their zone)."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from ..middleware import SESSION_KEY
from ..models import UserPreferences
from ..models.preferences import time_zone_choices


class TimeZoneForm(forms.Form):
    time_zone = forms.ChoiceField(
        choices=[("", f"The server's ({settings.TIME_ZONE})"), *time_zone_choices()],
        required=False,
        help_text="Times in the admin are shown in this zone, with its abbreviation.",
    )


def time_zone_view(request):
    current = getattr(request.user, "preferences", None)
    form = TimeZoneForm(
        request.POST or None, initial={"time_zone": current.time_zone if current else ""}
    )
    if request.method == "POST" and form.is_valid():
        chosen = form.cleaned_data["time_zone"]
        if chosen:
            UserPreferences.objects.update_or_create(
                user=request.user, defaults={"time_zone": chosen}
            )
        else:
            UserPreferences.objects.filter(user=request.user).delete()
        request.session[SESSION_KEY] = chosen
        messages.success(request, f"Times are now shown in {chosen or settings.TIME_ZONE}.")
        return redirect("admin:index")
    return TemplateResponse(
        request,
        "admin/integrations/time_zone.html",
        {**admin.site.each_context(request), "title": "Your time zone", "form": form},
    )
