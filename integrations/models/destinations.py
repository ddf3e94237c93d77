"""Destination hosts' health: one trigger can post to many partners' hosts (SPEC §13)."""

from django.db import models


class DestinationHealth(models.Model):
    """Failures in a row of postbacks to one ``host:port``, whichever trigger sent them."""

    host = models.CharField(max_length=300, unique=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    alerted_at = models.DateTimeField(null=True, blank=True)
    # Someone saw this streak's banner and took it on: hidden until the host succeeds
    # (which ends the streak and clears it) and fails past the threshold again.
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-consecutive_failures", "host"]
        verbose_name = "destination host"

    def __str__(self):
        return self.host
