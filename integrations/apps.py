from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Ringba integration"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Imported for their side effects, which Django allows only once apps are
        # ready: signal subscribers (firing, tasks, offer-cache invalidation, the time zone
        # remembered at login) and checks.
        from .services import adjustments, firing  # noqa: F401
