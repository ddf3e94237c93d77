"""Settings for the Ringba → TrackDrive direct-post portal.

Every value comes from the environment (see ``.env.example``); the defaults give a
working development setup on SQLite. Production mistakes that the defaults cannot
prevent are caught by the system checks in ``integrations/checks.py``.
"""

from pathlib import Path
from urllib.parse import urlsplit

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env is a convenience for development; the real environment always wins.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# The development default is only usable with DEBUG on; integrations.E001 refuses it otherwise.
INSECURE_DEV_SECRET_KEY = "dev-only-insecure-secret-key-change-me"
SECRET_KEY = env.str("SECRET_KEY", default=INSECURE_DEV_SECRET_KEY)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_tasks",
    "django_tasks_db",
    "rangefilter",
    "simple_history",
    "integrations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",  # who made each change
    "integrations.middleware.UserTimeZoneMiddleware",  # admin times in the user's zone
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# The pixel endpoints run behind a shorter stack (portal/lanes.py): Ringba sends no
# cookie or CSRF token, a pixel changes no configuration and shows no time, and the
# socket check replaces the SELECT 1 round trip of CONN_HEALTH_CHECKS (issue 13).
PIXEL_PATHS = ("/api/v1/leads/capture", "/api/v1/leads")
PIXEL_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "portal.connection_check.QuietConnectionCheckMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# The capture statement is prepared once per connection (integrations/db.py). Turn off
# behind PgBouncer < 1.21 in transaction mode, which cannot keep prepared statements.
DATABASE_PREPARED_STATEMENTS = env.bool("DATABASE_PREPARED_STATEMENTS", default=True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web app and the worker read while the other writes; the timeout
    # makes a writer wait for the lock instead of failing at once. IMMEDIATE takes
    # the write lock at BEGIN: a deferred transaction that reads and then writes
    # cannot wait for it (SQLite answers "database is locked" at once), and it is
    # what serialises lead/call matching on SQLite (services/matching.py).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The capture API caches offer configuration and counts throttles here. With several
# web nodes use a shared cache (redis://...) so both are global; see docs/operations.md.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://portal")}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
# Date and time display (to the second, with the zone): portal/formats/en/formats.py.
FORMAT_MODULE_PATH = ["portal.formats"]
# Configuration history is a record, not an undo button: a revert would bypass the
# checks and side effects of saving through the forms and services.
SIMPLE_HISTORY_REVERT_DISABLED = True
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_STORAGE",
            default="whitenoise.storage.CompressedManifestStaticFilesStorage",
        )
    },
}
# Development serves static files straight from the app folders, no collectstatic needed.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# --- HTTPS and cookies: production-safe unless the environment says otherwise ---------
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env.bool("USE_X_FORWARDED_PROTO", default=False):
    # Only behind a TLS-terminating load balancer that overwrites this header.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# HSTS preload is a one-way opt-in the operator makes deliberately (SECURE_HSTS_PRELOAD).
