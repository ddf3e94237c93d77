"""Partner-facing pages (no login): the shared posting-instructions link."""

from django.http import HttpResponseNotFound
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import instructions
from .links import resolve_link_token

NOINDEX = "noindex, nofollow, noarchive"


@never_cache
@require_GET
def partner_instructions(request, token: str):
    """Render the instructions for the link's one offer and source, or a plain 404."""
    resolved = resolve_link_token(token)
    if resolved is None:
        response = HttpResponseNotFound(render_to_string("integrations/link_not_found.html"))
    else:
        offer, source = resolved
        response = TemplateResponse(
            request, "integrations/partner_instructions.html", instructions.build(offer, source)
        )
    response["X-Robots-Tag"] = NOINDEX
    # The page shows a credential: never leak its URL to other sites.
    response["Referrer-Policy"] = "no-referrer"
    return response
