"""System checks for dangerous production configurations (``manage.py check --deploy``)."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

_LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1", "testserver"}


@register(Tags.security, deploy=True)
def check_secret_key(app_configs, **kwargs):
    if not settings.DEBUG and settings.SECRET_KEY == settings.INSECURE_DEV_SECRET_KEY:
        return [
            Error(
                "SECRET_KEY is the development default while DEBUG is off.",
                hint="Set SECRET_KEY in the environment to a long random value.",
                id="integrations.E001",
            )
        ]
    return []


@register(Tags.security)
def check_debug_with_public_hosts(app_configs, **kwargs):
    public = [host for host in settings.ALLOWED_HOSTS if host not in _LOCAL_HOSTS]
    if settings.DEBUG and public:
        return [
            Error(
                f"DEBUG is on while ALLOWED_HOSTS names public hosts ({', '.join(public)}).",
                hint="Turn DEBUG off on any server reachable from outside this machine.",
                id="integrations.E002",
            )
        ]
    return []


@register(Tags.security)
def check_private_postbacks(app_configs, **kwargs):
    if settings.POSTBACK_ALLOW_PRIVATE_IPS and not settings.DEBUG:
        return [
            Error(
                "POSTBACK_ALLOW_PRIVATE_IPS is on outside DEBUG: postbacks could reach "
                "internal services.",
                hint="Leave it off in production; it exists for tests and local demos.",
                id="integrations.E003",
            )
        ]
    return []


@register()
def check_postback_settings(app_configs, **kwargs):
    problems = []
    if not any(host.strip() for host in settings.POSTBACK_ALLOWED_HOSTS):
        problems.append(
            Warning(
                "POSTBACK_ALLOWED_HOSTS is empty: no postback can be sent.",
                hint="Set it to webhook.ringba.com (the default) or the hosts you post to.",
                id="integrations.W001",
            )
        )
    if any(seconds < 0 for seconds in settings.POSTBACK_RETRY_SCHEDULE):
        problems.append(
            Error(
                "POSTBACK_RETRY_SCHEDULE has a negative delay.",
                hint="Use comma-separated seconds, e.g. 5,300,1800.",
                id="integrations.E004",
            )
        )
    if not settings.PUBLIC_BASE_URL.startswith(("http://", "https://")):
        problems.append(
            Error(
                "PUBLIC_BASE_URL must be an absolute http(s) URL.",
                hint="e.g. https://calls.example.com",
                id="integrations.E005",
            )
        )
    return problems


@register(Tags.security, deploy=True)
def check_public_base_url_https(app_configs, **kwargs):
    if not settings.DEBUG and settings.PUBLIC_BASE_URL.startswith("http://"):
        return [
            Warning(
                "PUBLIC_BASE_URL is plain http:// while DEBUG is off; partners would be "
                "told to post lead tokens unencrypted.",
                hint="Serve the portal over HTTPS and set PUBLIC_BASE_URL=https://...",
                id="integrations.W002",
            )
        ]
    return []


@register(Tags.security)
def check_field_encryption_keys(app_configs, **kwargs):
    """Each FIELD_ENCRYPTION_KEYS entry must be a Fernet key, or no partner token can be stored."""
    from .infra.secrets_at_rest import valid_key

    bad = [
        position
        for position, key in enumerate(settings.FIELD_ENCRYPTION_KEYS, start=1)
        if key and not valid_key(key)
    ]
    if not bad:
        return []
    return [
        Error(
            f"FIELD_ENCRYPTION_KEYS entry {', '.join(map(str, bad))} is not a Fernet key.",
            hint='Make one with: python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())"',
            id="integrations.E006",
        )
    ]
