"""Settings for benchmarks: production settings plus the two baseline views."""

from portal.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
# Measure the capture path, not the throttle (it would refuse most of a benchmark).
CAPTURE_THROTTLE_RATE = None
SECURE_SSL_REDIRECT = False
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
