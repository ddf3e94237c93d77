from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Ringba integration"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Connect signal receivers and register system checks.
        from . import cache_invalidation, checks, events  # noqa: F401
