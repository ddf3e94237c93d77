"""Serve the pixel endpoints behind a shorter middleware stack (issue 13).

Every Ringba pixel used to pass the whole stack the admin needs: sessions,
authentication, CSRF, messages, configuration history, the user's time zone,
static files. The pixel uses none of them — Ringba sends no cookie and no CSRF
token, a pixel changes no configuration and shows no time — and together they
cost about a fifth of a pixel's CPU. ``portal.wsgi`` sends the paths in
settings.PIXEL_PATHS to a handler built with settings.PIXEL_MIDDLEWARE and
everything else to Django's usual one. Same URLconf, same views, same settings.
"""

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler


class MiddlewareHandler(WSGIHandler):
    """A WSGI handler that runs ``middleware`` instead of settings.MIDDLEWARE."""

    def __init__(self, middleware: list[str]):
        self._middleware = list(middleware)
        super().__init__()

    def load_middleware(self, is_async=False):
        # Django reads the list from settings and offers no parameter. The handler is
        # built once at start-up, before any request, so swapping it here is safe.
        usual = settings.MIDDLEWARE
        settings.MIDDLEWARE = self._middleware
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = usual


def with_pixel_lane(usual):
    """Return a WSGI application: pixel paths on the short stack, the rest on ``usual``."""
    pixel_handler = MiddlewareHandler(settings.PIXEL_MIDDLEWARE)
    pixel_paths = frozenset(settings.PIXEL_PATHS)

    def application(environ, start_response):
        handler = pixel_handler if environ.get("PATH_INFO") in pixel_paths else usual
        return handler(environ, start_response)

    application.pixel_handler = pixel_handler  # for tests and the bench
    return application
