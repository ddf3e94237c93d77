"""The operations console: one admin module per entity family."""

from django.contrib import admin

from . import calls, deliveries, leads, numbers, offers, traffic_sources, triggers  # noqa: F401

admin.site.site_header = "Ringba → TrackDrive portal"
admin.site.site_title = "Portal admin"
admin.site.index_title = "Operations console"