SILENCED_SYSTEM_CHECKS = env.list("SILENCED_SYSTEM_CHECKS", default=["security.W021"])
# The pixel endpoint must answer over plain HTTP health checks of load balancers too.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- REST framework ---------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "integrations.api.authentication.HashedTokenAuthentication",
        "integrations.api.authentication.GuardedBasicAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "integrations.api.errors.json_exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Ringba → TrackDrive direct-post portal API",
    "DESCRIPTION": (
        "Leads Capture API for Ringba tracking pixels and the calls API for the "
        "operator's telephony side."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Tasks (postback delivery) ------------------------------------------------------------
TASKS = {
    "default": {
        "BACKEND": env.str("TASKS_BACKEND", default="django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default", "postbacks"],
    }
}

# --- Product settings ---------------------------------------------------------------------
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://localhost:8000").rstrip("/")
RINGBA_WEBHOOK_BASE_URL = env.str(
    "RINGBA_WEBHOOK_BASE_URL", default="https://webhook.ringba.com"
).rstrip("/")
# Ringba's "Enrich Call Data" (the IDE template's host).
RINGBA_ENRICH_BASE_URL = env.str(
    "RINGBA_ENRICH_BASE_URL", default="https://display.ringba.com"
).rstrip("/")
# A call-start delivery (Ringba's Enrich Call Data) is useful only before the call
# reaches Ringba: not sent, nor retried, after this many seconds (per trigger: its own).
CALL_START_DEADLINE_SECONDS = env.int("CALL_START_DEADLINE_SECONDS", default=30)
# Ringba's REST API: returns and adjustments after payment (SPEC §16).
RINGBA_API_BASE_URL = env.str("RINGBA_API_BASE_URL", default="https://api.ringba.com/v2").rstrip(
    "/"
)
# Reconciliation with partners' Ringba (docs/money.md): the days a run covers, how
# often the worker runs it for partners with an API token (0: never), and how many
# open differences make the trigger health page alert.
RECONCILE_DAYS = env.int("RECONCILE_DAYS", default=10)
RECONCILE_EVERY_HOURS = env.float("RECONCILE_EVERY_HOURS", default=24)
RECONCILE_ALERT_THRESHOLD = env.int("RECONCILE_ALERT_THRESHOLD", default=10)
# Our own Ringba buyer account, for partners whose adjustments are requested from it.
RINGBA_BUYER_ACCOUNT_ID = env.str("RINGBA_BUYER_ACCOUNT_ID", default="")
RINGBA_BUYER_API_TOKEN = env.str("RINGBA_BUYER_API_TOKEN", default="")
# Fernet keys (newest first) for secrets kept to be sent again (integrations.infra.secrets_at_rest).
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
POSTBACK_ALLOWED_HOSTS = env.list(
    "POSTBACK_ALLOWED_HOSTS",
    default=[
        urlsplit(RINGBA_WEBHOOK_BASE_URL).hostname or "",
        urlsplit(RINGBA_ENRICH_BASE_URL).hostname or "",
        urlsplit(RINGBA_API_BASE_URL).hostname or "",
    ],
)
POSTBACK_ALLOW_PRIVATE_IPS = env.bool("POSTBACK_ALLOW_PRIVATE_IPS", default=False)
POSTBACK_RETRY_SCHEDULE = [
    int(seconds)
    for seconds in env.list(
        "POSTBACK_RETRY_SCHEDULE",
        default=[
            "5",
            "300",
            "1800",
            "7200",
            "18000",
            "36000",
            "36000",
        ],
    )
]
POSTBACK_CONNECT_TIMEOUT = env.float("POSTBACK_CONNECT_TIMEOUT", default=3.0)
POSTBACK_READ_TIMEOUT = env.float("POSTBACK_READ_TIMEOUT", default=10.0)
POSTBACK_MAX_RETRY_AFTER = env.int("POSTBACK_MAX_RETRY_AFTER", default=3600)
# Wall-clock limit on one attempt: DNS, connect, headers and body together. A
# receiver that drips bytes cannot hold a worker longer than this.
POSTBACK_ATTEMPT_DEADLINE = env.float("POSTBACK_ATTEMPT_DEADLINE", default=15.0)
POSTBACK_SWEEP_INTERVAL = env.float("POSTBACK_SWEEP_INTERVAL", default=2.0)
# Deliveries one worker process sends at once, and at most to one destination host
# (nearly every postback goes to webhook.ringba.com, so the per-host bound is what
# one process sends to Ringba at once: 48 at 250 ms is ~100 postbacks/s, measured in
# bench/README.md). Each sending thread holds a database connection: size
# max_connections for (threads + 2) per worker process. SQLite allows one writer,
# so fewer threads there.
_SQLITE = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
POSTBACK_WORKER_THREADS = env.int("POSTBACK_WORKER_THREADS", default=4 if _SQLITE else 64)
POSTBACK_PER_HOST_CONCURRENCY = env.int(
    "POSTBACK_PER_HOST_CONCURRENCY", default=2 if _SQLITE else 48
)
# A pixel never attaches to a call that ended or converted longer ago than this
# before the pixel arrived: that is a repeat caller's old call (SPEC §4.4).
MATCH_ENDED_TOLERANCE_SECONDS = env.int("MATCH_ENDED_TOLERANCE_SECONDS", default=120)
# The worker's reconciler looks this far back for leads and calls left apart.
MATCH_RECONCILE_LOOKBACK_SECONDS = env.int("MATCH_RECONCILE_LOOKBACK_SECONDS", default=3600)
# Retention (services/retention.py; the worker prunes once a day, in small batches).
RETENTION_DELIVERED_ATTEMPT_DAYS = env.int("RETENTION_DELIVERED_ATTEMPT_DAYS", default=30)
RETENTION_CALL_DAYS = env.int("RETENTION_CALL_DAYS", default=400)
RETENTION_LEAD_DAYS = env.int("RETENTION_LEAD_DAYS", default=400)
RETENTION_TASK_RESULT_DAYS = env.int("RETENTION_TASK_RESULT_DAYS", default=7)
# Outgoing mail (trigger alerts): EMAIL_URL such as smtp+tls://user:pass@host:587;
# by default mail is printed to the console, as in development.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="portal@localhost")
# Trigger health (SPEC §13): email the account managers (and these addresses) when a
# trigger fails this many times in a row; pause it after this many days of failure.
TRIGGER_ALERT_AFTER_FAILURES = env.int("TRIGGER_ALERT_AFTER_FAILURES", default=10)
TRIGGER_PAUSE_AFTER_DAYS = env.int("TRIGGER_PAUSE_AFTER_DAYS", default=5)
TRIGGER_ALERT_EMAILS = env.list("TRIGGER_ALERT_EMAILS", default=[])
# Refused pixels kept for the admin (0: none kept), and at most this many written per
# offer and client address a minute.
REJECTED_PIXEL_DAYS = env.int("REJECTED_PIXEL_DAYS", default=7)
REJECTED_PIXELS_PER_MINUTE = env.int("REJECTED_PIXELS_PER_MINUTE", default=60)
CAPTURE_MAX_BODY_BYTES = env.int("CAPTURE_MAX_BODY_BYTES", default=64 * 1024)
CAPTURE_THROTTLE_RATE = env.str("CAPTURE_THROTTLE_RATE", default="6000/min") or None
# Refused pixels (a known token, a field wrong) per client address: past it, 429.
CAPTURE_REFUSED_RATE = env.str("CAPTURE_REFUSED_RATE", default="600/min") or None
# Pixels with a missing or unknown lead token, per client address.
CAPTURE_INVALID_TOKEN_RATE = env.str("CAPTURE_INVALID_TOKEN_RATE", default="60/min") or None
# Failed HTTP Basic logins to the APIs, per client address: past it, 429 without
# checking the password (each check is a deliberately slow hash).
API_AUTH_FAILURE_RATE = env.str("API_AUTH_FAILURE_RATE", default="10/min") or None
# Largest calls-API body accepted, bytes (larger: 413).
CALLS_MAX_BODY_BYTES = env.int("CALLS_MAX_BODY_BYTES", default=64 * 1024)
# How many proxies (load balancers) in front of the web app append to
# X-Forwarded-For; 0 trusts REMOTE_ADDR only. Used for the pixel's source address and
# the per-address throttle; set it to exactly the number you run, never more.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
CAPTURE_OFFER_CACHE_SECONDS = env.int("CAPTURE_OFFER_CACHE_SECONDS", default=5)
# Lead-to-Call schedules (SPEC §12): how long a dialer's claim on a lead lasts when
# it does not say (a lead whose lease lapses without a reported call is due again).
SCHEDULE_LEASE_SECONDS = env.int("SCHEDULE_LEASE_SECONDS", default=300)
PARTNER_LINK_MAX_AGE_DAYS = env.int("PARTNER_LINK_MAX_AGE_DAYS", default=365)

LOGIN_URL = "admin:login"

# Every handler cuts credentials (API keys, lead tokens) out of what it writes;
# django.server (runserver's request lines, query strings included) gets one too.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"credentials": {"()": "portal.log_redaction.RedactCredentials"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["credentials"],
        },
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["credentials"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
    },
}
