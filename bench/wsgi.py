"""The bench's WSGI entry: the product, plus the fair floor behind a lean middleware stack.

The capture API goes through the product's own entry point (``portal.wsgi``,
pixel lane included), exactly as in production. The fair floor runs behind the
product's usual middleware minus the session, authentication, CSRF and message
middleware a plain JSON endpoint would not need (about 75 µs of CPU per request
on this machine), as issue 13 defines it.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

from django.conf import settings

from portal.lanes import MiddlewareHandler
from portal.wsgi import application as product

LEAN_OUT = ("sessions", "auth", "csrf", "messages")
lean = MiddlewareHandler([m for m in settings.MIDDLEWARE if not any(x in m for x in LEAN_OUT)])


def application(environ, start_response):
    handler = lean if environ.get("PATH_INFO") == "/bench/fair-floor" else product
    return handler(environ, start_response)
