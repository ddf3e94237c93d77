"""Settings for benchmarks: production settings plus the two baseline views."""

from portal.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
INSTALLED_APPS = [*INSTALLED_APPS, "bench.apps.BenchConfig"]  # noqa: F405 (the fair floor's table)
# The throttle is on, as in production, counting every pixel; its rate is set above
# what the benchmark sends so that it never refuses one.
CAPTURE_THROTTLE_RATE = "100000000/hour"
SECURE_SSL_REDIRECT = False
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
