"""Test settings: the real settings with test-friendly switches.

DATABASE_URL chooses SQLite (default) or PostgreSQL, exactly as in production.
"""

import os

os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-not-for-production-use-0123456789")
os.environ.setdefault(
    "STATICFILES_STORAGE", "django.contrib.staticfiles.storage.StaticFilesStorage"
)

from portal.settings import *  # noqa: F403

SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only
# Tests enqueue into the dummy backend and run the worker code explicitly.
TASKS = {
    "default": {
        "BACKEND": "django_tasks.backends.dummy.DummyBackend",
        "QUEUES": ["default", "postbacks"],
    }
}
CAPTURE_THROTTLE_RATE = None
RECONCILE_EVERY_HOURS = 0  # tests/money/test_reconciliation_admin.py turns it on
CAPTURE_INVALID_TOKEN_RATE = None  # the throttle tests turn these on
CAPTURE_REFUSED_RATE = None
API_AUTH_FAILURE_RATE = None  # tests/api/test_failed_logins.py turns it on
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "tests"}
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True  # no collectstatic in tests
