"""An account manager's own display settings."""

from django.conf import settings
from django.db import models

from ..hours.time_zones import time_zone_choices


class UserPreferences(models.Model):
    """The time zone the admin shows times in for this user (TIME_ZONE when unset)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preferences"
    )
    time_zone = models.CharField(max_length=64, choices=time_zone_choices)

    class Meta:
        verbose_name_plural = "user preferences"

    def __str__(self):
        return f"{self.user} ({self.time_zone})"
