"""The operations console: one admin module per entity family."""

from django.contrib import admin
from rest_framework.authtoken.models import TokenProxy

from . import (  # noqa: F401
    adjustments,
    api_clients,
    calls,
    deliveries,
    leads,
    numbers,
    offers,
    reconciliation,
    rejections,
    schedules,
    traffic_sources,
    trigger_templates,
    triggers,
)

admin.site.site_header = "Ringba → TrackDrive portal"
admin.site.site_title = "Portal admin"
admin.site.index_title = "Operations console"
# The left navigation sidebar takes 300 of 1280 px from every list; the home page and
# the breadcrumbs already lead everywhere.
admin.site.enable_nav_sidebar = False
# There is no public site to view; the header links to the API docs instead
# (templates/admin/base_site.html).
admin.site.site_url = None

# Calls-API keys are API clients now, stored hashed (admin/api_clients.py); the plain
# DRF token page would show every key to every staff user.
if admin.site.is_registered(TokenProxy):
    admin.site.unregister(TokenProxy)
