"""The operations console: one admin module per entity family."""

from django.contrib import admin

from . import (  # noqa: F401
    calls,
    deliveries,
    leads,
    numbers,
    offers,
    rejections,
    traffic_sources,
    triggers,
)

admin.site.site_header = "Ringba → TrackDrive portal"
admin.site.site_title = "Portal admin"
admin.site.index_title = "Operations console"
