from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Ringba integration"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Imported for their side effects, which Django allows only once apps are
        # ready: signal subscribers (firing, tasks, offer-cache invalidation, the time zone
        # remembered at login) and checks.
        from . import checks, middleware, tasks  # noqa: F401
        from .services import adjustments, firing, offer_cache  # noqa: F401
