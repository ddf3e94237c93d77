"""The system checks catch dangerous production configurations."""

from django.core.management import call_command
from django.core.management.base import SystemCheckError


def _check_ids(settings_changes, settings, deploy=False):
    for name, value in settings_changes.items():
        setattr(settings, name, value)
    try:
        call_command("check", *(["--deploy"] if deploy else []), fail_level="ERROR")
    except SystemCheckError as exc:
        return str(exc)
    return ""


def test_debug_with_a_public_host_is_an_error(settings):
    report = _check_ids({"DEBUG": True, "ALLOWED_HOSTS": ["calls.example.com"]}, settings)
    assert "integrations.E002" in report


def test_private_ip_postbacks_outside_debug_is_an_error(settings):
    report = _check_ids({"DEBUG": False, "POSTBACK_ALLOW_PRIVATE_IPS": True}, settings)
    assert "integrations.E003" in report


def test_default_secret_key_without_debug_fails_deploy_check(settings):
    report = _check_ids(
        {"DEBUG": False, "SECRET_KEY": settings.INSECURE_DEV_SECRET_KEY}, settings, deploy=True
    )
    assert "integrations.E001" in report


def test_safe_settings_pass(settings):
    assert _check_ids({"DEBUG": False, "POSTBACK_ALLOW_PRIVATE_IPS": False}, settings) == ""


def test_a_field_encryption_key_that_is_not_a_fernet_key_is_an_error(settings):
    from cryptography.fernet import Fernet

    report = _check_ids(
        {"FIELD_ENCRYPTION_KEYS": [Fernet.generate_key().decode(), "not-a-key"]}, settings
    )
    assert "integrations.E006" in report and "entry 2 " in report
