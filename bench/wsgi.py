"""The bench's WSGI entry: the product, plus the fair floor behind a lean middleware stack.

The fair floor runs without the session, authentication, CSRF and message
middleware a plain JSON endpoint would not need (about 75 µs of CPU per request
on this machine); everything else, the capture API included, goes through the
product's full stack, exactly as in production.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

from django.conf import settings
from django.core.wsgi import get_wsgi_application

full = get_wsgi_application()
LEAN_OUT = ("sessions", "auth", "csrf", "messages")
_product_middleware = settings.MIDDLEWARE
settings.MIDDLEWARE = [m for m in _product_middleware if not any(x in m for x in LEAN_OUT)]
lean = get_wsgi_application()
settings.MIDDLEWARE = _product_middleware


def application(environ, start_response):
    handler = lean if environ.get("PATH_INFO") == "/bench/fair-floor" else full
    return handler(environ, start_response)
